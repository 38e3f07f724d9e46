"""Reads for tags. Generic over any model: tags knows nothing of the apps it tags."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Model, QuerySet

from tags.models import Tag, TaggedItem


def tag_list_with_usage_count() -> QuerySet[Tag]:
    return Tag.objects.annotate(usage_count=Count("items"))


def tag_list_used_on(*, model: type[Model]) -> QuerySet[Tag]:
    """Tags that at least one row of ``model`` carries."""
    content_type = ContentType.objects.get_for_model(model)
    return Tag.objects.filter(items__content_type=content_type).distinct().order_by("label")


def object_ids_tagged(*, model: type[Model], tag_id: int) -> QuerySet[TaggedItem, int]:
    """The ids of ``model`` rows carrying the tag, as a subquery for ``pk__in``."""
    content_type = ContentType.objects.get_for_model(model)
    return TaggedItem.objects.filter(content_type=content_type, tag_id=tag_id).values_list("object_id", flat=True)
