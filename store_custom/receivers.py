"""Tag rows follow their products: store calls these (declared in store_custom's
StoreExtension) on every delete path, without knowing tags exist.

A generic foreign key does not cascade: without them a deleted product's tags would
linger (counted by /api/tags/, or matching a recycled id).
"""

from __future__ import annotations

from collections.abc import Sequence

from store_custom.selectors import PRODUCT_ITEMS
from tags.models import TaggedItem


def drop_product_tags(product_ids: Sequence[int]) -> None:
    """Products were deleted (through the ORM, or by a revert's raw SQL): drop their tag rows."""
    TaggedItem.objects.filter(PRODUCT_ITEMS, object_id__in=list(product_ids)).delete()


def drop_all_product_tags() -> None:
    """seed_catalog --clear wiped every product with raw SQL: every product tag row goes too."""
    TaggedItem.objects.filter(PRODUCT_ITEMS).delete()
