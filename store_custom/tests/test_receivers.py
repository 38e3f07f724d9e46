import pytest

from store.seeding import catalog_clear
from store.tests.factories import ProductFactory
from tags.models import Tag, TaggedItem

pytestmark = pytest.mark.django_db


def test_clearing_the_catalog_drops_product_tags_but_keeps_the_tags():
    product = ProductFactory()
    TaggedItem.objects.create(tag=Tag.objects.create(label="eco"), content_object=product)

    catalog_clear()

    assert not TaggedItem.objects.exists()
    assert Tag.objects.filter(label="eco").exists()
