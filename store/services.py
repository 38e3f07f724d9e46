"""Writes. Admin, API and CLI call these; they hold the business rules."""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from .models import OrderItem

# --- Orders -------------------------------------------------------------------


def order_item_save(*, item: OrderItem) -> OrderItem:
    """Save one order line, snapshotting the product's current price.

    ``OrderItem.unit_price`` is the price at the time of the order. A new line,
    or a line whose product was swapped, takes the product's price now; an
    untouched line keeps its historical price even if the catalog price moved.
    """
    product_changed = (
        item.pk is not None
        and not OrderItem.objects.filter(pk=item.pk, product_id=item.product_id).exists()
    )
    if item.unit_price is None or product_changed:
        item.unit_price = item.product.unit_price
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def order_items_save(
    *, items: Iterable[OrderItem], deleted: Iterable[OrderItem] = ()
) -> list[OrderItem]:
    """Apply one edit of an order's lines: delete the removed ones, save the rest."""
    for item in deleted:
        item.delete()
    return [order_item_save(item=item) for item in items]
