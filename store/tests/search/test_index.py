"""The search index follows every write path: save, list edit, import, revert, bulk edit, delete, seeding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from store import selectors, services
from store.bulk import actions as bulk_actions
from store.bulk import apply as bulk_apply
from store.importing import revert as reverting
from store.importing.service import product_import
from store.models import ImportJob, Product, ProductSearchTerm
from store.search.services import search_index_build
from store.search.terms import product_terms
from store.seeding import catalog_clear, catalog_seed
from store.tests.admin_helpers import changelist_data, row_prefix
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")
HEADER = ["sku", "title", "unit_price", "inventory", "collection"]


def found(term: str) -> set[str]:
    return set(selectors.product_search(term=term).values_list("sku", flat=True))


def indexed(product: Product) -> set[str]:
    return set(ProductSearchTerm.objects.filter(product_id=product.pk).values_list("term", flat=True))


def assert_in_step() -> None:
    """Every product's terms are exactly those of its title and SKU, and no others are left."""
    for product in Product.objects.all():
        assert indexed(product) == product_terms(title=product.title, sku=product.sku), product.sku
    assert not ProductSearchTerm.objects.exclude(product_id__in=Product.objects.values("pk")).exists()


def test_save_indexes_new_and_renamed_products(admin_user):
    product = ProductFactory(title="Canvas Tote", sku="TT-1")
    assert found("tote") == {"TT-1"}
    product.title = "Canvas Duffel"
    services.product_update(product=product, expected_version=product.version, user=admin_user)
    assert found("tote") == set()
    assert found("duff") == {"TT-1"}
    assert_in_step()


def test_a_save_that_changes_neither_title_nor_sku_leaves_the_index_alone(admin_user):
    product = Product.objects.get(pk=ProductFactory(title="Canvas Tote").pk)
    product.unit_price = Decimal("25.00")
    with CaptureQueriesContext(connection) as queries:
        services.product_update(product=product, expected_version=product.version, user=admin_user)
    assert not [q for q in queries.captured_queries if "store_productsearchterm" in q["sql"]]
    assert_in_step()


def test_the_admin_change_form_and_list_edit_keep_the_index(admin_client):
    product = ProductFactory(title="Canvas Tote", sku="TT-1", unit_price=Decimal("10.00"))
    listed = admin_client.get(PRODUCTS, {"q": "tote"})
    prefix = row_prefix(listed, product.pk)
    response = admin_client.post(f"{PRODUCTS}?q=tote", changelist_data(listed, **{f"{prefix}-unit_price": "12.00"}))
    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).unit_price == Decimal("12.00")
    assert found("tote") == {"TT-1"}
    assert_in_step()


def test_an_import_indexes_what_it_creates_and_renames(write_csv, admin_user):
    shelf = CollectionFactory(title="Shelf")
    ProductFactory(sku="LMP-1", title="Old Lamp", collection=shelf)
    path = write_csv(
        [["LMP-1", "Brass Lamp", "11.00", "5", "Shelf"], ["NEW-1", "Garden Gnome", "30.00", "1", "Shelf"]],
        header=HEADER,
    )
    outcome = product_import(path=path, file_name="products.csv", user=admin_user)
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.job.message
    assert found("gnome") == {"NEW-1"}
    assert found("brass") == {"LMP-1"}
    assert found("old") == set()
    assert_in_step()


def test_a_stock_feed_does_not_rewrite_the_terms(write_csv, admin_user):
    ProductFactory(sku="LMP-1", title="Old Lamp", collection=CollectionFactory(title="Shelf"))
    path = write_csv([["LMP-1", "Old Lamp", "10.00", "3", "Shelf"]], header=HEADER)
    with CaptureQueriesContext(connection) as queries:
        outcome = product_import(path=path, file_name="feed.csv", user=admin_user)
    assert not [q for q in queries.captured_queries if "store_productsearchterm" in q["sql"]]
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.job.message
    assert found("lamp") == {"LMP-1"}
    assert_in_step()


