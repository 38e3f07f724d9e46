"""The admin index dashboard: KPI cards and server-rendered SVG charts.

An inclusion tag rather than an AdminSite subclass, so every app keeps
registering on ``admin.site`` untouched. Each section is shown only to users
who may view the models behind it, and only those sections are queried.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode

from store import selectors
from store.models import Order, Product

register = template.Library()

STATUS_COLOURS = {
    Order.PAYMENT_STATUS_COMPLETE: "#2e9e5b",
    Order.PAYMENT_STATUS_PENDING: "#e0a526",
    Order.PAYMENT_STATUS_FAILED: "#d64545",
}
# Stacking order in the chart: complete at the bottom.
STATUS_ORDER = [Order.PAYMENT_STATUS_COMPLETE, Order.PAYMENT_STATUS_PENDING, Order.PAYMENT_STATUS_FAILED]
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM = 640, 200, 34, 22
BAR_CHART_WIDTH, BAR_HEIGHT, BAR_GAP, BAR_LABEL = 420, 22, 10, 150


def can_view(user, model: str) -> bool:
    return user.has_perm(f"store.view_{model}") or user.has_perm(f"store.change_{model}")


def changelist(model: str, **params: Any) -> str:
    url = reverse(f"admin:store_{model}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def nice_ceiling(value: int) -> int:
    """The smallest 1/2/5 × 10^n at or above ``value`` (axis top), at least 1."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def orders_chart(per_day: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of a stacked bar chart of orders per day, in SVG user units."""
    tallest = max((sum(day[s] for s in STATUS_ORDER) for day in per_day), default=0)
    step = nice_ceiling(-(-tallest // 4))  # four evenly spaced whole-number gridlines
    peak = step * 4
    plot_width = CHART_WIDTH - CHART_LEFT - 16  # room for the last day label
    plot_height = CHART_HEIGHT - CHART_BOTTOM - 8
    slot = plot_width / max(len(per_day), 1)
    bars = []
    for index, day in enumerate(per_day):
        y = CHART_HEIGHT - CHART_BOTTOM
        segments = []
        for status in STATUS_ORDER:
            height = day[status] / peak * plot_height
            y -= height
            if day[status]:
                segments.append(
                    {
                        "y": round(y, 1),
                        "height": round(height, 1),
                        "colour": STATUS_COLOURS[status],
                        "count": day[status],
                    }
                )
        bars.append(
            {
                "x": round(CHART_LEFT + index * slot + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "day": day["day"],
                "total": sum(day[s] for s in STATUS_ORDER),
                "segments": segments,
                "label": (len(per_day) - 1 - index) % 7 == 0,
                "label_x": round(CHART_LEFT + index * slot + slot / 2, 1),
            }
        )
    grid = [{"value": step * f, "y": round(CHART_HEIGHT - CHART_BOTTOM - plot_height * f / 4, 1)} for f in range(5)]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "baseline": CHART_HEIGHT - CHART_BOTTOM,
        "bars": bars,
        "grid": grid,
    }


def collections_chart(rows: list[dict[str, Any]], *, link_products: bool) -> dict[str, Any]:
    """Geometry of a horizontal bar chart of sales value per collection.

    Bars link to the collection's products only for users who may see the product list.
    """
    peak = max((row["sales_value"] for row in rows), default=Decimal(0)) or Decimal(1)
    plot = BAR_CHART_WIDTH - BAR_LABEL - 70
    bars = [
        {
            **row,
            "y": index * (BAR_HEIGHT + BAR_GAP),
            "width": max(round(float(row["sales_value"] / peak) * plot, 1), 2),
            "url": changelist("product", collection__pk__exact=row["id"]) if link_products else None,
        }
        for index, row in enumerate(rows)
    ]
    return {
        "width": BAR_CHART_WIDTH,
        "height": max(len(rows), 1) * (BAR_HEIGHT + BAR_GAP),
        "label_width": BAR_LABEL,
        "bar_height": BAR_HEIGHT,
        "bars": bars,
    }


@register.inclusion_tag("admin/store/dashboard.html", takes_context=True)
def store_dashboard(context) -> dict[str, Any]:
    user = context["request"].user
    dashboard: dict[str, Any] = {"threshold": settings.LOW_STOCK_THRESHOLD}
    if can_view(user, "product"):
        status_counts = selectors.dashboard_product_status_counts()
        dashboard["catalog"] = {
            **selectors.dashboard_catalog_kpis(),
            "products_url": changelist("product"),
            "low_url": changelist("product", inventory_status="low"),
            "out_url": changelist("product", inventory_status="out"),
            "statuses": [
                {
                    "code": code,
                    "label": label,
                    "count": status_counts[code],
                    "url": changelist("product", status__exact=code),
                }
                for code, label in Product.Status.choices
            ],
        }
    if can_view(user, "order"):
        orders = selectors.dashboard_orders()
        labels = dict(Order.PAYMENT_STATUS_CHOICES)
        since = str(orders["since"])  # the format the admin's own date filter links use
        dashboard["orders"] = {
            **orders,
            "statuses": [
                {
                    "code": code,
                    "label": labels[code],
                    "count": orders["by_status"][code],
                    "colour": STATUS_COLOURS[code],
                    "url": changelist("order", payment_status__exact=code, placed_at__gte=since),
                }
                for code in STATUS_ORDER
            ],
            "url": changelist("order", placed_at__gte=since),
            "chart": orders_chart(orders["per_day"]),
        }
    if can_view(user, "order") and can_view(user, "collection"):
        dashboard["collections"] = collections_chart(
            selectors.dashboard_top_collections(), link_products=can_view(user, "product")
        )
    return {"dashboard": dashboard, "window_days": selectors.DASHBOARD_WINDOW_DAYS}


@register.filter
def thousands(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


@register.filter
def money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"
