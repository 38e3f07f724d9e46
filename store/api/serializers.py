"""Explicit, read-only representations of the catalog."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Manager
from rest_framework import serializers

from store import extensions
from store.models import Collection, Product
from store.variants import selectors as variant_selectors

# Set on a product once its offer and the registered API fields were loaded for it.
API_LOADED = "_api_loaded"
# Where a product's offer (price, stock, variants: ``variant_selectors.ProductOffer``) is set.
OFFER = "api_offer"


def product_api_load(products: Sequence[Product]) -> None:
    """Fill every registered API field (store_custom: `tags`) for these products, once, and their
    offers (``variant_selectors.product_offers``: one query for the variants of those that have
    variants, none when none has)."""
    pending = [product for product in products if not getattr(product, API_LOADED, False)]
    extensions.api_load(pending)
    offers = variant_selectors.product_offers(products=pending)
    for product in pending:
        setattr(product, OFFER, offers[product.pk])
        setattr(product, API_LOADED, True)


class ProductListSerializer(serializers.ListSerializer):
    """A page of products: the registered API fields and the variants are loaded for the whole
    page at once (one loader call per field, one query for the variants), before any product is
    serialized."""

    def to_representation(self, data):
        products = list(data.all() if isinstance(data, Manager) else data)
        product_api_load(products)
        return super().to_representation(products)


def absolute_url(context: dict, url: str) -> str:
    """``url`` made absolute with the request's host (unchanged when already absolute, e.g. S3)."""
    request = context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


class CollectionRefSerializer(serializers.Serializer):
    """{id, title} of a product's collection, read from the product row itself
    (`collection_id` and the `collection_title` annotation), so no join and no query."""

    id = serializers.IntegerField(source="collection_id", read_only=True)
    title = serializers.CharField(source="collection_title", read_only=True)


class ProductImageSerializer(serializers.Serializer):
    """One image, URLs absolute (the storage's own URL when it already is, e.g. S3)."""

    url = serializers.SerializerMethodField()
    alt = serializers.CharField(source="alt_text", read_only=True)
    width = serializers.IntegerField(read_only=True, allow_null=True)
    height = serializers.IntegerField(read_only=True, allow_null=True)
    thumbnail_url = serializers.SerializerMethodField(
        help_text="Null until the thumbnail is made (moments after an upload)."
    )

    def get_url(self, image) -> str:
        # The image is required: every row has a file.
        return absolute_url(self.context, image.image.url)

    def get_thumbnail_url(self, image) -> str | None:
        return absolute_url(self.context, image.thumbnail.url) if image.thumbnail else None


def money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True, **kwargs)


def price_with_tax_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text="unit_price × (1 + TAX_RATE), rounded to cents.",
        **kwargs,
    )


class OptionSerializer(serializers.Serializer):
    """One option of a product with variants and the values its variants use, in order."""

    name = serializers.CharField(read_only=True, help_text="e.g. Colour")
    values = serializers.ListField(child=serializers.CharField(), read_only=True, help_text='e.g. ["Green", "Blue"]')


class PriceRangeSerializer(serializers.Serializer):
    """The lowest and highest price of a product's variants (a product without variants: its price twice)."""

    min = money(source="price_min")
    max = money(source="price_max")


class VariantSerializer(serializers.Serializer):
    """A variant: the unit sold (its own SKU, price, stock, barcode), named by its option values."""

    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True, label="SKU")
    title = serializers.CharField(read_only=True, help_text='Its option values: "Green / S".')
    option_values = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="One value per option of its product, in the product's options' order.",
    )
    unit_price = money()
    price_with_tax = price_with_tax_field()
    compare_at_price = money(allow_null=True, help_text="The price before a reduction (above unit_price), or null.")
    in_stock = serializers.BooleanField(read_only=True, help_text="inventory > 0, or its stock is not tracked")
    inventory = serializers.IntegerField(read_only=True)
    barcode = serializers.CharField(read_only=True, help_text="GTIN-8, -12, -13 or -14; blank when none.")
    weight = serializers.DecimalField(max_digits=10, decimal_places=3, read_only=True, allow_null=True)
    weight_unit = serializers.CharField(read_only=True, help_text="g, kg, lb or oz.")
    image = serializers.SerializerMethodField(help_text="URL of its image (one of its product's images), or null.")
    last_update = serializers.DateTimeField(read_only=True)

    def get_image(self, variant) -> str | None:
        image = variant.variant_image
        return absolute_url(self.context, image.image.url) if image is not None else None


