"""Tags in the catalog API: a `tags` field and `?tag=` filter on products, and /api/tags/.

store.api knows nothing of tags; ``StoreCustomConfig.ready()`` calls ``register()``,
which plugs these into store.api's extension hooks.
"""

from __future__ import annotations

from collections.abc import Sequence

from django_filters import rest_framework as filters
from rest_framework import serializers

from store.api.extensions import ProductExtension, register_product_extension, register_route
from store.api.views import CatalogViewSet, catalog_schema
from store.models import Product
from tags.models import Tag

from . import selectors

TAG_LABELS_ATTR = "api_tag_labels"


def tags_field() -> serializers.Field:
    return serializers.ListField(
        child=serializers.CharField(),
        source=TAG_LABELS_ATTR,
        read_only=True,
        help_text="Labels of the product's tags, sorted.",
    )


def load_tags(products: Sequence[Product]) -> None:
    labels = selectors.product_tag_labels(product_ids=[product.pk for product in products])
    for product in products:
        setattr(product, TAG_LABELS_ATTR, labels[product.pk])


def filter_by_tag(queryset, name, value):
    return queryset.filter(pk__in=selectors.product_ids_tagged(label=value))


PRODUCT_TAGS = ProductExtension(
    name="tags",
    field=tags_field,
    load=load_tags,
    filters={
        "tag": filters.CharFilter(
            method=filter_by_tag,
            max_length=100,
            help_text="Only products with this tag label (case-insensitive).",
        ),
    },
)


class TagSerializer(serializers.ModelSerializer):
    products_count = serializers.IntegerField(read_only=True, help_text="Active products carrying this tag.")

    class Meta:
        model = Tag
        fields = ["id", "label", "products_count"]
        read_only_fields = fields


@catalog_schema(TagSerializer, "tag")
class TagViewSet(CatalogViewSet):
    """Tags with the number of active products carrying each."""

    serializer_class = TagSerializer
    search_fields = ["label"]
    ordering_fields = ["label", "products_count", "id"]
    ordering = ["label"]

    def get_queryset(self):
        return selectors.tag_list_with_products_count(active_only=True)


def register() -> None:
    register_product_extension(PRODUCT_TAGS)
    register_route(prefix="tags", viewset=TagViewSet, basename="tag")
