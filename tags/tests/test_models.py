"""Tags work on any model; these tests tag auth Groups so tags stays independent of store."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction

from tags.models import TaggedItem
from tags.tests.factories import TagFactory

pytestmark = pytest.mark.django_db


def tag(obj, label):
    return TaggedItem.objects.create(tag=TagFactory(label=label), content_object=obj)


def test_get_tags_for_returns_exactly_the_objects_tags():
    editors, buyers = Group.objects.create(name="editors"), Group.objects.create(name="buyers")
    tag(editors, "red")
    tag(editors, "blue")
    tag(buyers, "green")

    labels = {item.tag.label for item in TaggedItem.objects.get_tags_for(Group, editors.pk)}

    assert labels == {"red", "blue"}


def test_get_tags_for_ignores_other_models_with_the_same_id():
    group = Group.objects.create(name="editors")
    tag(group, "red")
    other_type = ContentType.objects.get_for_model(ContentType)
    TaggedItem.objects.create(tag=TagFactory(label="blue"), content_type=other_type, object_id=group.pk)

    assert [i.tag.label for i in TaggedItem.objects.get_tags_for(group, group.pk)] == ["red"]


def test_get_tags_for_loads_tags_in_one_query(django_assert_num_queries):
    group = Group.objects.create(name="editors")
    for label in ("a", "b", "c"):
        tag(group, label)
    ContentType.objects.get_for_model(Group)  # warm the content-type cache
    with django_assert_num_queries(1):
        assert sorted(i.tag.label for i in TaggedItem.objects.get_tags_for(Group, group.pk)) == ["a", "b", "c"]


def test_the_same_tag_twice_on_one_object_is_rejected():
    group = Group.objects.create(name="editors")
    tag(group, "red")
    with pytest.raises(IntegrityError), transaction.atomic():
        tag(group, "red")
