"""Reads: querysets with their joins and annotations already in place."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count, DecimalField, ExpressionWrapper, F, Max, OuterRef, QuerySet, Subquery, Sum, Value,
)
from django.db.models.functions import Coalesce

from .models import Collection, Customer, Order, OrderItem, Product

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


# --- Catalog API --------------------------------------------------------------
# Querysets behind store/api/. A product's collection title comes from a correlated
# subquery rather than a join: on a 100k-row MariaDB table the join made the
# optimiser drive from store_collection and sort every product (≈550 ms a page);
# with the subquery the page is read straight off the title/price/last_update
# index (≈1 ms) and the collection costs no extra query.
PRODUCT_API_FIELDS = (
    "id", "sku", "title", "slug", "description", "unit_price", "inventory", "last_update",
    "collection_id",
)


def product_list_for_api() -> QuerySet[Product]:
    """Products with `collection_title` annotated."""
    collection_title = Collection.objects.filter(pk=OuterRef("collection_id")).order_by().values("title")[:1]
    return Product.objects.only(*PRODUCT_API_FIELDS).annotate(collection_title=Subquery(collection_title))


def product_latest_update() -> datetime | None:
    """When any product was last saved or added: one index lookup (MIN/MAX optimisation)."""
    return Product.objects.aggregate(latest=Max("last_update"))["latest"]


def collection_list_for_api() -> QuerySet[Collection]:
    return collection_list_with_products_count().only("id", "title", "featured_product_id")
