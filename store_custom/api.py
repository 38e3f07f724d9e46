"""Tags in the catalog API: a `tags` field and `?tag=` filter on products, and /api/tags/.

store.api knows nothing of tags: store_custom's StoreExtension (``store_custom.extension``)
carries ``TAGS_FIELD`` and ``TAGS_ROUTE``; store's ProductSerializer loads the field per page.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers

from store.api.views import CatalogViewSet, catalog_schema
from store.extensions import ApiField, ApiRoute
from store_custom import selectors
from tags.models import Tag


def tags_field() -> serializers.Field:
    return serializers.ListField(
        child=serializers.CharField(),
        source=selectors.TAG_LABELS_ATTR,
        read_only=True,
        help_text="Labels of the product's tags, sorted.",
    )


def filter_by_tag(queryset, name, value):
    return queryset.filter(pk__in=selectors.product_ids_tagged(label=value))


TAGS_FIELD = ApiField(
    name="tags",
    field=tags_field,
    load=selectors.product_tag_labels_attach,
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
    """Tags of active products, with the number of active products carrying each."""

    serializer_class = TagSerializer
    search_fields = ["label"]
    ordering_fields = ["label", "products_count", "id"]
    ordering = ["label"]

    def get_queryset(self):
        return selectors.tag_list_for_api()


TAGS_ROUTE = ApiRoute(prefix="tags", viewset=TagViewSet, basename="tag")
