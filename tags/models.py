"""Generic tagging: any model's rows can carry tags, through contenttypes."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Tag(models.Model):
    label = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class TaggedItemManager(models.Manager):
    def get_tags_for(self, model: type[models.Model] | models.Model, obj_id) -> models.QuerySet:
        """The TaggedItems (with their tags) of one object of `model`."""
        content_type = ContentType.objects.get_for_model(model)
        return self.select_related("tag").filter(content_type=content_type, object_id=obj_id)


class TaggedItem(models.Model):
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="items")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")

    objects = TaggedItemManager()

    class Meta:
        indexes = [models.Index(fields=["content_type", "object_id"])]
        constraints = [
            models.UniqueConstraint(fields=["tag", "content_type", "object_id"], name="taggeditem_unique_tag_object"),
        ]

    def __str__(self) -> str:
        # The tag, as its inline row and the admin's change messages name it ("handmade"), not the
        # database's "handmade on product 43".
        return str(self.tag)
