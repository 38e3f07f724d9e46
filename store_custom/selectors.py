"""Reads that need both store and tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.lookups import IsNull

from store.models import Product
from store.sql import ID_LIST_CHUNK, ids_in
from tags.models import Tag, TaggedItem

CHUNK = ID_LIST_CHUNK  # ids written into the SQL as numbers (store.sql.id_list)
TAG_LABELS_ATTR = "tag_labels"
# Joining content types by natural key keeps these at one query each, with no
# ContentType cache lookup that could cost a query on a cold process.
PRODUCT_ITEMS = Q(content_type__app_label=Product._meta.app_label, content_type__model=Product._meta.model_name)


def product_tag_labels(*, product_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """{product id: its tag labels, sorted case-insensitively} for every id given (no tags: ``()``).

    The one reader of products' tag labels (admin list column, API, bulk tag actions, the
    import/export column). One query per CHUNK ids: one for any page.
    """
    found: dict[int, list[str]] = {pk: [] for pk in product_ids}
    ids = list(found)
    for start in range(0, len(ids), CHUNK):
        rows = TaggedItem.objects.filter(PRODUCT_ITEMS, ids_in("object_id", ids[start : start + CHUNK])).values_list(
            "object_id", "tag__label"
        )
        for object_id, label in rows:
            if object_id in found:
                found[object_id].append(label)
    return {pk: tuple(sorted(labels, key=lambda label: (label.casefold(), label))) for pk, labels in found.items()}


def product_tags_any() -> bool:
    """Whether any product has a tag (one read of the (content type, object) index)."""
    return TaggedItem.objects.filter(PRODUCT_ITEMS).exists()


def product_tag_labels_attach(*, products: Sequence[Product]) -> None:
    """Set ``tag_labels`` (a list of labels) on each product, in one query: the page loader
    of the admin's tags column and the API's ``tags`` field."""
    labels = product_tag_labels(product_ids=[product.pk for product in products])
    for product in products:
        setattr(product, TAG_LABELS_ATTR, list(labels[product.pk]))


def product_ids_tagged(*, label: str) -> QuerySet[TaggedItem, Any]:
    """Ids of products carrying the tag `label` (case-insensitive), as a subquery."""
    # Tag ids first: the (tag, content type, object) unique index then serves the
    # lookup; a case-insensitive LIKE joined per tagged item cannot use an index on SQLite.
    tag_ids = Tag.objects.filter(label__iexact=label).values("pk")
    return TaggedItem.objects.filter(PRODUCT_ITEMS, tag__in=tag_ids).values("object_id")


def tag_list_with_products_count(*, active_only: bool = False, queryset: QuerySet[Tag] | None = None) -> QuerySet[Tag]:
    """Tags (``queryset``, default all) with ``products_count``: products carrying them
    (only active ones when ``active_only``)."""
    product_items = Q(
        items__content_type__app_label=Product._meta.app_label,
        items__content_type__model=Product._meta.model_name,
    )
    if active_only:
        active = Product.objects.filter(status=Product.Status.ACTIVE).values("pk")
        product_items &= Q(items__object_id__in=active)
    tags = Tag.objects.all() if queryset is None else queryset
    return tags.annotate(products_count=Count("items", filter=product_items))


def tag_list_for_api() -> QuerySet[Tag]:
    """Tags carried by at least one active product, with ``products_count`` (active ones).

    The API shows nothing of draft or archived products: a tag only they carry (a label
    naming an unannounced launch) is not listed, and answers 404 by id.

    "Carried by an active product" is a scalar subquery per tag tested for NULL, which stops
    at the tag's first active product; not a filter on ``products_count`` (HAVING repeats the
    count, every tagged item's product looked up twice, and the pagination's COUNT(*) would
    compute it too), nor EXISTS, which MariaDB may turn into a scan of every tagged item.
    """
    active = Product.objects.filter(status=Product.Status.ACTIVE).values("pk")
    items = TaggedItem.objects.filter(PRODUCT_ITEMS, tag=OuterRef("pk"), object_id__in=active)
    carried = IsNull(Subquery(items.values("pk")[:1]), False)
    return tag_list_with_products_count(active_only=True, queryset=Tag.objects.filter(carried))
