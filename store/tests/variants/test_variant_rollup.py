"""A product with variants is priced as its cheapest variant, and says whether any of its variants'
stock is tracked, whichever path wrote its variants (store.variants.rollup)."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store.bulk import actions as bulk_actions
from store.bulk import apply as bulk_apply
from store.importing.revert import import_revert
from store.importing.service import product_import
from store.models import Product
from store.tests.admin_helpers import changeform_data, changelist_data, row_prefix
from store.tests.factories import ProductFactory
from store.tests.migrating import migrate_to, migrate_to_latest
from store.variants.rollup import variant_parents_out_of_step, variant_parents_sync
from store.variants.selectors import Option
from store.variants.services import product_options, product_options_save, variant_delete

from .conftest import make_parent, make_variant

pytestmark = pytest.mark.django_db


def test_the_sync_sets_a_product_to_its_cheapest_variants_price_and_compare_at(tshirt):
    Product.objects.filter(parent=tshirt, sku="TS-BM").update(
        unit_price=Decimal("9.50"), compare_at_price=Decimal("12.00")
    )
    Product.objects.filter(pk=tshirt.pk).update(unit_price=Decimal("99.00"))
    assert variant_parents_out_of_step() == [tshirt.pk]
    assert variant_parents_sync(parent_ids=[tshirt.pk, None]) == 1
    tshirt.refresh_from_db()
    assert (tshirt.unit_price, tshirt.compare_at_price) == (Decimal("9.50"), Decimal("12.00"))
    assert variant_parents_out_of_step() == []


PRODUCTS = "/admin/store/product/"


def cheapest(parent: Product) -> tuple[Decimal, Decimal | None]:
    parent.refresh_from_db()
    assert variant_parents_out_of_step() == []
    return parent.unit_price, parent.compare_at_price


def test_a_list_edit_of_a_variants_price_moves_its_products(admin_client, tshirt):
    assert cheapest(tshirt) == (Decimal("18.00"), None)  # the fixture's variants were saved
    response = admin_client.get(PRODUCTS, {"rows": "units"})
    variant = Product.objects.get(sku="TS-GS")
    prefix = row_prefix(response, variant.pk)
    data = changelist_data(response, **{f"{prefix}-unit_price": "12.50"})
    assert admin_client.post(f"{PRODUCTS}?rows=units", data).status_code == 302
    assert cheapest(tshirt) == (Decimal("12.50"), None)


def test_removing_or_raising_the_cheapest_variant_moves_its_product(tshirt):
    greens = Product.objects.filter(parent=tshirt, option1="Green")
    for variant in greens.order_by("pk")[1:]:
        variant_delete(variant=variant)
    assert cheapest(tshirt) == (Decimal("18.00"), None)
    variant_delete(variant=greens.get())
    assert cheapest(tshirt) == (Decimal("24.00"), None)
    blue = Product.objects.filter(parent=tshirt).order_by("pk").first()
    blue.compare_at_price = Decimal("30.00")
    blue.unit_price = Decimal("20.00")
    blue.save()
    assert cheapest(tshirt) == (Decimal("20.00"), Decimal("30.00"))  # the cheapest's compare-at too


def test_a_bulk_price_edit_of_a_product_with_variants_moves_it(tshirt):
    mug = ProductFactory(unit_price=Decimal("10.00"))
    bulk_apply.bulk_edit_apply(
        action=bulk_actions.get_bulk_action("change_price"),
        products=Product.objects.filter(pk__in=[tshirt.pk, mug.pk]),
        parameters={"mode": "raise", "amount": "1.00"},
        user=None,
        skip_refused=True,
    )
    assert cheapest(tshirt) == (Decimal("19.00"), None)


def test_an_import_and_its_revert_move_the_products_of_the_variants_they_price(write_csv, admin_user, tshirt):
    path = write_csv([["TS-BM", "11.00"], ["TS-GL", "30.00"]], header=["sku", "unit_price"])
    outcome = product_import(path=path, file_name="feed.csv", user=admin_user)
    assert outcome.job.updated_count == 2
    assert cheapest(tshirt) == (Decimal("11.00"), None)
    import_revert(job=outcome.job, user=admin_user)
    assert cheapest(tshirt) == (Decimal("18.00"), None)


def test_new_variants_of_the_options_editor_price_their_product(tshirt):
    tshirt.refresh_from_db()
    Product.objects.filter(parent=tshirt).update(unit_price=Decimal("40.00"))
    variant_parents_sync(parent_ids=[tshirt.pk])
    options = [*product_options(product=tshirt)]
    options[1] = Option(name=options[1].name, values=[*options[1].values, "XL"])
    tshirt.unit_price = Decimal("15.00")  # the product's price, which its new variants take
    product_options_save(product=tshirt, options=options, expected_version=tshirt.version)
    assert cheapest(tshirt) == (Decimal("15.00"), None)


def test_the_list_and_the_api_sort_a_product_with_variants_by_its_cheapest_variant(admin_client, tshirt):
    ProductFactory(title="Cheap mug", unit_price=Decimal("10.00"), status="active")
    ProductFactory(title="Dear lamp", unit_price=Decimal("30.00"), status="active")
    Product.objects.filter(pk=tshirt.pk).update(status="active")
    Product.objects.get(sku="TS-GS").save()  # unchanged: still 18.00 the cheapest
    listed = [row.title for row in admin_client.get(PRODUCTS, {"o": "5"}).context["cl"].result_list]
    assert listed == ["Cheap mug", "Example T-Shirt", "Dear lamp"]
    for variant in Product.objects.filter(parent=tshirt):
        variant.unit_price += Decimal("22.00")  # 40.00 to 46.00
        variant.save()
    listed = [row.title for row in admin_client.get(PRODUCTS, {"o": "5"}).context["cl"].result_list]
    served = [row["title"] for row in admin_client.get("/api/products/", {"ordering": "unit_price"}).json()["results"]]
    assert listed == served == ["Cheap mug", "Dear lamp", "Example T-Shirt"]


def old_catalog(apps):
    """A migration's Product model, a collection, and the fields a product with variants has."""
    collection = apps.get_model("store", "Collection").objects.create(title="C")
    shared = {"collection": collection, "status": "active", "inventory": 0, "track_inventory": False}
    return apps.get_model("store", "Product"), collection, shared