class ProductSerializer(serializers.Serializer):
    """Declared field by field (not a ModelSerializer): building a ModelSerializer's
    fields introspects the model on every request, a noticeable share of a list's time.

    The fields other apps register (``store.extensions``: store_custom's ``tags``) are
    part of the serializer, and so is their loading: ``many=True`` loads them for the
    whole page (``ProductListSerializer``), a single product loads them for itself. A view
    using this serializer cannot forget them, nor serve the field the schema promises empty.
    """

    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True, label="SKU")
    title = serializers.CharField(read_only=True)
    slug = serializers.SlugField(read_only=True)
    description = serializers.CharField(read_only=True)
    unit_price = money(source=f"{OFFER}.unit_price", help_text="With variants: its cheapest variant's price.")
    price_with_tax = price_with_tax_field(source=f"{OFFER}.price_with_tax")
    in_stock = serializers.BooleanField(
        source=f"{OFFER}.in_stock",
        read_only=True,
        help_text="inventory > 0, or its stock is not tracked; with variants: any variant is in stock.",
    )
    inventory = serializers.IntegerField(
        source=f"{OFFER}.inventory", read_only=True, help_text="With variants: their tracked inventory, summed."
    )
    collection = CollectionRefSerializer(source="*", read_only=True)
    # What stores keep on a product; the cost per item is the shop's own business and is not served.
    vendor = serializers.CharField(read_only=True)
    barcode = serializers.CharField(read_only=True, help_text="GTIN-8, -12, -13 or -14; blank when none.")
    compare_at_price = money(
        source=f"{OFFER}.compare_at_price",
        allow_null=True,
        help_text="The price before a reduction (above unit_price), or null; with variants: its cheapest variant's.",
    )
    weight = serializers.DecimalField(max_digits=10, decimal_places=3, read_only=True, allow_null=True)
    weight_unit = serializers.CharField(read_only=True, help_text="g, kg, lb or oz.")
    seo_title = serializers.CharField(read_only=True)
    seo_description = serializers.CharField(read_only=True)
    images = ProductImageSerializer(
        many=True, read_only=True, help_text="In position order; the first is the main image."
    )
    options = OptionSerializer(
        source=f"{OFFER}.options", many=True, read_only=True, help_text="Empty for a product without variants."
    )
    variants = VariantSerializer(
        source=f"{OFFER}.variants",
        many=True,
        read_only=True,
        help_text="In the order they were made; empty for a product without variants.",
    )
    price_range = PriceRangeSerializer(source=OFFER, read_only=True)
    total_stock = serializers.IntegerField(
        source=f"{OFFER}.total_stock",
        read_only=True,
        allow_null=True,
        help_text="Inventory of its variants (or itself) whose stock is tracked, summed; null when none is tracked.",
    )
    last_update = serializers.DateTimeField(
        source=f"{OFFER}.last_update", read_only=True, help_text="With variants: its or its latest variant's."
    )

    class Meta:
        list_serializer_class = ProductListSerializer

    def get_fields(self):
        """Our fields plus those other apps registered (store_custom adds `tags`)."""
        fields = super().get_fields()
        last_update = fields.pop("last_update")
        for api_field in extensions.api_fields():
            fields[api_field.name] = api_field.field()
        fields["last_update"] = last_update
        return fields

    def to_representation(self, instance):
        # In a page, ProductListSerializer already loaded them: a no-op then.
        product_api_load([instance])
        return super().to_representation(instance)


class ProductSyncSerializer(ProductSerializer):
    """The product fields plus `status` and `removed`; a name of its own gives the sync
    endpoint's cursor page its own schema component (Paginated<Name>List).

    A product that was once active and no longer is (draft or archived) comes as a
    tombstone: ``{id, sku, slug, status, removed: true, last_update}``, its SKU and slug as
    they were when it was last active (``selectors.product_sync_list``). Consumers delete it
    on their side; its other fields are not public while it is not active.
    """

    TOMBSTONE_FIELDS = ("id", "sku", "slug", "status", "removed", "last_update")

    status = serializers.ChoiceField(choices=Product.Status.choices, read_only=True)
    removed = serializers.SerializerMethodField(
        help_text="True when the product is no longer active (draft or archived): remove it."
    )

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            if name not in self.TOMBSTONE_FIELDS:
                # Absent from tombstones: the schema must not list them as required.
                # (drf-spectacular marks every read-only field required; this serializer
                # is never used for input.)
                field.read_only, field.required = False, False
        return fields

    def get_removed(self, product) -> bool:
        return not product.is_active

    def to_representation(self, product):
        if product.is_active:
            return super().to_representation(product)
        return {
            "id": product.pk,
            "sku": product.public_sku,
            "slug": product.public_slug,
            "status": product.status,
            "removed": True,
            "last_update": self.fields["last_update"].to_representation(product.last_update),
        }


class CollectionSerializer(serializers.ModelSerializer):
    products_count = serializers.IntegerField(read_only=True, help_text="Active products in the collection.")
    featured_product = serializers.IntegerField(
        source="featured_active_product_id",
        read_only=True,
        allow_null=True,
        help_text="Id of the featured product, or null (none, or it is not active).",
    )

    class Meta:
        model = Collection
        fields = ["id", "title", "products_count", "featured_product"]
        read_only_fields = fields
