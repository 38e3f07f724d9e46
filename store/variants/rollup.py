"""What a product with variants holds of its variants: their cheapest price, and whether any of
them has its stock tracked.

It is not sold itself: its variants have their prices and stock. Its own ``unit_price`` and
``compare_at_price`` hold its cheapest variant's (lowest price, then lowest id: the variant the
API serves as the product's offer, ``store.variants.selectors.product_offer``), so that the
product list's price header and the API's ``ordering=unit_price`` sort it by the price it is
shown at, from the ``(parent, unit_price)`` index. Its ``has_tracked_variant`` says whether any
variant's stock is counted, so that the list's "Not tracked" filter is a range of an index
instead of a test of every product's variants. A new product with variants is imported with
both already; this keeps them so.

Every write of a variant's price, compare-at price or stock tracking, or of which variants a
product has, calls ``variant_parents_sync`` in its own transaction: ``Product.save()`` and ORM
deletes (``store.receivers``: the product page and its variants inline, list edits, the options
editor, variant removal), bulk edits, imports and revert; seeding writes the values itself.
Derived values, not edits: no version bump, no history row (the variants' own rows say what
changed).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Case, Exists, OuterRef, QuerySet, Subquery, When

from store.models import Product
from store.sql import chunks

#: A variant's fields that its product's row follows.
ROLLED_UP_FIELDS = frozenset({"unit_price", "compare_at_price", "track_inventory"})


def variant_parents_sync(*, parent_ids: Iterable[int | None]) -> int:
    """Set each of these products with variants to its cheapest variant's price and compare-at
    price (kept when it has no variant left), and whether any of its variants is tracked (ids of
    other products, and None, are ignored). Returns how many rows it wrote."""
    has_variants = Exists(_variants())
    cheapest = _cheapest_variant()
    parents = Product.objects.filter(structure=Product.Structure.PARENT)
    written = 0
    for chunk in chunks(sorted({pk for pk in parent_ids if pk is not None})):
        written += parents.filter(pk__in=chunk).update(
            unit_price=Case(When(has_variants, then=Subquery(cheapest.values("unit_price")[:1])), default="unit_price"),
            compare_at_price=Case(
                When(has_variants, then=Subquery(cheapest.values("compare_at_price")[:1])), default="compare_at_price"
            ),
            has_tracked_variant=_has_tracked_variant(),
        )
    return written


def variant_parents_out_of_step() -> list[int]:
    """Products with variants whose price or tracking is not what their variants say (for tests
    and checks)."""
    cheapest = _cheapest_variant()
    parents = Product.objects.filter(structure=Product.Structure.PARENT).annotate(
        cheapest_price=Subquery(cheapest.values("unit_price")[:1]),
        cheapest_compare_at=Subquery(cheapest.values("compare_at_price")[:1]),
        tracked=_has_tracked_variant(),
    )
    fields = ("pk", "unit_price", "compare_at_price", "has_tracked_variant", "cheapest_price", "cheapest_compare_at")
    return [
        row["pk"]
        for row in parents.values(*fields, "tracked")
        if row["has_tracked_variant"] != row["tracked"]
        or (
            row["cheapest_price"] is not None
            and (row["unit_price"], row["compare_at_price"]) != (row["cheapest_price"], row["cheapest_compare_at"])
        )
    ]


def _variants() -> QuerySet[Product]:
    """The outer product's variants."""
    return Product.objects.filter(parent_id=OuterRef("pk"))


def _cheapest_variant() -> QuerySet[Product]:
    """The outer product's variants, cheapest first (then the lowest id, as ``product_offer``)."""
    return _variants().order_by("unit_price", "pk")


def _has_tracked_variant() -> Exists:
    """Whether any of the outer product's variants has its stock tracked (the (parent,
    track_inventory, inventory) index)."""
    return Exists(_variants().filter(track_inventory=True))
