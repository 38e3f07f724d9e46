import factory
from factory.django import DjangoModelFactory

from tags.models import Tag


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("label",)

    label = factory.Sequence(lambda n: f"tag-{n}")
