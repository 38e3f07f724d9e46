"""No internal names in the admin: jobs, bulk edits, imports, order lines and the API root are
named in words, never by model labels, action names, option records (JSON) or ids."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from store.bulk.actions import PRICE_RAISE_PCT, get_bulk_action
from store.bulk.apply import bulk_edit_apply
from store.models import BulkEdit, ExportJob, Order, OrderItem, Product
from store.tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_an_export_job_is_named_by_what_and_the_format_not_the_model_label(admin_client, admin_user):
    job = ExportJob.objects.create(
        requested_by=admin_user, model_label="store.product", file_format="csv", filters="status__exact=active"
    )
    bom = ExportJob.objects.create(
        requested_by=admin_user, model_label="store.product", file_format="csv", excel_bom=True
    )
    assert (str(job), str(bom)) == (
        f"Export #{job.pk} of products (CSV)",
        f"Export #{bom.pk} of products (CSV for Excel)",
    )

    page = admin_client.get(reverse("admin:store_exportjob_change", args=[job.pk])).content.decode()
    listing = admin_client.get(reverse("admin:store_exportjob_changelist")).content.decode()

    assert "store.product" not in page + listing
    assert "status__exact=active</td>" not in page  # the filters are a link to the list, not the query string
    assert f'href="{reverse("admin:store_product_changelist")}?status__exact=active"' in page


def test_a_bulk_edit_page_shows_what_it_did_not_its_action_name_or_json(admin_client, admin_user):
    product = ProductFactory(unit_price="10.00")
    edit = bulk_edit_apply(
        action=get_bulk_action("change_price"),
        products=Product.objects.filter(pk=product.pk),
        parameters={"mode": PRICE_RAISE_PCT, "amount": "10", "ending": ""},
        user=admin_user,
    )

    page = admin_client.get(reverse("admin:store_bulkedit_change", args=[edit.pk])).content.decode()
    listing = admin_client.get(reverse("admin:store_bulkedit_changelist")).content.decode()

    assert "raise price 10%" in page
    assert "change_price" not in page
    assert "raise_pct" not in page
    assert "skip_refused" not in page
    assert ">Change price</a>" in listing  # the action filter, named as the action menu names it
    assert (
        admin_client.get(reverse("admin:store_bulkedit_changelist"), {"action": "change_price"})
        .context["cl"]
        .result_list[0]
        == BulkEdit.objects.get()
    )


def test_an_import_page_says_its_settings_and_mapping_in_words(admin_client, admin_user, tmp_path):
    ProductFactory(sku="SUP-1")
    path = tmp_path / "supplier.csv"
    path.write_text("Article No,Designation,Retail Price,Qty\nSUP-1,Lamp,12.50,7\n")
    call_command(
        "import_products",
        str(path),
        "--user",
        admin_user.username,
        "--skip-invalid",
        "--map",
        "Article No=sku,Designation=title,Retail Price=unit_price,Qty=inventory",
        stdout=StringIO(),
    )
    url = reverse("admin:store_importjob_changelist")
    listing = admin_client.get(url)
    job = listing.context["cl"].result_list[0]

    page = admin_client.get(reverse("admin:store_importjob_change", args=[job.pk])).content.decode()

    assert "Invalid rows skipped, the valid ones written" in page
    assert "Mode: create and update" in page
    assert "Article No → SKU" in page
    assert "Retail Price → Unit price" in page
    assert "Supplier file, mapped column by column" in page
    for internal in ('"skip_invalid"', "related_recorded", '"targets"', "&quot;skip_invalid&quot;", ">mapped<"):
        assert internal not in page, internal
    assert "1 row<" in listing.content.decode()


def test_order_lines_are_named_by_product_not_ids(admin_client):
    product = ProductFactory(title="Travel Mug")
    order = Order.objects.create(customer=CustomerFactory())
    item = OrderItem.objects.create(order=order, product=product, quantity=2, unit_price="5.00")
    assert str(item) == "2 × Travel Mug"
    page = admin_client.get(reverse("admin:store_order_change", args=[order.pk])).content.decode()
    assert f"in order {order.pk}" not in page


def test_the_api_root_describes_the_catalog_api(admin_client):
    page = admin_client.get("/api/", HTTP_ACCEPT="text/html").content.decode()
    assert "Catalog API" in page
    assert "Api Root" not in page
    assert "DefaultRouter" not in page
