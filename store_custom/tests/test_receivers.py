"""Tag rows vanish with their products on every delete path (store calls store_custom's hooks)."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from store.importing import revert as reverting
from store.importing.service import product_import
from store.models import Product
from store.seeding import catalog_clear
from store.tests.factories import ProductFactory
from tags.models import Tag, TaggedItem

pytestmark = pytest.mark.django_db


def tag(product, label="eco"):
    return TaggedItem.objects.create(tag=Tag.objects.get_or_create(label=label)[0], content_object=product)


def test_clearing_the_catalog_drops_product_tags_but_keeps_the_tags():
    product = ProductFactory()
    TaggedItem.objects.create(tag=Tag.objects.create(label="eco"), content_object=product)

    catalog_clear()

    assert not TaggedItem.objects.exists()
    assert Tag.objects.filter(label="eco").exists()


def test_the_admin_delete_drops_the_product_tags(admin_client):
    gone, kept = ProductFactory(), ProductFactory()
    tag(gone)
    kept_item = tag(kept)
    response = admin_client.post(reverse("admin:store_product_delete", args=[gone.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert list(TaggedItem.objects.all()) == [kept_item]


def test_delete_selected_drops_the_products_tags(admin_client):
    products = ProductFactory.create_batch(3)
    for product in products:
        tag(product, "eco")
        tag(product, "sale")
    response = admin_client.post(
        reverse("admin:store_product_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [p.pk for p in products[:2]], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted(TaggedItem.objects.values_list("object_id", flat=True)) == [products[2].pk] * 2
    assert Tag.objects.count() == 2


def test_reverting_an_import_drops_the_tags_of_the_products_it_created(write_csv):
    kept = ProductFactory()
    tag(kept)
    row = {"sku": "NEW-1", "title": "New", "unit_price": "5", "inventory": "1", "collection": "C", "tags": "eco, new"}
    outcome = product_import(path=write_csv([row]), file_name="new.csv")
    created = Product.objects.get(sku="NEW-1")
    assert TaggedItem.objects.filter(object_id=created.pk).count() == 2

    reverting.import_revert(job=outcome.job)

    assert not Product.objects.filter(sku="NEW-1").exists()
    assert list(TaggedItem.objects.values_list("object_id", flat=True)) == [kept.pk]