def test_a_revert_restores_the_old_titles_and_drops_the_created(write_csv, admin_user):
    shelf = CollectionFactory(title="Shelf")
    ProductFactory(sku="LMP-1", title="Old Lamp", collection=shelf)
    path = write_csv(
        [["LMP-1", "Brass Lamp", "11.00", "5", "Shelf"], ["NEW-1", "Garden Gnome", "30.00", "1", "Shelf"]],
        header=HEADER,
    )
    job = product_import(path=path, file_name="products.csv", user=admin_user).job
    reverting.import_revert(job=job, user=admin_user)
    assert found("gnome") == set()
    assert found("brass") == set()
    assert found("old lamp") == {"LMP-1"}
    assert_in_step()
    # Reverting the revert re-creates the product (bulk_create: no post_save) and re-indexes it.
    reverting.import_revert(job=ImportJob.objects.get(options__reverts=job.pk), user=admin_user)
    assert found("gnome") == {"NEW-1"}
    assert_in_step()


def test_a_bulk_edit_keeps_the_products_findable(admin_user):
    ProductFactory(title="Canvas Tote", sku="TT-1", unit_price=Decimal("10.00"))
    bulk_apply.bulk_edit_apply(
        action=bulk_actions.get_bulk_action("change_price"),
        products=selectors.product_search(term="tote"),
        parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
        user=admin_user,
    )
    assert Product.objects.get(sku="TT-1").unit_price == Decimal("10.50")
    assert found("tote") == {"TT-1"}
    assert_in_step()


def test_deletes_take_the_terms_with_them(admin_client):
    product = ProductFactory(title="Canvas Tote")
    product.delete()
    assert not ProductSearchTerm.objects.exists()
    other = ProductFactory(title="Canvas Duffel")
    response = admin_client.post(reverse("admin:store_product_delete", args=[other.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not ProductSearchTerm.objects.exists()


def test_seeding_indexes_the_catalog_and_clearing_empties_the_index():
    catalog_seed(products=30, seed=1)
    assert len(found("S1-0000007")) == 1
    assert found("0000007") == {"S1-0000007"}
    assert_in_step()
    catalog_clear()
    assert not ProductSearchTerm.objects.exists()


def index_rows() -> set[tuple[str, int, str, bool]]:
    return set(ProductSearchTerm.objects.values_list("term", "product_id", "title", "is_variant"))


def test_the_index_rows_an_import_writes_are_those_a_rebuild_writes(write_csv, admin_user):
    """The new products' rows (issue 22: written from the rows read back once, in multi-row INSERTs)
    are exactly those the index's rebuild makes from the table, variants' SKUs and options included."""
    header = ["sku", "title", "unit_price", "inventory", "collection", "product", "option1_name", "option1"]
    rows = [
        ["GNM-1", "Crème-Brûlée Gnome", "30.00", "1", "Garden", "", "", ""],
        ["LMP-2", "Desk Lamp", "", "", "Garden", "", "Colour", ""],
        ["LMP-2-R", "", "12.00", "3", "", "LMP-2", "", "Rouge Écarlate"],
        ["LMP-2-B", "", "13.00", "4", "", "LMP-2", "", "Blue"],
        ["TEE_3", "T-Shirt (XL), 100% cotton! 'quoted' \\ back", "9.50", "2", "Garden", "", "", ""],
    ]
    outcome = product_import(path=write_csv(rows, header=header), file_name="new.csv", user=admin_user)
    assert [(error.row, error.column, error.reason) for error in outcome.plan.errors] == []
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.job.message
    assert outcome.job.created_count == 5
    imported = index_rows()
    gnome = Product.objects.get(sku="GNM-1")
    words = ["creme", "brulee", "cremebrulee", "gnome", "gnm", "1", "gnm1", "^creme brulee gnome"]
    assert {row for row in imported if row[1] == gnome.pk} == {
        (term, gnome.pk, "Crème-Brûlée Gnome", False) for term in words
    }
    assert found("ecarlate") == {"LMP-2", "LMP-2-R"}
    search_index_build(replace=True)
    assert index_rows() == imported
