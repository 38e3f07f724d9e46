from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline

from tags import selectors
from tags.models import Tag, TaggedItem


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    # Annotated so that a subclass may extend it (store_custom adds a column).
    list_display: tuple[str, ...] = ("label", "usage_count")
    list_per_page = 100
    search_fields = ("label",)

    def get_queryset(self, request):
        return selectors.tag_list_with_usage_count().order_by("label")

    @admin.display(description="used on", ordering="usage_count")
    def usage_count(self, tag):
        return tag.usage_count


class TaggedItemInline(GenericTabularInline):
    """Tags on any model's change form; attach it from the app that glues the two."""

    model = TaggedItem
    autocomplete_fields = ("tag",)
    extra = 1
    verbose_name = "tag"
    verbose_name_plural = "tags"
