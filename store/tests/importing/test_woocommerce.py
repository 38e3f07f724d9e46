"""WooCommerce and Shopify exports (issue 20 §3): a blank Stock with "In stock? = 1" is stock not
managed, not 0; a sale price never overwrites the regular price silently."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from store import selectors
from store.importing import presets
from store.importing.service import product_import
from store.models import ImportJob, Product, ProductImageSource
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db

REALWORLD = Path(settings.BASE_DIR).parent / "shared" / "realworld" / "woocommerce_sample_products.csv"
WOO = ["Type", "SKU", "Name", "Published", "In stock?", "Stock", "Sale price", "Regular price", "Categories"]


def run(path: Path, **kwargs):
    return product_import(path=path, file_name=path.name, **kwargs)


def stock(sku: str) -> tuple[bool, int, bool]:
    product = Product.objects.get(sku=sku)
    return product.track_inventory, product.inventory, product.in_stock


# --- Stock not managed ----------------------------------------------------------------------
@pytest.mark.skipif(not REALWORLD.exists(), reason=f"{REALWORLD} is absent")
def test_the_real_sample_imports_sellable_products_whose_stock_is_not_tracked():
    outcome = run(REALWORLD)
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.plan.errors
    assert outcome.job.created_count == 24
    assert not selectors.product_list_by_stock_status(status=selectors.STOCK_OUT).exists()
    # 24 rows: 2 products with variants (not sold themselves: never tracked), 9 variants, 13 products without
    assert selectors.product_list_by_stock_status(status=selectors.STOCK_UNTRACKED).count() == 24
    assert all(product.in_stock for product in Product.objects.exclude(structure="parent"))
    assert stock("cc-hoodie-red") == (False, 0, True)
    kpis = selectors.dashboard_catalog_kpis()
    assert (kpis["out_of_stock"], kpis["low_stock"]) == (0, 0)


def test_stock_and_in_stock_cells(write_csv):
    rows = [
        ["simple", "W-COUNTED", "Counted", "1", "1", "7", "", "10", "Hats"],
        ["simple", "W-FREE", "Not managed", "1", "1", "", "", "10", "Hats"],
        ["simple", "W-GONE", "Sold out", "1", "0", "", "", "10", "Hats"],
        ["simple", "W-LATER", "On backorder", "1", "backorder", "", "", "10", "Hats"],
    ]
    outcome = run(write_csv(rows, header=WOO))
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.plan.errors
    assert stock("W-COUNTED") == (True, 7, True)
    assert stock("W-FREE") == (False, 0, True)
    assert stock("W-GONE") == (True, 0, False)
    assert stock("W-LATER") == (False, 0, True)


def test_an_unknown_in_stock_value_is_a_row_error(write_csv):
    outcome = run(write_csv([["simple", "W-1", "One", "1", "maybe", "", "", "10", "Hats"]], header=WOO))
    assert [(e.row, e.column, e.value, e.reason) for e in outcome.plan.errors] == [
        (2, "In stock?", "maybe", presets.ERROR_WOO_IN_STOCK)
    ]
    assert not Product.objects.exists()


def test_stock_not_managed_keeps_an_existing_products_count(write_csv):
    product = ProductFactory(sku="W-1", title="One", unit_price=Decimal("10.00"), inventory=12)
    outcome = run(write_csv([["simple", "W-1", "One", "1", "1", "", "", "10.00", ""]], header=WOO))
    assert outcome.plan.updates[0].changes == {"track_inventory": ("yes", "no")}
    product.refresh_from_db()
    assert (product.track_inventory, product.inventory) == (False, 12)


def test_shopify_inventory_tracker(write_csv):
    header = ["Handle", "Title", "Variant SKU", "Variant Price", "Variant Inventory Qty", "Variant Inventory Tracker"]
    rows = [["tee", "Tee", "S-1", "9.00", "4", "shopify"], ["mug", "Mug", "S-2", "5.00", "", ""]]
    outcome = run(write_csv(rows, header=header))
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.plan.errors
    assert stock("S-1") == (True, 4, True)
    assert stock("S-2") == (False, 0, True)


def test_the_native_column_round_trips_and_refuses_other_words(write_csv):
    CollectionFactory(title="Hats")
    header = ["sku", "title", "unit_price", "inventory", "collection", "track_inventory"]
    path = write_csv([["N-1", "One", "5", "0", "Hats", "no"], ["N-2", "Two", "5", "0", "Hats", "yes"]], header=header)
    assert run(path).job.created_count == 2
    assert (stock("N-1"), stock("N-2")) == ((False, 0, True), (True, 0, False))
    again = run(
        write_csv([["N-1", "One", "5", "0", "Hats", "NO"], ["N-2", "Two", "5", "0", "Hats", ""]], header=header)
    )
    assert again.job.unchanged_count == 2
    bad = run(write_csv([["N-1", "One", "5", "0", "Hats", "perhaps"]], header=header))
    assert [(e.column, e.value, e.reason) for e in bad.plan.errors] == [
        ("track_inventory", "perhaps", "expected yes or no (also true/false, 1/0)")
    ]


# --- The catalog reads it ----------------------------------------------------------------------
def test_a_product_whose_stock_is_not_tracked_is_never_out_of_stock(admin_client, client, django_user_model):
    ProductFactory(sku="FREE", inventory=0, track_inventory=False)
    ProductFactory(sku="GONE", inventory=0)
    page = admin_client.get("/admin/store/product/").content.decode()
    assert '<span class="stock-badge stock-untracked">Not tracked</span>' in page
    untracked = admin_client.get("/admin/store/product/", {"inventory_status": "untracked"})
    assert [p.sku for p in untracked.context["cl"].result_list] == ["FREE"]
    out = admin_client.get("/admin/store/product/", {"inventory_status": "out"})
    assert [p.sku for p in out.context["cl"].result_list] == ["GONE"]
    assert [p.sku for p in selectors.product_list_in_stock(in_stock=True)] == ["FREE"]
    assert [p.sku for p in selectors.product_list_in_stock(in_stock=False)] == ["GONE"]
    assert not selectors.product_list_inventory_below(below=5).filter(sku="FREE").exists()


def test_a_column_the_export_does_not_have_leaves_the_product_alone(write_csv):
    """A WooCommerce or Shopify file without Description, Tags or Published columns clears nothing."""
    product = ProductFactory(sku="W-1", title="One", description="Kept words", unit_price=Decimal("10.00"))
    woo = run(write_csv([["simple", "W-1", "One", "1", "", "4", "", "10.00", ""]], header=WOO))
    assert woo.plan.updates[0].changes == {"inventory": (str(product.inventory), "4")}
    header = ["Handle", "Title", "Variant SKU", "Variant Price", "Variant Inventory Qty"]
    shopify = run(write_csv([["one", "One", "W-1", "10.00", "5"]], header=header))
    assert shopify.plan.updates[0].changes == {"inventory": ("4", "5")}
    product.refresh_from_db()
    assert (product.description, product.status) == ("Kept words", "active")


# --- Sale prices ---------------------------------------------------------------------------------
def test_a_sale_price_never_overwrites_the_regular_price_and_is_listed(write_csv):
    rows = [
        ["simple", "W-SALE", "On sale", "1", "", "3", "15.00", "18.00", "Hats"],
        ["simple", "W-FULL", "Full price", "1", "", "3", "", "20.00", "Hats"],
        ["simple", "W-ONLY", "Sale only", "1", "", "3", "9.00", "", "Hats"],
    ]
    outcome = run(write_csv(rows, header=WOO), skip_invalid=True)
    assert outcome.job.status == ImportJob.STATUS_PARTIAL
    assert dict(Product.objects.values_list("sku", "unit_price")) == {
        "W-SALE": Decimal("18.00"),
        "W-FULL": Decimal("20.00"),
    }
    assert [(e.row, e.column, e.value, e.reason) for e in outcome.plan.errors] == [
        (4, "Regular price", "", presets.ERROR_NO_PRICE)
    ]
    assert f"Sale price not imported on 2 row(s) (2, 4): {presets.WHY_SALE_PRICE}" in outcome.plan.notes


@pytest.mark.skipif(not REALWORLD.exists(), reason=f"{REALWORLD} is absent")
def test_the_real_sample_lists_its_sale_prices():
    outcome = run(REALWORLD)
    assert Product.objects.get(sku="cc-beanie").unit_price == Decimal("20.00")  # Sale price 18
    assert Product.objects.get(sku="cc-hoodie-red").unit_price == Decimal("45.00")  # Sale price 42
    assert any(note.startswith("Sale price not imported on 6 row(s)") for note in outcome.plan.notes)


# --- Ignored columns are listed, as mapped files list theirs ----------------------------------------
def test_a_shopify_export_lists_the_columns_it_does_not_import(write_csv):
    header = [
        "Handle",
        "Title",
        "Vendor",
        "Variant SKU",
        "Variant Price",
        "Variant Compare At Price",
        "Variant Barcode",
        "SEO Title",
        "Option1 Name",
        "Option1 Value",
    ]
    row = ["tee", "Tee", "Acme", "S-1", "9.00", "12.00", "4006381333931", "Tee | Acme", "Size", "M"]
    outcome = run(write_csv([row], header=header))
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.plan.errors
    # each of these columns is kept now (issue 21): none is listed as ignored
    assert not [note for note in outcome.plan.notes if note.startswith("Ignored columns")]
    variant = Product.objects.get(sku="S-1")
    assert (variant.title, variant.compare_at_price, variant.barcode) == ("M", Decimal("12.00"), "4006381333931")
    assert (variant.parent.vendor, variant.parent.seo_title, variant.parent.option_names) == (
        "Acme",
        "Tee | Acme",
        ["Size"],
    )


def test_the_shopify_fixture_lists_vendor_and_published():
    outcome = run(Path(__file__).parents[1] / "data" / "shopify_small.csv", skip_invalid=True)
    assert "Ignored columns: Published" in outcome.plan.notes


@pytest.mark.skipif(not REALWORLD.exists(), reason=f"{REALWORLD} is absent")
def test_the_real_woocommerce_sample_lists_the_columns_it_does_not_import():
    outcome = run(REALWORLD)
    [note] = [note for note in outcome.plan.notes if note.startswith("Ignored columns: ")]
    ignored = note.removeprefix("Ignored columns: ").split(", ")
    assert ignored[:6] == [
        "Is featured?",
        "Visibility in catalog",
        "Short description",
        "Date sale price starts",
        "Date sale price ends",
        "Tax status",
    ]
    assert {"Sale price", "Length (cm)", "Download 1 URL"} <= set(ignored)
    assert "Weight (kg)" not in ignored  # the weight, in kg
    # a variable product's attributes are its options
    assert not {"Attribute 1 name", "Attribute 1 value(s)", "Attribute 2 name"} & set(ignored)
    assert not {"SKU", "Name", "Regular price", "Stock", "In stock?", "Type", "Parent", "ID"} & set(ignored)


def test_the_admin_preview_shows_the_ignored_columns(admin_client, write_csv):
    header = ["Handle", "Title", "Gift Card", "Variant SKU", "Variant Price"]
    path = write_csv([["tee", "Tee", "FALSE", "S-1", "9.00"]], header=header)
    with path.open("rb") as handle:
        upload = SimpleUploadedFile(path.name, handle.read())
    response = admin_client.post("/admin/store/product/import/", {"preset": "auto", "encoding": "", "file": upload})
    html = admin_client.get(response.url).content.decode()
    assert '<p class="import-note">Ignored columns: Gift Card</p>' in html


# --- Variable products and their variations ---------------------------------------------------------
@pytest.mark.skipif(not REALWORLD.exists(), reason=f"{REALWORLD} is absent")
def test_the_real_sample_imports_its_variable_products_with_their_variations():
    outcome = run(REALWORLD)
    assert (outcome.job.rows_total, outcome.job.created_count, outcome.plan.skipped, outcome.plan.errors) == (
        24,
        24,
        [],
        [],
    )
    hoodie = Product.objects.get(sku="cc-hoodie")
    assert (hoodie.structure, hoodie.option_names, hoodie.collection.title) == (
        "parent",
        ["Color", "Logo"],
        "Clothing > Hoodies",
    )
    assert hoodie.unit_price == Decimal("45.00")  # its lowest variant's price
    assert sorted((v.sku, v.title, tuple(v.option_values)) for v in hoodie.variants.all()) == [
        ("cc-hoodie-blue", "Blue / No", ("Blue", "No")),
        ("cc-hoodie-blue-logo", "Blue / Yes", ("Blue", "Yes")),
        ("cc-hoodie-green", "Green / No", ("Green", "No")),
        ("cc-hoodie-green-logo", "Green / Yes", ("Green", "Yes")),
        ("cc-hoodie-red", "Red / No", ("Red", "No")),
        ("cc-hoodie-red-logo", "Red / Yes", ("Red", "Yes")),
    ]
    # the T-shirt's variations name a Color only (Size: "any size" is not a variant here): one option
    tee = Product.objects.get(sku="cc-tee")
    assert tee.option_names == ["Color"]
    assert sorted(tee.variants.values_list("option1", "unit_price")) == [
        ("Blue", Decimal("25.00")),
        ("Green", Decimal("25.00")),
        ("Red", Decimal("25.00")),
    ]
    # the variations' own images are their product's images (stored once), and each variant's image
    urls = list(ProductImageSource.objects.filter(product=hoodie).order_by("position").values_list("url", flat=True))
    assert len(urls) == len(set(urls)) == 7  # its 4 images and the 3 "with logo" variations' own
    red_logo = Product.objects.get(sku="cc-hoodie-red-logo")
    assert ProductImageSource.objects.get(product=red_logo).url.endswith("hoodie-no-pocket-red-with-logo.png")
    # the grouped product: a draft at the lowest price it groups; the external one: a draft at its price
    assert Product.objects.filter(sku="cc-logo-collection").values_list(
        "status", "unit_price", "track_inventory"
    ).get() == (
        "draft",
        Decimal("18.00"),
        False,
    )
    assert Product.objects.filter(sku="cp-donation").values_list("status", "unit_price").get() == (
        "draft",
        Decimal("30.00"),
    )
    again = run(REALWORLD)
    assert (again.job.created_count, again.job.updated_count, again.job.unchanged_count) == (0, 0, 24)


WOO_WEIGHED = ["ID", "Type", "SKU", "Name", "Parent", "Regular price", "GTIN, UPC, EAN, or ISBN", "Weight (lbs)",
               "Attribute 1 name", "Attribute 1 value(s)"]  # fmt: skip


def test_weights_in_the_shops_unit_and_gtins_are_kept_and_other_codes_listed(write_csv):
    rows = [
        ["1", "simple", "MUG", "Mug", "", "8", "4006381333931", "0.75", "", ""],
        ["2", "simple", "BOOK", "Book", "", "12", "0-306-40615-2", "1.2", "", ""],  # an ISBN-10: no GTIN
        ["3", "variable", "TEE", "Tee", "", "", "4006381333948", "0.4", "Size", "S, XL"],
        ["4", "variation", "TEE-S", "Tee - S", "TEE", "10", "96385074", "", "Size", "S"],  # the Tee's weight
        ["5", "variation", "TEE-XL", "Tee - XL", "id:3", "12", "", "0.5", "Size", "XL"],
    ]
    outcome = run(write_csv(rows, header=WOO_WEIGHED))
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.plan.errors
    weighed = Product.objects.order_by("sku").values_list("sku", "weight", "weight_unit", "barcode")
    assert list(weighed) == [
        ("BOOK", Decimal("1.200"), "lb", ""),
        ("MUG", Decimal("0.750"), "lb", "4006381333931"),
        ("TEE", None, "kg", ""),  # the model's default unit: it has no weight of its own
        ("TEE-S", Decimal("0.400"), "lb", "96385074"),
        ("TEE-XL", Decimal("0.500"), "lb", ""),
    ]
    assert f"GTIN, UPC, EAN, or ISBN not imported on 1 row(s) (3): {presets.WHY_BARCODE}" in outcome.plan.notes
    assert f"GTIN, UPC, EAN, or ISBN not imported on 1 row(s) (4): {presets.WHY_PARENT_BARCODE}" in outcome.plan.notes
    assert not [note for note in outcome.plan.notes if note.startswith("Ignored columns")]


def test_a_weight_column_in_a_unit_this_store_does_not_have_is_listed_not_imported(write_csv):
    header = ["Type", "SKU", "Name", "Regular price", "Weight (stone)"]
    outcome = run(write_csv([["simple", "ROCK", "Rock", "5", "2"]], header=header))
    assert Product.objects.get(sku="ROCK").weight is None
    assert "Ignored columns: Weight (stone)" in outcome.plan.notes


WOO_VARIABLE = [
    "ID", "Type", "SKU", "Name", "Parent", "Regular price", "Stock", "Categories", "Images",
    "Attribute 1 name", "Attribute 1 value(s)", "Attribute 2 name", "Attribute 2 value(s)",
]  # fmt: skip


def test_variations_name_their_product_by_id_and_an_any_value_variation_is_refused(write_csv):
    rows = [
        ["5", "variation", "V-S", "Tee - S", "id:1", "10", "3", "", "", "Size", "S", "Colour", "Red"],
        ["1", "variable", "V", "Tee", "", "", "", "Shirts", "https://x.example/a.png", "Size", "S, M", "Colour", "Red"],
        ["6", "variation", "V-M", "Tee - M", "V", "12", "", "", "https://x.example/m.png", "Size", "M", "Colour", ""],
    ]
    outcome = run(write_csv(rows, header=WOO_VARIABLE), skip_invalid=True)
    assert [(e.row, e.column, e.value, e.reason) for e in outcome.plan.errors] == [
        (4, "Attribute 2 value(s)", "", presets.ERROR_WOO_ANY.format(name="Colour"))
    ]
    tee = Product.objects.get(sku="V")
    assert (tee.option_names, tee.unit_price, tee.inventory) == (["Size", "Colour"], Decimal("10.00"), 0)
    assert Product.objects.filter(sku="V-S").values_list("parent__sku", "option1", "option2", "inventory").get() == (
        "V",
        "S",
        "Red",
        3,
    )
