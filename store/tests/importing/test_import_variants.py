"""Products with variants in the native format: a variant row names its product (``product``, the
product's SKU) and its option values; the product's row gives its option names (docs/guide/imports.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from store.fileformat.columns import url_hash
from store.images.fetch import variant_image_links
from store.importing import variants as rules
from store.importing.modes import ERROR_NOT_IN_CATALOG, MODE_CREATE_ONLY, MODE_UPDATE_ONLY, ImportMode
from store.importing.revert import WHY_CHANGED, WHY_VARIANTS_KEPT, import_revert, import_revert_preview
from store.importing.service import product_import
from store.models import Collection, Order, OrderItem, Product, ProductImage, ProductImageSource
from store.search.selectors import product_search
from store.tests.factories import CustomerFactory, ProductFactory
from store.variants.services import ERROR_OPTIONS_RENAMED, ERROR_OPTIONS_SOLD

pytestmark = pytest.mark.django_db

HEADER = [
    "sku",
    "title",
    "unit_price",
    "inventory",
    "collection",
    "description",
    "images",
    "barcode",
    "product",
    "option1_name",
    "option2_name",
    "option1",
    "option2",
    "variant_image",
]
GREEN = "https://img.example.com/tee-green.png"
BLUE = "https://img.example.com/tee-blue.png"
TEE = {
    "sku": "TEE",
    "title": "T-shirt",
    "collection": "Shirts",
    "description": "Soft cotton.",
    "images": f"{GREEN}|{BLUE}",
    "option1_name": "Colour",
    "option2_name": "Size",
}


def variant(sku: str, colour: str, size: str, **cells: str) -> dict[str, str]:
    return {
        "sku": sku,
        "product": "TEE",
        "option1": colour,
        "option2": size,
        "unit_price": "20.00",
        "inventory": "5",
    } | cells


def errors(outcome) -> list[tuple[int, str, str, str]]:
    return [(error.row, error.column, error.value, error.reason) for error in outcome.plan.errors]


def test_a_product_and_its_variants_import_as_one_product_with_variants(write_csv):
    rows = [
        variant("TEE-GS", "Green", "S", variant_image=GREEN),  # before its product: any order
        TEE,
        variant("TEE-GM", "Green", "M", unit_price="22.00", barcode="4006381333931"),
        variant("TEE-BS", "Blue", "S", title="Blue small"),
    ]
    outcome = product_import(path=write_csv(rows, header=HEADER), file_name="tee.csv")
    assert errors(outcome) == []
    assert outcome.job.created_count == 4
    tee = Product.objects.get(sku="TEE")
    assert (tee.structure, tee.option_names, tee.inventory, tee.track_inventory) == (
        "parent",
        ["Colour", "Size"],
        0,
        False,
    )
    assert tee.unit_price == Decimal("20.00")  # its lowest variant's price: it is not sold itself
    assert (tee.collection.title, tee.description, tee.slug) == ("Shirts", "Soft cotton.", "t-shirt")
    found = {
        v.sku: (v.title, v.option_values, v.unit_price, v.inventory, v.barcode, v.slug, v.collection_id, v.status)
        for v in tee.variants.all()
    }
    assert found == {
        "TEE-GS": ("Green / S", ["Green", "S"], Decimal("20.00"), 5, "", None, None, None),
        "TEE-GM": ("Green / M", ["Green", "M"], Decimal("22.00"), 5, "4006381333931", None, None, None),
        "TEE-BS": ("Blue small", ["Blue", "S"], Decimal("20.00"), 5, "", None, None, None),
    }
    # the images are the product's, once; the variant's image waits for its fetch
    assert sorted(ProductImageSource.objects.filter(product=tee).values_list("url", flat=True)) == [BLUE, GREEN]
    green = Product.objects.get(sku="TEE-GS")
    assert list(ProductImageSource.objects.filter(product=green).values_list("url", "state")) == [(GREEN, "done")]
    # the product is found by its variants' SKUs and option values
    products = Product.objects.exclude(structure="variant")
    assert list(product_search(term="TEE-GM", queryset=products).values_list("pk", flat=True)) == [tee.pk]
    assert tee.pk in product_search(term="Blue").values_list("pk", flat=True)
    assert Product.history.filter(sku="TEE-GM", history_type="+").count() == 1


def test_a_variant_image_already_fetched_is_set_and_one_fetched_later_is_linked(write_csv, settings):
    tee = ProductFactory(
        sku="TEE", structure="parent", option1_name="Colour", option2_name="Size", inventory=0, track_inventory=False
    )
    image = ProductImage.objects.create(product=tee, image="products/g.png", source_url=GREEN)
    rows = [variant("TEE-GS", "Green", "S", variant_image=GREEN), variant("TEE-BS", "Blue", "S", variant_image=BLUE)]
    outcome = product_import(
        path=write_csv(
            [{**TEE, "images": BLUE, "title": tee.title, "collection": tee.collection.title}, *rows], header=HEADER
        ),
        file_name="tee.csv",
    )
    assert errors(outcome) == []
    assert Product.objects.get(sku="TEE-GS").variant_image == image
    blue = Product.objects.get(sku="TEE-BS")
    assert blue.variant_image is None
    # the product's image of that URL is fetched: the variant gets it
    fetched = ProductImage.objects.create(product=tee, image="products/b.png", source_url=BLUE)
    assert variant_image_links(image=fetched, url_hash_value=url_hash(BLUE)) == 1
    blue.refresh_from_db()
    assert blue.variant_image == fetched


def test_a_variant_row_leaves_what_its_product_shares_blank_and_a_product_row_its_price(write_csv):
    rows = [
        TEE,
        variant("TEE-GS", "Green", "S", collection="Hats", description="x"),
        {**TEE, "sku": "CAP", "title": "Cap", "option1_name": "Size", "option2_name": "", "unit_price": "9.00"},
    ]
    outcome = product_import(path=write_csv(rows, header=HEADER), file_name="f.csv")
    assert errors(outcome) == [
        (3, "collection", "Hats", rules.ERROR_SHARED_ON_VARIANT),
        (3, "description", "x", rules.ERROR_SHARED_ON_VARIANT),
        (4, "unit_price", "9.00", rules.ERROR_UNIT_ON_PARENT),
    ]


def test_unknown_products_option_counts_and_repeated_combinations_are_row_errors(write_csv):
    ProductFactory(sku="MUG", title="Mug")
    rows = [
        TEE,
        variant("TEE-GS", "Green", "S"),
        variant("TEE-GS2", "green", "s"),
        variant("TEE-G", "Green", ""),
        variant("X-1", "Red", "S", product="NOPE"),
        variant("MUG-1", "Red", "S", product="MUG"),
        {"sku": "LOOSE", "title": "Loose", "unit_price": "1", "inventory": "1", "collection": "C", "option1": "Red"},
    ]
    outcome = product_import(path=write_csv(rows, header=HEADER), file_name="f.csv")
    assert errors(outcome) == [
        (
            4,
            "option1",
            "green / s",
            rules.ERROR_COMBINATION_TAKEN.format(label="green / s", sku="TEE-GS", parent="TEE"),
        ),
        (5, "option1", "Green", rules.ERROR_OPTION_VALUES.format(sku="TEE", count=2, names="Colour, Size")),
        (6, "product", "NOPE", rules.ERROR_PARENT_UNKNOWN.format(sku="NOPE")),
        (7, "product", "MUG", rules.ERROR_PARENT_STANDALONE.format(sku="MUG")),
        (8, "option1", "Red", rules.ERROR_VARIANT_ONLY),
    ]


def test_variants_of_a_product_whose_row_fails_fail_too(write_csv):
    rows = [{**TEE, "collection": ""}, variant("TEE-GS", "Green", "S")]
    outcome = product_import(path=write_csv(rows, header=HEADER), file_name="f.csv")
    assert [(row, column) for row, column, _value, _reason in errors(outcome)] == [(2, "collection"), (3, "product")]
    assert errors(outcome)[1][3] == rules.ERROR_PARENT_FAILED.format(sku="TEE", row=2)
    assert not Product.objects.exists()


def test_a_product_never_sold_gets_variants_and_a_sold_one_is_refused(write_csv):
    shirts = Collection.objects.create(title="Shirts")
    ProductFactory(sku="TEE", title="T-shirt", collection=shirts, inventory=7)
    sold = ProductFactory(sku="CAP", title="Cap", collection=shirts)
    order = Order.objects.create(customer=CustomerFactory())
    OrderItem.objects.create(order=order, product=sold, quantity=1, unit_price=sold.unit_price)
    rows = [
        {"sku": "TEE", "title": "T-shirt", "option1_name": "Colour", "option2_name": "Size"},
        variant("TEE-GS", "Green", "S"),
        {"sku": "CAP", "title": "Cap", "option1_name": "Size"},
        {"sku": "CAP-S", "product": "CAP", "option1": "S", "unit_price": "5", "inventory": "1"},
    ]
    outcome = product_import(path=write_csv(rows, header=HEADER), file_name="f.csv", skip_invalid=True)
    assert errors(outcome) == [
        (4, "option1_name", "Size", ERROR_OPTIONS_SOLD.format(order=order.pk)),
        (5, "product", "CAP", rules.ERROR_PARENT_FAILED.format(sku="CAP", row=4)),
    ]
    tee = Product.objects.get(sku="TEE")
    assert (tee.structure, tee.inventory, tee.track_inventory, tee.option_names) == (
        "parent",
        0,
        False,
        ["Colour", "Size"],
    )
    assert Product.objects.get(sku="CAP").structure == "standalone"
    # and the revert puts the product back as it was sold, without variants
    import_revert(job=outcome.job)
    tee.refresh_from_db()
    assert (tee.structure, tee.inventory, tee.track_inventory, tee.option_names) == ("standalone", 7, True, [])
    assert not Product.objects.filter(sku="TEE-GS").exists()


def test_an_existing_product_with_variants_keeps_its_options_and_its_variants_are_updated(write_csv):
    tee = ProductFactory(
        sku="TEE", structure="parent", option1_name="Colour", option2_name="Size", inventory=0, track_inventory=False
    )
    green = Product.objects.create(
        structure="variant", parent=tee, sku="TEE-GS", title="Green / S", option1="Green", option2="S",
        unit_price=Decimal("20.00"), inventory=5, slug=None, collection=None, status=None,
    )  # fmt: skip
    header = ["sku", "unit_price", "inventory", "option1", "option2", "product", "option1_name", "option2_name"]
    rows = [
        {"sku": "TEE-GS", "unit_price": "21.00", "option1": "Lime", "option2": "S"},  # its product from the catalog
        {"sku": "TEE-BS", "product": "TEE", "option1": "Blue", "option2": "S", "unit_price": "20", "inventory": "2"},
        {"sku": "TEE", "option1_name": "Size", "option2_name": "Colour"},
    ]
    outcome = product_import(path=write_csv(rows, header=header), file_name="f.csv")
    failed = rules.ERROR_PARENT_FAILED.format(sku="TEE", row=4)
    assert errors(outcome) == [
        (2, "product", "TEE", failed),
        (3, "product", "TEE", failed),
        (4, "option1_name", "Size / Colour", ERROR_OPTIONS_RENAMED.format(names="Colour, Size")),
    ]
    outcome = product_import(path=write_csv(rows[:2], header=header), file_name="f.csv")
    assert errors(outcome) == []
    green.refresh_from_db()
    assert (green.unit_price, green.title, green.option_values, green.version) == (
        Decimal("21.00"),
        "Lime / S",
        ["Lime", "S"],
        2,
    )
    assert Product.objects.filter(sku="TEE-BS").exists()


def test_a_file_without_variant_columns_updates_a_variant_and_refuses_shared_values_on_it(write_csv):
    tee = ProductFactory(sku="TEE", structure="parent", option1_name="Colour", inventory=0, track_inventory=False)
    Product.objects.create(
        structure="variant", parent=tee, sku="TEE-G", title="Green", option1="Green",
        unit_price=Decimal("20.00"), inventory=5, slug=None, collection=None, status=None,
    )  # fmt: skip
    path = write_csv(
        [{"sku": "TEE-G", "unit_price": "25.00", "inventory": "9"}], header=["sku", "unit_price", "inventory"]
    )
    outcome = product_import(path=path, file_name="feed.csv")
    assert errors(outcome) == []
    assert Product.objects.filter(sku="TEE-G").values_list("unit_price", "inventory").get() == (Decimal("25.00"), 9)
    path = write_csv([{"sku": "TEE-G", "title": "Green", "collection": "Hats"}], header=["sku", "title", "collection"])
    outcome = product_import(path=path, file_name="f.csv")
    assert errors(outcome) == [(2, "collection", "Hats", rules.ERROR_SHARED_ON_VARIANT)]
    # a product with variants is not sold itself: a stock feed cannot give it stock
    path = write_csv([{"sku": "TEE", "inventory": "9"}], header=["sku", "inventory"])
    assert errors(product_import(path=path, file_name="f.csv")) == [(2, "inventory", "9", rules.ERROR_UNIT_ON_PARENT)]


def test_modes_apply_to_variant_rows(write_csv):
    rows = [TEE, variant("TEE-GS", "Green", "S")]
    path = write_csv(rows, header=HEADER)
    outcome = product_import(path=path, file_name="f.csv", mode=ImportMode(mode=MODE_UPDATE_ONLY))
    assert [(e.row, e.reason) for e in outcome.plan.errors] == [
        (2, ERROR_NOT_IN_CATALOG),
        (3, ERROR_NOT_IN_CATALOG),
    ]
    product_import(path=path, file_name="f.csv")
    rows = [TEE, variant("TEE-GS", "Green", "S", unit_price="30"), variant("TEE-GM", "Green", "M")]
    outcome = product_import(
        path=write_csv(rows, header=HEADER), file_name="f.csv", mode=ImportMode(mode=MODE_CREATE_ONLY)
    )
    assert errors(outcome) == []
    assert [row for row, _reason in outcome.plan.skipped] == [2, 3]
    assert Product.objects.get(sku="TEE-GS").unit_price == Decimal("20.00")
    assert Product.objects.get(sku="TEE-GM").parent.sku == "TEE"


def test_a_blank_cell_keeps_the_value_of_a_variant_row(write_csv):
    product_import(
        path=write_csv([TEE, variant("TEE-GS", "Green", "S", barcode="4006381333931")], header=HEADER),
        file_name="f.csv",
    )
    rows = [variant("TEE-GS", "", "", unit_price="30", inventory="", barcode="")]
    outcome = product_import(path=write_csv(rows, header=HEADER), file_name="f.csv", mode=ImportMode(keep_blank=True))
    assert errors(outcome) == []
    green = Product.objects.get(sku="TEE-GS")
    assert (green.unit_price, green.inventory, green.barcode, green.option_values) == (
        Decimal("30.00"), 5, "4006381333931", ["Green", "S"],
    )  # fmt: skip


def test_reverting_an_import_that_added_a_product_with_variants_removes_them(write_csv):
    rows = [TEE, variant("TEE-GS", "Green", "S"), variant("TEE-GM", "Green", "M")]
    outcome = product_import(path=write_csv(rows, header=HEADER), file_name="f.csv")
    assert Product.objects.count() == 3
    rows = [variant("TEE-GS", "Green", "S", unit_price="30"), variant("TEE-BS", "Blue", "S")]
    second = product_import(path=write_csv(rows, header=HEADER), file_name="g.csv")
    assert errors(second) == []
    import_revert(job=second.job)
    assert set(Product.objects.values_list("sku", "unit_price")) == {
        ("TEE", Decimal("20.00")),
        ("TEE-GS", Decimal("20.00")),
        ("TEE-GM", Decimal("20.00")),
    }
    # TEE-GS changed since the first import (the second and its revert): it is kept, and so its product
    preview = import_revert_preview(job=outcome.job)
    report = import_revert(job=outcome.job).report
    assert (report.delete, report.kept) == (1, 2)
    assert [item.why for item in report.kept_items] == [WHY_CHANGED, WHY_VARIANTS_KEPT]
    # The preview said so before: it does not offer to delete the product that stays.
    assert (preview.delete, preview.kept) == (1, 2)
    assert [(item.sku, item.why) for item in preview.kept_items] == [(i.sku, i.why) for i in report.kept_items]
    assert [item.sku for item in preview.sample] == [item.sku for item in report.sample] == ["TEE-GM"]
    assert set(Product.objects.values_list("sku", flat=True)) == {"TEE", "TEE-GS"}


def test_reverting_the_new_variants_of_a_kept_product_sends_it_again_and_unfinds_their_skus(write_csv):
    """The revert deletes the variants an import added to a product that stays: the product's
    ``last_update`` moves, as when a variant is removed in the admin, so the API's sync feed sends
    it again without them; and its variants' SKUs no longer find it."""
    product_import(path=write_csv([TEE, variant("TEE-GS", "Green", "S")], header=HEADER), file_name="f.csv")
    second = product_import(path=write_csv([variant("TEE-BS", "Blue", "S")], header=HEADER), file_name="g.csv")
    assert errors(second) == []
    assert list(product_search(term="TEE-BS", queryset=Product.objects.filter(parent=None))) == [
        Product.objects.get(sku="TEE")
    ]
    before = Product.objects.get(sku="TEE").last_update

    import_revert(job=second.job)

    tee = Product.objects.get(sku="TEE")
    assert list(tee.variants.values_list("sku", flat=True)) == ["TEE-GS"]
    assert tee.last_update > before
    assert not product_search(term="TEE-BS", queryset=Product.objects.filter(parent=None)).exists()


