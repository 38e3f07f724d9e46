"""List filters that need both store and tags."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError

from store.models import Product
from tags import selectors as tag_selectors
from tags.models import Tag


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(tag.pk, tag.label) for tag in tag_selectors.tag_list_used_on(model=Product)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        try:
            tag_id = Tag._meta.pk.clean(value, None)
        except ValidationError as error:  # junk or out-of-range id: the admin's "?e=1"
            raise IncorrectLookupParameters(error) from error
        return queryset.filter(pk__in=tag_selectors.object_ids_tagged(model=Product, tag_id=tag_id))
