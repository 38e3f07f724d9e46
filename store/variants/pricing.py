"""A product with variants is priced as its cheapest variant.

It is not sold itself: its variants have their prices. Its own ``unit_price`` and
``compare_at_price`` hold its cheapest variant's (lowest price, then lowest id: the variant the
API serves as the product's offer, ``store.variants.selectors.product_offer``), so that the
product list's price header and the API's ``ordering=unit_price`` sort it by the price it is
shown at, from the ``(parent, unit_price)`` index. A new product with variants is imported at
its lowest variant's price already; this keeps it so.

Every write of a variant's price or compare-at price, or of which variants a product has, calls
``variant_parents_price_sync`` in its own transaction: ``Product.save()`` and ORM deletes
(``store.receivers``: the product page and its variants inline, list edits, the options editor,
variant removal), bulk edits, imports and revert; seeding writes the cheapest price itself. A
derived value, not an edit: no version bump, no history row (the variants' own rows say what
changed).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from store.models import Product
from store.sql import chunks

#: A variant's fields that its product takes when it is the cheapest.
PRICED_FIELDS = frozenset({"unit_price", "compare_at_price"})


def variant_parents_price_sync(*, parent_ids: Iterable[int | None]) -> int:
    """Set each of these products with variants to its cheapest variant's price and compare-at
    price (ids of other products, and None, are ignored). Returns how many rows it wrote."""
    cheapest = _cheapest_variant()
    parents = Product.objects.filter(structure=Product.Structure.PARENT).filter(
        Exists(Product.objects.filter(parent_id=OuterRef("pk")))
    )
    written = 0
    for chunk in chunks(sorted({pk for pk in parent_ids if pk is not None})):
        written += parents.filter(pk__in=chunk).update(
            unit_price=Subquery(cheapest.values("unit_price")[:1]),
            compare_at_price=Subquery(cheapest.values("compare_at_price")[:1]),
        )
    return written


def variant_parents_out_of_step() -> list[int]:
    """Products with variants whose price is not their cheapest variant's (for tests and checks)."""
    cheapest = _cheapest_variant()
    parents = Product.objects.filter(structure=Product.Structure.PARENT).annotate(
        cheapest_price=Subquery(cheapest.values("unit_price")[:1]),
        cheapest_compare_at=Subquery(cheapest.values("compare_at_price")[:1]),
    )
    return [
        row["pk"]
        for row in parents.values("pk", "unit_price", "compare_at_price", "cheapest_price", "cheapest_compare_at")
        if row["cheapest_price"] is not None
        and (row["unit_price"], row["compare_at_price"]) != (row["cheapest_price"], row["cheapest_compare_at"])
    ]


def _cheapest_variant() -> QuerySet[Product]:
    """The outer product's variants, cheapest first (then the lowest id, as ``product_offer``)."""
    return Product.objects.filter(parent_id=OuterRef("pk")).order_by("unit_price", "pk")