def test_reverting_a_new_product_with_variants_deletes_it_whole(write_csv):
    rows = [variant("TEE-GS", "Green", "S"), TEE, variant("TEE-GM", "Green", "M")]
    outcome = product_import(path=write_csv(rows, header=HEADER), file_name="f.csv")
    report = import_revert(job=outcome.job).report
    assert (report.delete, report.kept) == (3, 0)
    assert not Product.objects.exists()


def test_planning_a_variant_file_makes_a_bounded_number_of_queries(write_csv, django_assert_max_num_queries):
    rows = [TEE]
    for n in range(300):
        rows.append(variant(f"TEE-{n}", f"C{n}", "S", variant_image=GREEN if n % 2 else ""))
    path = write_csv(rows, header=HEADER)
    with django_assert_max_num_queries(60):
        outcome = product_import(path=path, file_name="f.csv")
    assert errors(outcome) == []
    assert Product.objects.get(sku="TEE").variants.count() == 300
    rows = [{**row, "unit_price": "30"} if row.get("product") else row for row in rows]
    with django_assert_max_num_queries(60):
        outcome = product_import(path=write_csv(rows, header=HEADER), file_name="f.csv")
    assert (errors(outcome), outcome.job.updated_count) == ([], 300)


def test_the_preview_lists_each_products_variants_under_it(admin_client, write_csv):
    rows = [
        variant("TEE-GS", "Green", "S"),
        {"sku": "MUG", "title": "Mug", "unit_price": "5", "inventory": "1", "collection": "Mugs"},
        TEE,
        variant("TEE-GM", "Green", "M"),
    ]
    path = write_csv(rows, header=HEADER)
    response = admin_client.post(
        reverse("admin:store_product_import"),
        {"preset": "auto", "file": SimpleUploadedFile("tee.csv", path.read_bytes())},
    )
    assert response.status_code == 302
    html = admin_client.get(response.url).content.decode()
    table = html[html.index('id="import-changes"') :]
    order = [sku for sku in ("TEE-GS", "TEE-GM", "MUG", "TEE") if f"{sku} <span" in table]
    positions = sorted(order, key=lambda sku: table.index(f"{sku} <span"))
    # the product's line comes where its group starts (row 2), its variants beneath it, indented
    assert positions == ["TEE", "TEE-GS", "TEE-GM", "MUG"]
    assert table.count('<tr class="import-variant">') == 2
    assert '<span class="import-variant-of" title="variant of TEE">↳</span> TEE-GS' in table