@pytest.mark.django_db(transaction=True)
def test_the_migration_prices_each_product_with_variants_as_its_cheapest_variant():
    apps = migrate_to([("store", "0031_historicalproduct_unused_indexes")])
    try:
        OldProduct, collection, shared = old_catalog(apps)
        shirt = OldProduct.objects.create(sku="TS", slug="ts", title="T", unit_price=99, structure="parent", **shared)
        OldProduct.objects.create(sku="EMPTY", slug="e", title="E", unit_price=7, structure="parent", **shared)
        OldProduct.objects.create(sku="MUG", slug="m", title="M", unit_price=5, collection=collection, inventory=3)
        variant = {"structure": "variant", "parent": shirt, "slug": None, "collection": None, "status": None}
        variant |= {"inventory": 1}
        OldProduct.objects.create(sku="TS-B", title="B", unit_price=24, **variant)
        OldProduct.objects.create(sku="TS-G", title="G", unit_price=18, compare_at_price=25, **variant)
        OldProduct.objects.create(sku="TS-R", title="R", unit_price=18, **variant)  # as cheap, made later
    finally:
        migrate_to_latest()
    prices = {
        sku: (price, compare_at)
        for sku, price, compare_at in Product.objects.values_list("sku", "unit_price", "compare_at_price")
    }
    assert prices["TS"] == (Decimal("18.00"), Decimal("25.00"))
    assert prices["EMPTY"] == (Decimal("7.00"), None)  # no variant: left as it is
    assert prices["MUG"] == (Decimal("5.00"), None)


def tracked(parent: Product) -> bool:
    parent.refresh_from_db()
    assert variant_parents_out_of_step() == []
    return parent.has_tracked_variant


