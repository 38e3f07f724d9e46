"""List filters that need both store and tags."""
from __future__ import annotations

from django.contrib import admin

from store.models import Product
from tags import selectors as tag_selectors


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(tag.pk, tag.label) for tag in tag_selectors.tag_list_used_on(model=Product)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None or not value.isdigit():
            return queryset
        return queryset.filter(pk__in=tag_selectors.object_ids_tagged(model=Product, tag_id=int(value)))
