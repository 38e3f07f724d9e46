import factory
from factory.django import DjangoModelFactory

from tags.models import Tag


class TagFactory(DjangoModelFactory[Tag]):
    class Meta:
        model = Tag
        django_get_or_create = ("label",)

    label = factory.Sequence(lambda n: f"tag-{n}")
