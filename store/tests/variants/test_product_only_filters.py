"""Filters whose rows are products already (status, collection: a variant has neither) list the
same rows without the "no parent" condition, which would look up every matching row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store.models import Product
from store.tests.factories import ProductFactory
from store.tests.variants.conftest import make_parent, make_variant

pytestmark = pytest.mark.django_db

PRODUCTS = "/admin/store/product/"


@pytest.fixture
def drafts():
    parent = make_parent(title="Tee", sku="TEE", status=Product.Status.DRAFT)
    for colour in ("Green", "Blue"):
        make_variant(parent, colour, "S")
    alone = ProductFactory(title="Mug", sku="MUG", status=Product.Status.DRAFT, collection=parent.collection)
    ProductFactory(title="Cap", sku="CAP", status=Product.Status.ACTIVE, collection=parent.collection)
    return parent, alone


@pytest.mark.parametrize("param", ["status__exact=draft", "collection__pk__exact={collection}"])
def test_a_status_or_collection_filter_lists_products_and_reads_no_parent(admin_client, drafts, param):
    parent, alone = drafts
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(f"{PRODUCTS}?{param.format(collection=parent.collection_id)}")
    assert response.status_code == 200
    listed = {product.sku for product in response.context["cl"].result_list}
    expected = {"TEE", "MUG"} if param.startswith("status") else {"TEE", "MUG", "CAP"}
    assert listed == expected
    assert response.context["cl"].result_count == len(expected)
    page = [q["sql"] for q in queries if "ORDER BY" in q["sql"] and "store_product" in q["sql"].split(" FROM ")[1][:20]]
    assert page
    assert all("parent_id` IS NULL" not in sql and '"parent_id" IS NULL' not in sql for sql in page)


def test_without_such_a_filter_the_list_still_hides_variants(admin_client, drafts):
    response = admin_client.get(PRODUCTS)
    listed = {product.sku for product in response.context["cl"].result_list}
    assert listed == {"TEE", "MUG", "CAP"}
