"""A Merchandiser (the role as setup_roles defines it, not a superuser) adds products, collections
and promotions in the browser; a product added here starts as a draft, with its tags and image."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from store.models import Collection, Product, Promotion
from store.roles import MERCHANDISER, role_sync_all
from store.tests.admin_helpers import changeform_data
from store.tests.factories import CollectionFactory, image_upload
from tags.models import TaggedItem
from tags.tests.factories import TagFactory

pytestmark = pytest.mark.django_db

INLINE_PREFIX = "tags-taggeditem-content_type-object_id"
IMAGES_PREFIX = "images"


@pytest.fixture
def merchandiser(django_user_model) -> Client:
    role_sync_all()
    user = django_user_model.objects.create_user("merch", "merch@example.com", "x", is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANDISER))
    client = Client()
    client.force_login(user)
    return client


def test_a_merchandiser_adds_a_draft_product_with_tags_and_an_image(merchandiser, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    eco, collection = TagFactory(label="eco"), CollectionFactory()
    url = reverse("admin:store_product_add")
    page = merchandiser.get(url)
    assert page.status_code == 200
    prefixes = {inline.formset.prefix for inline in page.context["inline_admin_formsets"]}
    assert {INLINE_PREFIX, IMAGES_PREFIX} <= prefixes
    data = changeform_data(page) | {
        "title": "Bamboo Mug",
        "slug": "bamboo-mug",
        "sku": "BM-1",
        "unit_price": "9.00",
        "inventory": "5",
        "collection": collection.pk,
        f"{INLINE_PREFIX}-0-tag": eco.pk,
        f"{IMAGES_PREFIX}-0-image": image_upload(),
        f"{IMAGES_PREFIX}-0-position": "0",
    }
    response = merchandiser.post(url, data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    product = Product.objects.get(sku="BM-1")
    assert product.status == Product.Status.DRAFT
    assert [item.tag.label for item in TaggedItem.objects.get_tags_for(Product, product.pk)] == ["eco"]
    assert product.images.count() == 1
    assert product.history.get().history_type == "+"


def test_a_merchandiser_adds_a_collection_and_a_promotion(merchandiser):
    response = merchandiser.post(reverse("admin:store_collection_add"), {"title": "Lamps", "featured_product": ""})
    assert response.status_code == 302
    assert Collection.objects.filter(title="Lamps").exists()

    response = merchandiser.post(reverse("admin:store_promotion_add"), {"description": "Winter", "discount": "15"})
    assert response.status_code == 302
    assert Promotion.objects.filter(description="Winter").exists()


def test_a_merchandiser_still_deletes_no_product(merchandiser):
    product = CollectionFactory()
    response = merchandiser.get(reverse("admin:store_collection_delete", args=[product.pk]))
    assert response.status_code == 403
