"""Explicit, read-only representations of the catalog."""
from __future__ import annotations

from rest_framework import serializers

from store.models import Collection

from .extensions import product_extensions


class CollectionRefSerializer(serializers.Serializer):
    """{id, title} of a product's collection, read from the product row itself
    (`collection_id` and the `collection_title` annotation), so no join and no query."""

    id = serializers.IntegerField(source="collection_id", read_only=True)
    title = serializers.CharField(source="collection_title", read_only=True)


class ProductSerializer(serializers.Serializer):
    """Declared field by field (not a ModelSerializer): building a ModelSerializer's
    fields introspects the model on every request, a noticeable share of a list's time."""

    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True, label="SKU")
    title = serializers.CharField(read_only=True)
    slug = serializers.SlugField(read_only=True)
    description = serializers.CharField(read_only=True)
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    price_with_tax = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True,
        help_text="unit_price × (1 + TAX_RATE), rounded to cents.",
    )
    in_stock = serializers.BooleanField(read_only=True, help_text="inventory > 0")
    inventory = serializers.IntegerField(read_only=True)
    collection = CollectionRefSerializer(source="*", read_only=True)
    last_update = serializers.DateTimeField(read_only=True)

    def get_fields(self):
        """Our fields plus those other apps registered (store_custom adds `tags`)."""
        fields = super().get_fields()
        last_update = fields.pop("last_update")
        for extension in product_extensions():
            fields[extension.name] = extension.field()
        fields["last_update"] = last_update
        return fields


class ProductSyncSerializer(ProductSerializer):
    """The same fields. A name of its own gives the sync endpoint's cursor page its own
    schema component (drf-spectacular names pages Paginated<Name>List)."""


class CollectionSerializer(serializers.ModelSerializer):
    products_count = serializers.IntegerField(read_only=True)
    featured_product = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Collection
        fields = ["id", "title", "products_count", "featured_product"]
        read_only_fields = fields
