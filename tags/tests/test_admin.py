"""TagAdmin. Tags are generic: these tests tag users, so tags never needs store."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tags.models import Tag, TaggedItem
from tags.tests.factories import TagFactory

pytestmark = pytest.mark.django_db

TAGS = reverse("admin:tags_tag_changelist")


@pytest.fixture
def tags(admin_user):
    eco, sale, unused = TagFactory(label="eco"), TagFactory(label="sale"), TagFactory(label="unused")
    other = get_user_model().objects.create_user("other")
    for user in (admin_user, other):
        TaggedItem.objects.create(tag=eco, content_object=user)
    TaggedItem.objects.create(tag=sale, content_object=other)
    return {"eco": eco, "sale": sale, "unused": unused}


def test_changelist_shows_usage_counts_sortable(admin_client, tags):
    response = admin_client.get(TAGS, {"o": "-2"})
    assert response.status_code == 200
    assert [(t.label, t.usage_count) for t in response.context["cl"].result_list] == [
        ("eco", 2),
        ("sale", 1),
        ("unused", 0),
    ]


def test_search_on_label(admin_client, tags):
    response = admin_client.get(TAGS, {"q": "sal"})
    assert [t.label for t in response.context["cl"].result_list] == ["sale"]


def test_add_and_change(admin_client, tags):
    add = reverse("admin:tags_tag_add")
    assert admin_client.get(add).status_code == 200
    assert admin_client.post(add, {"label": "summer"}).status_code == 302
    assert admin_client.post(add, {"label": "eco"}).status_code == 200  # unique
    change = reverse("admin:tags_tag_change", args=[tags["sale"].pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"label": "clearance"}).status_code == 302
    assert set(Tag.objects.values_list("label", flat=True)) == {"eco", "clearance", "unused", "summer"}


def test_changelist_queries_do_not_grow_with_rows(admin_client, django_assert_max_num_queries):
    TagFactory.create_batch(60)
    with django_assert_max_num_queries(6):
        admin_client.get(TAGS)
