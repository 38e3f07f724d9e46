"""The product list at scale: every header sort of the list of products (never variants) walks
an index of products and stops after a page, however many variants the table holds (issue 21's
scale goal; bench/changelist.py --variants measures it on MariaDB at 1M sellable units)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store.seeding import catalog_seed

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="SQLite's plan is the same for a small table; MariaDB's depends on its statistics (the bench)",
    ),
]
PRODUCTS = "/admin/store/product/"
# list_display: 2 title, 3 SKU, 5 price, 6 inventory, 7 stock (inventory).
SORTS = {
    "2": "product_parent_title_idx",
    "-2": "product_parent_title_idx",
    "3": "product_parent_sku_idx",
    "-3": "product_parent_sku_idx",
    "5.2": "product_parent_price_idx",
    "-5": "product_parent_price_idx",
    "6": "product_parent_inventory_idx",
    "-7.2": "product_parent_inventory_idx",
}


def page_plan(client, order: str) -> str:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PRODUCTS, {"o": order})
    assert response.status_code == 200
    page = next(
        q["sql"] for q in queries if re.match(r'SELECT "store_product"\."id"', q["sql"]) and "ORDER BY" in q["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {page}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize(("order", "index"), SORTS.items())
def test_each_header_sort_walks_an_index_of_products(admin_client, order, index):
    catalog_seed(products=30, variants=5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    plan = page_plan(admin_client, order)
    # The outer query (the subqueries of the variant summary and the image read other indexes).
    outer = plan.splitlines()[0]
    assert f"USING INDEX {index} (parent_id=?)" in outer
    assert "TEMP B-TREE FOR ORDER BY" not in plan
