"""Exports in Shopify's product CSV layout: one Handle per product, the product on its first row,
then a row per variant, images beside them and on image-only rows after them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.urls import reverse

from store.exports.shopify import SHOPIFY_HEADER, grams
from store.importing.service import product_import
from store.models import ExportJob, Product, ProductImage
from store.tests.exports.conftest import catalog_snapshot
from store.tests.factories import OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

EXPORT = "admin:store_product_export"
CHANGELIST = "admin:store_product_changelist"


def read_csv(content: bytes) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert not rows or tuple(rows[0]) == SHOPIFY_HEADER
    return rows


def filled(row: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in row.items() if value != ""}


def test_a_product_with_variants_is_one_handle_product_first_then_a_row_per_variant(admin_client, variants_catalog):
    response = admin_client.get(reverse(EXPORT), {"format": "shopify", "filters": "q=shirt"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="products-shopify-' in response["Content-Disposition"]
    rows = read_csv(response.content)
    assert [row["Handle"] for row in rows] == ["example-t-shirt"] * 6
    assert filled(rows[0]) == {
        "Handle": "example-t-shirt",
        "Title": "Example T-Shirt",
        "Body (HTML)": variants_catalog.description,
        "Vendor": "Acme",
        "Type": "Tees",
        "Published": "TRUE",
        "Option1 Name": "Colour",
        "Option1 Value": "Green",
        "Option2 Name": "Size",
        "Option2 Value": "S",
        "Variant SKU": "TS-GS",
        "Variant Grams": "200",
        "Variant Inventory Tracker": "shopify",
        "Variant Inventory Qty": "50",
        "Variant Price": "18.00",
        "Variant Barcode": "4006381333931",
        "Image Src": "https://cdn.example.com/green.png",
        "Image Position": "1",
        "SEO Title": "Tee",
        "Variant Image": "https://cdn.example.com/green.png",
        "Variant Weight Unit": "kg",
        "Status": "active",
    }
    # later rows: only the variant (and the next image)
    assert filled(rows[1]) == {
        "Handle": "example-t-shirt",
        "Option1 Value": "Green",
        "Option2 Value": "M",
        "Variant SKU": "TS-GM",
        "Variant Grams": "200",
        "Variant Inventory Tracker": "shopify",
        "Variant Inventory Qty": "50",
        "Variant Price": "18.00",
        "Image Src": "https://cdn.example.com/blue.png",
        "Image Position": "2",
        "Variant Image": "https://cdn.example.com/green.png",
        "Variant Weight Unit": "kg",
    }
    assert [(row["Option1 Value"], row["Option2 Value"], row["Variant Price"]) for row in rows[3:]] == [
        ("Blue", size, "24.00") for size in "SML"
    ]
    assert [row["Variant Image"] for row in rows[3:]] == ["", "", ""]


def test_a_product_without_variants_is_shopifys_default_title_and_extra_images_get_rows_of_their_own(admin_client):
    mug = ProductFactory(
        sku="MUG",
        slug="mug",
        title="Mug",
        compare_at_price=Decimal("25.00"),
        cost_per_item=Decimal("4.10"),
        weight=Decimal("1.500"),
        weight_unit="lb",
        track_inventory=False,
        seo_description="A mug",
    )
    Product.objects.filter(pk=mug.pk).update(status="draft")
    for position, alt in enumerate(("Front", "", "Side")):
        ProductImage.objects.create(
            product=mug,
            image=f"products/mug/{position}.png",
            source_url=f"https://cdn.example.com/mug-{position}.png",
            position=position,
            alt_text=alt,
        )
    rows = read_csv(admin_client.get(reverse(EXPORT), {"format": "shopify"}).content)
    assert len(rows) == 3
    first = filled(rows[0])
    assert {name: first[name] for name in ("Option1 Name", "Option1 Value", "Published", "Status")} == {
        "Option1 Name": "Title",
        "Option1 Value": "Default Title",
        "Published": "FALSE",
        "Status": "draft",
    }
    assert (first["Variant Compare At Price"], first["Cost per item"], first["SEO Description"]) == (
        "25.00",
        "4.10",
        "A mug",
    )
    assert (first["Variant Grams"], first["Variant Weight Unit"]) == ("680.389", "lb")
    assert "Variant Inventory Tracker" not in first  # its stock is not counted
    assert (first["Image Src"], first["Image Position"], first["Image Alt Text"]) == (
        "https://cdn.example.com/mug-0.png",
        "1",
        "Front",
    )
    assert [filled(row) for row in rows[1:]] == [
        {"Handle": "mug", "Image Src": "https://cdn.example.com/mug-1.png", "Image Position": "2"},
        {
            "Handle": "mug",
            "Image Src": "https://cdn.example.com/mug-2.png",
            "Image Position": "3",
            "Image Alt Text": "Side",
        },
    ]


def test_tags_are_shopifys_tags(admin_client, variants_catalog, tmp_path):
    path = tmp_path / "tags.csv"
    path.write_text('sku,tags\nTS,"cotton, Eco"\n')
    assert product_import(path=path, file_name=path.name).plan.errors == []
    rows = read_csv(admin_client.get(reverse(EXPORT), {"format": "shopify", "filters": "q=shirt"}).content)
    assert [row["Tags"] for row in rows] == ["cotton, Eco", "", "", "", "", ""]


@pytest.mark.parametrize(
    ("weight", "unit", "expected"),
    [
        (None, "kg", ""),
        (Decimal("0.000"), "kg", "0"),
        (Decimal("0.200"), "kg", "200"),
        (Decimal("0.125"), "g", "0.125"),
        (Decimal("1.500"), "lb", "680.389"),
        (Decimal("2.000"), "oz", "56.699"),
        (Decimal("9999999.999"), "kg", "9999999999"),
    ],
)
def test_weights_are_written_in_grams(weight, unit, expected):
    assert grams(weight, unit) == expected


def test_the_shopify_export_is_offered_for_products_only(admin_client, variants_catalog):
    OrderItemFactory()
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert 'class="export-link">Shopify CSV</a>' in page
    assert '<option value="export_selected_shopify">' in page
    orders = admin_client.get(reverse("admin:store_order_changelist")).content.decode()
    assert "Shopify CSV" not in orders
    assert "export_selected_shopify" not in orders
    # asked anyway: orders have no Shopify layout, their CSV is answered
    response = admin_client.get(reverse("admin:store_order_export"), {"format": "shopify"})
    assert response.content.decode().startswith("id,placed_at")
    assert 'filename="orders-2' in response["Content-Disposition"]


def test_export_selected_for_shopify(admin_client, variants_catalog):
    response = admin_client.post(
        reverse(CHANGELIST), {"action": "export_selected_shopify", "_selected_action": [variants_catalog.pk]}
    )
    assert [row["Variant SKU"] for row in read_csv(response.content)] == [f"TS-{c}{s}" for c in "GB" for s in "SML"]


def test_the_cli_writes_the_admins_shopify_file(admin_client, variants_catalog, tmp_path):
    out = io.StringIO()
    call_command("export_products", "--format", "shopify", "--output", str(tmp_path / "s.csv"), stdout=out)
    admin = admin_client.get(reverse(EXPORT), {"format": "shopify", "filters": "o=3"}).content
    assert (tmp_path / "s.csv").read_bytes() == admin
    assert "2 products (7 rows) written" in out.getvalue()


def test_a_large_shopify_export_is_a_job(admin_client, variants_catalog, settings):
    settings.EXPORT_INLINE_MAX_ROWS = 5
    admin_client.get(reverse(EXPORT), {"format": "shopify"})
    job = ExportJob.objects.get()
    assert (job.state, job.file_format, job.rows_done) == ("done", "shopify", 7)
    assert job.file.name.rsplit("/", 1)[-1].startswith("products-shopify-")
    assert str(job).endswith("(Shopify CSV)")
    with storages["private"].open(job.file.name, "rb") as stored:
        assert [row["Handle"] for row in read_csv(stored.read())] == ["example-t-shirt"] * 6 + ["mug"]


# --- round trip: Shopify's layout imports back (the Shopify preset) with no change -----------------
def test_a_shopify_export_imports_back_unchanged(admin_client, variants_catalog, tmp_path):
    mug = Product.objects.get(sku="MUG")
    for position, alt in enumerate(("Front", "", "Side")):
        ProductImage.objects.create(
            product=mug,
            image=f"products/mug/{position}.png",
            source_url=f"https://cdn.example.com/mug-{position}.png",
            position=position,
            alt_text=alt,
        )
    Product.objects.filter(pk=mug.pk).update(weight=Decimal("1.500"), weight_unit="lb", cost_per_item=Decimal("3"))
    before = catalog_snapshot()
    path = tmp_path / "shopify.csv"
    path.write_bytes(admin_client.get(reverse(EXPORT), {"format": "shopify"}).content)
    outcome = product_import(path=path, file_name=path.name)
    assert outcome.plan is not None, outcome.job.message
    assert outcome.plan.preset == "shopify"
    assert outcome.plan.errors == []
    assert [update.changes for update in outcome.plan.updates] == []
    assert (outcome.job.created_count, outcome.job.unchanged_count) == (0, 8)
    assert catalog_snapshot() == before