def test_the_sync_says_whether_any_variant_is_tracked_and_keeps_the_price_of_a_product_without_any(tshirt):
    assert tracked(tshirt)  # the fixture's variants were saved, all tracked
    Product.objects.filter(parent=tshirt).update(track_inventory=False)
    assert variant_parents_out_of_step() == [tshirt.pk]
    assert variant_parents_sync(parent_ids=[tshirt.pk]) == 1
    assert not tracked(tshirt)
    bare = make_parent(title="Bare", unit_price=Decimal("7.00"))
    Product.objects.filter(pk=bare.pk).update(has_tracked_variant=True)
    assert variant_parents_sync(parent_ids=[bare.pk]) == 1
    bare.refresh_from_db()
    assert (bare.has_tracked_variant, bare.unit_price) == (False, Decimal("7.00"))  # no variant: its own price


def test_saving_or_removing_variants_keeps_whether_a_product_has_a_tracked_one(tshirt):
    variants = list(Product.objects.filter(parent=tshirt).order_by("pk"))
    for variant in variants[1:]:
        variant.track_inventory = False
        variant.save()
    assert tracked(tshirt)
    variant_delete(variant=variants[0])  # the last tracked one
    assert not tracked(tshirt)
    make_variant(tshirt, "Red", "S")
    assert tracked(tshirt)


def test_a_variants_page_that_stops_tracking_moves_its_product_into_the_not_tracked_filter(admin_client):
    hoodie = make_parent(title="Hoodie", sku="HD")
    variant = make_variant(hoodie, "Black", "M")
    not_tracked = {"inventory_status": "untracked"}
    assert [row.title for row in admin_client.get(PRODUCTS, not_tracked).context["cl"].result_list] == []
    page = f"{PRODUCTS}{variant.pk}/change/"
    response = admin_client.post(page, changeform_data(admin_client.get(page), track_inventory=""))  # unchecked
    assert response.status_code == 302, response.context and response.context["errors"]
    assert not tracked(hoodie)
    assert [row.title for row in admin_client.get(PRODUCTS, not_tracked).context["cl"].result_list] == ["Hoodie"]


def test_an_import_and_its_revert_keep_whether_a_product_has_a_tracked_variant(write_csv, admin_user, tshirt):
    rows = [[variant.sku, "no"] for variant in Product.objects.filter(parent=tshirt)]
    path = write_csv(rows, header=["sku", "track_inventory"])
    outcome = product_import(path=path, file_name="f.csv", user=admin_user)
    assert outcome.job.updated_count == 6
    assert not tracked(tshirt)
    import_revert(job=outcome.job, user=admin_user)
    assert tracked(tshirt)


def test_the_not_tracked_filter_reads_the_products_own_row_not_its_variants(admin_client, tshirt):
    """The filter is a range of the (structure, track_inventory, has_tracked_variant) index: no
    subquery of each product's variants (at 1M sellable units it tested all 200k products with
    variants to find none)."""
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(PRODUCTS, {"inventory_status": "untracked"})
    assert response.status_code == 200
    listing = [query["sql"] for query in queries.captured_queries if "has_tracked_variant" in query["sql"]]
    assert listing, "the filter reads has_tracked_variant"
    assert not any(re.search(r"MIN\(|U0\.[`\"]?parent_id[`\"]? = ", sql) for sql in listing)


@pytest.mark.django_db(transaction=True)
def test_the_migration_says_which_products_have_a_tracked_variant():
    apps = migrate_to([("store", "0034_product_structure_tracked_index")])
    try:
        OldProduct, collection, shared = old_catalog(apps)
        kinds = {"TRACKED": (True, False), "UNTRACKED": (False, False), "BARE": ()}
        for sku, tracking in kinds.items():
            parent = OldProduct.objects.create(sku=sku, slug=sku, title=sku, unit_price=9, structure="parent", **shared)
            for number, track in enumerate(tracking):
                OldProduct.objects.create(
                    sku=f"{sku}-{number}",
                    title=str(number),
                    unit_price=9,
                    inventory=1,
                    track_inventory=track,
                    structure="variant",
                    parent=parent,
                    slug=None,
                    collection=None,
                    status=None,
                )
        OldProduct.objects.create(sku="MUG", slug="m", title="M", unit_price=5, collection=collection, inventory=3)
    finally:
        migrate_to_latest()
    flags = dict(Product.objects.filter(parent__isnull=True).values_list("sku", "has_tracked_variant"))
    assert flags == {"TRACKED": True, "UNTRACKED": False, "BARE": False, "MUG": False}
    assert variant_parents_out_of_step() == []
