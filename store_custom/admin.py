"""The product admin with tags: store's ProductAdmin plus a tags inline, column and filter.

Store and tags stay unaware of each other; without this app the product admin
simply has no tags.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from backoffice.admin import SafeAutocompleteMixin
from store.admin.catalog import ProductAdmin, ProductChangeList
from store.models import Product
from tags import selectors as tag_selectors
from tags.admin import TagAdmin, TaggedItemInline
from tags.models import Tag

from . import selectors
from .filters import TagFilter


class TaggedProductChangeList(ProductChangeList):
    def get_results(self, request):
        """Load the page's tags in one query (Product has no relation to prefetch through)."""
        super().get_results(request)
        products = list(self.result_list)  # fills the queryset's cache: the template and formset reuse it
        labels = tag_selectors.tag_labels_by_object(model=Product, object_ids=[p.pk for p in products])
        for product in products:
            product.tag_labels = labels.get(product.pk, [])


class ProductTagInline(SafeAutocompleteMixin, TaggedItemInline):
    pass


class CustomProductAdmin(ProductAdmin):
    list_display = (*ProductAdmin.list_display, "tags")
    list_filter = (*ProductAdmin.list_filter, TagFilter)
    inlines = (*ProductAdmin.inlines, ProductTagInline)

    def get_changelist(self, request, **kwargs):
        return TaggedProductChangeList

    @admin.display(description="tags")
    def tags(self, product):
        labels = getattr(product, "tag_labels", None)
        if labels is None:
            labels = tag_selectors.tag_labels_by_object(model=Product, object_ids=[product.pk])[product.pk]
        return ", ".join(labels)


admin.site.unregister(Product)
admin.site.register(Product, CustomProductAdmin)


class ProductTagAdmin(TagAdmin):
    """Tags with how many products carry each, linking to the product list filtered by the tag."""

    list_display = (*TagAdmin.list_display, "products_count")

    def get_queryset(self, request):
        return selectors.tag_list_with_products_count(queryset=super().get_queryset(request))

    @admin.display(description="products", ordering="products_count")
    def products_count(self, tag):
        query = urlencode({TagFilter.parameter_name: tag.pk})
        url = f"{reverse('admin:store_product_changelist')}?{query}"
        return format_html('<a href="{}">{}</a>', url, tag.products_count)


admin.site.unregister(Tag)
admin.site.register(Tag, ProductTagAdmin)
