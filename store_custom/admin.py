"""The product admin's tags (inline, list column, filter) and the tag list's product counts.

Store and tags stay unaware of each other; without this app the product admin
simply has no tags.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from backoffice.admin import SafeAutocompleteMixin
from store.extensions import ListColumn, ProductAdminAdditions
from store.models import Product
from store_custom import selectors
from store_custom.filters import TagFilter
from tags.admin import TagAdmin, TaggedItemInline
from tags.models import Tag


class ProductTagInline(SafeAutocompleteMixin, TaggedItemInline):
    pass


def _tags_cell(product: Product) -> str:
    return ", ".join(getattr(product, selectors.TAG_LABELS_ATTR))


TAGS_COLUMN = ListColumn(
    name="tags",
    description="tags",
    load=selectors.product_tag_labels_attach,  # a page's tags in one query
    render=_tags_cell,
    loaded_attr=selectors.TAG_LABELS_ATTR,
)


class CustomProductAdmin(ProductAdminAdditions):
    """The product admin with tags: the generic tag inline, a tags column and a tag filter.

    Not a ModelAdmin: store_custom's StoreExtension carries it, and store's ProductAdmin
    appends these to its own (see store.extensions for why that beats re-registering).
    """

    list_columns = (TAGS_COLUMN,)
    list_filter = (TagFilter,)
    inlines = (ProductTagInline,)


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
