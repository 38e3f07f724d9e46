"""Exports read the catalog in chunks with a fixed number of queries per chunk."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store.exports.resources import OrderResource, ProductResource
from store.models import Order, Product
from store.tests.factories import CollectionFactory, OrderItemFactory, ProductFactory, PromotionFactory

pytestmark = pytest.mark.django_db


def export_queries(resource, queryset) -> tuple[int, int]:
    resource.export(queryset=queryset)  # warm caches (content types) so both runs compare alike
    with CaptureQueriesContext(connection) as queries:
        dataset = resource.export(queryset=queryset)
    return dataset.height, len(queries)


def test_product_export_queries_do_not_grow_with_rows():
    collection, promotion = CollectionFactory(), PromotionFactory()
    for product in ProductFactory.create_batch(250, collection=collection):
        product.promotions.add(promotion)
    small = export_queries(
        ProductResource(), Product.objects.filter(pk__in=list(Product.objects.values_list("pk", flat=True)[:3]))
    )
    large = export_queries(ProductResource(), Product.objects.all())
    assert (small[0], large[0]) == (3, 250)
    assert small[1] == large[1]


def test_order_export_queries_do_not_grow_with_rows():
    for _ in range(120):
        OrderItemFactory()
    small = export_queries(
        OrderResource(), Order.objects.filter(pk__in=list(Order.objects.values_list("pk", flat=True)[:2]))
    )
    large = export_queries(OrderResource(), Order.objects.all())
    assert (small[0], large[0]) == (2, 120)
    assert small[1] == large[1]
