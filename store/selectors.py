"""Reads: querysets with their joins and annotations already in place."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from .models import Collection, Customer, Order, OrderItem, Product, Promotion

MONEY = DecimalField(max_digits=14, decimal_places=2)
LINE_TOTAL = ExpressionWrapper(F("quantity") * F("unit_price"), output_field=MONEY)


def customer_list_by_email_suffix(*, suffix: str) -> QuerySet[Customer]:
    return Customer.objects.filter(email__iendswith=suffix)


def collection_list_without_featured_product() -> QuerySet[Collection]:
    return Collection.objects.filter(featured_product__isnull=True)


def product_list_low_stock(*, below: int | None = None) -> QuerySet[Product]:
    """Products whose inventory is below `below` (default: LOW_STOCK_THRESHOLD)."""
    threshold = settings.LOW_STOCK_THRESHOLD if below is None else below
    return Product.objects.filter(inventory__lt=threshold)


def order_list_for_customer(*, customer_id: int) -> QuerySet[Order]:
    return Order.objects.filter(customer_id=customer_id)


def order_item_list_for_collection(*, collection_id: int) -> QuerySet[OrderItem]:
    return OrderItem.objects.select_related("product").filter(product__collection_id=collection_id)


def order_list_recent(*, limit: int = 5) -> QuerySet[Order]:
    """The latest orders with customer, items and products: three queries in all."""
    return (
        Order.objects.select_related("customer")
        .prefetch_related("items__product")
        .order_by("-placed_at", "-id")[:limit]
    )


def customer_list_with_orders_count() -> QuerySet[Customer]:
    return Customer.objects.annotate(orders_count=Count("orders"))


def customer_list_with_more_orders_than(*, count: int) -> QuerySet[Customer]:
    return customer_list_with_orders_count().filter(orders_count__gt=count)


def product_list_top_by_sales(*, limit: int = 5) -> QuerySet[Product]:
    """Products ranked by the value sold (Σ quantity × unit price of their order items)."""
    sales = Sum(
        ExpressionWrapper(F("orderitems__quantity") * F("orderitems__unit_price"), output_field=MONEY)
    )
    return (
        Product.objects.annotate(sales_value=sales)
        .filter(sales_value__isnull=False)
        .order_by("-sales_value", "id")[:limit]
    )


def collection_list_with_products_count() -> QuerySet[Collection]:
    return Collection.objects.annotate(products_count=Count("products"))


def customer_list_with_total_spent() -> QuerySet[Customer]:
    spent = Sum(
        ExpressionWrapper(
            F("orders__items__quantity") * F("orders__items__unit_price"), output_field=MONEY
        )
    )
    return Customer.objects.annotate(total_spent=Coalesce(spent, Value(Decimal("0.00")), output_field=MONEY))


# --- Catalog admin: stock status and search ---------------------------------
STOCK_LOW = "low"
STOCK_OUT = "out"
STOCK_OK = "ok"
STOCK_STATUS_LABELS = {STOCK_LOW: "Low", STOCK_OUT: "Out of stock", STOCK_OK: "OK"}


def product_stock_status(*, inventory: int) -> str:
    """Out of stock at 0, Low below LOW_STOCK_THRESHOLD, OK from the threshold up."""
    if inventory <= 0:
        return STOCK_OUT
    return STOCK_LOW if inventory < settings.LOW_STOCK_THRESHOLD else STOCK_OK


def product_list_by_stock_status(*, status: str, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Products in one stock status; each is one range on the indexed inventory column."""
    products = Product.objects.all() if queryset is None else queryset
    threshold = settings.LOW_STOCK_THRESHOLD
    if status == STOCK_OUT:
        return products.filter(inventory__lte=0)
    if status == STOCK_LOW:
        return products.filter(inventory__gt=0, inventory__lt=threshold)
    if status == STOCK_OK:
        return products.filter(inventory__gte=threshold)
    raise ValueError(f"Unknown stock status {status!r}")


def product_search(*, term: str, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Products whose title or SKU starts with ``term`` (case-insensitive).

    Prefix matches are LIKE 'term%', which the title and SKU indexes serve; a
    contains match (LIKE '%term%') would scan the whole table on every keystroke.
    """
    products = Product.objects.all() if queryset is None else queryset
    term = term.strip()
    if not term:
        return products
    return products.filter(Q(title__istartswith=term) | Q(sku__istartswith=term))


def promotion_list_with_products_count() -> QuerySet[Promotion]:
    return Promotion.objects.annotate(products_count=Count("products"))
