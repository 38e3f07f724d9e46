"""Admin import (upload -> preview -> confirm), exports and the import history, over HTTP."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from store.exports.formats import escape_formula
from store.importing import parsing
from store.importing.service import plan_exists
from store.models import ImportJob, Product
from store.tests.factories import CollectionFactory, CustomerFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:store_product_changelist"
IMPORT = "admin:store_product_import"
HEADER = "sku,title,unit_price,inventory,collection\r\n"


def staff(client, *perms: str) -> User:
    user = User.objects.create_user("staffer", password="pw", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client.force_login(user)
    return user


def upload(client, text: str, name: str = "p.csv", **data):
    data = {
        "preset": "auto",
        "file": SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text),
        **data,
    }
    return client.post(reverse(IMPORT), data)


# --- permissions ------------------------------------------------------------------
def test_superuser_sees_import_and_export_buttons(admin_client):
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert 'class="import-link"' in html
    assert "Export CSV" in html
    assert "Export XLSX" in html


def test_viewer_sees_export_but_not_import_and_gets_403(client):
    staff(client, "store.view_product")
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "Export CSV" in html
    assert 'class="import-link"' not in html
    assert client.get(reverse(IMPORT)).status_code == 403
    assert client.post(reverse(IMPORT), {}).status_code == 403
    assert client.get(reverse("admin:store_product_import_preview", args=[1])).status_code == 403
    assert client.get(reverse("admin:store_product_export")).status_code == 200


def test_importer_sees_import(client):
    staff(client, "store.view_product", "store.import_product")
    assert 'class="import-link"' in client.get(reverse(CHANGELIST)).content.decode()
    assert client.get(reverse(IMPORT)).status_code == 200
    assert client.get(reverse("admin:store_importjob_changelist")).status_code == 200


def test_orders_and_customers_changelists_show_export_buttons(admin_client):
    for name in ("admin:store_order_changelist", "admin:store_customer_changelist"):
        html = admin_client.get(reverse(name)).content.decode()
        assert "Export CSV" in html
        assert 'class="import-link"' not in html


def test_export_needs_view_permission(client):
    staff(client, "store.view_collection")
    for name in ("admin:store_product_export", "admin:store_order_export", "admin:store_customer_export"):
        assert client.get(reverse(name)).status_code == 403


# --- upload -> preview -> confirm --------------------------------------------------
def test_upload_preview_confirm(admin_client):
    collection = CollectionFactory(title="Apparel")
    ProductFactory(sku="OLD", title="Old", unit_price="10.00", inventory=1, collection=collection)
    response = upload(admin_client, HEADER + "NEW,New thing,9.50,3,Camping\r\nOLD,Old,10.00,4,Apparel\r\n")
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_PREVIEW
    assert not Product.objects.filter(sku="NEW").exists()
    html = admin_client.get(response.url).content.decode()
    assert '<td class="count-new">1</td><td class="count-updated">1</td>' in html
    assert "New collections will be created:\n    Camping." in html
    assert '<span class="import-old">1</span> → <span class="import-new">4</span>' in html
    response = admin_client.post(response.url, {"_confirm": "1"}, follow=True)
    assert Product.objects.get(sku="OLD").inventory == 4
    assert Product.objects.get(sku="NEW").collection.title == "Camping"
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_SUCCEEDED
    assert job.user.is_superuser
    assert "1 new, 1 updated, 0 unchanged, 0 skipped." in response.content.decode()


def test_preview_lists_every_error_and_all_or_nothing_blocks_confirm(admin_client):
    rows = "".join(f"S{i},T,abc,1,C\r\n" for i in range(300))
    response = upload(admin_client, HEADER + rows + "OK,T,5,1,C\r\n")
    html = admin_client.get(response.url).content.decode()
    assert html.count("<td>not a number</td></tr>") == 300
    assert "<tr><td>301</td><td>unit_price</td><td>abc</td><td>not a number</td></tr>" in html
    assert "Download the failed rows" in html
    # without skip_invalid the confirm writes nothing
    admin_client.post(response.url, {"_confirm": "1"})
    assert not Product.objects.exists()


def test_confirm_with_errors_unticked_is_refused_and_the_preview_stays_usable(admin_client):
    """Issue 20 §3: all or nothing with rows in error would write nothing and burn the preview (the
    job failed, the file had to be uploaded again). The Confirm is refused in the same request, the
    preview shown again with the reason beside the choice; ticking "skip" then imports."""
    response = upload(admin_client, HEADER + "A,T,abc,1,C\r\nB,T,5,1,C\r\nC,T,6,1,C\r\n")
    preview_url = response.url
    job = ImportJob.objects.get()

    refused = admin_client.post(preview_url, {"_confirm": "1"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert (
        '<p class="errornote" id="import-refused" role="alert">Not imported: 1 row has an error and '
        "“skip the invalid rows” is not ticked, so nothing was written. The preview is kept: tick it to "
        "import the 2 valid changes and skip the invalid rows, then confirm again; or fix the file and "
        "upload it again.</p>"
    ) in html
    assert '<td class="count-new">2</td>' in html  # the preview itself, still there
    assert 'class="import-choice-needed"' in html
    job.refresh_from_db()
    assert (job.status, job.confirmed_by, job.message) == (ImportJob.STATUS_PREVIEW, None, "")
    assert plan_exists(job)
    assert not Product.objects.exists()
    assert admin_client.get(preview_url).status_code == 200  # still confirmable, not expired or failed

    admin_client.post(preview_url, {"_confirm": "1", "skip_invalid": "1"})
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["B", "C"]
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_PARTIAL


def test_confirm_of_a_file_whose_every_change_has_an_error_is_refused(admin_client):
    ProductFactory(sku="SAME", title="T", unit_price="5.00", inventory=1, collection=CollectionFactory(title="C"))
    response = upload(admin_client, HEADER + "A,T,abc,1,C\r\nSAME,T,5.00,1,C\r\n")
    html = admin_client.get(response.url).content.decode()
    assert 'name="_confirm"' not in html
    assert "there is nothing to import: fix the file and upload it again" in html
    refused = admin_client.post(response.url, {"_confirm": "1"}).content.decode()
    assert "Not imported: 1 row has an error and no row would change anything without them" in refused
    assert ImportJob.objects.get().status == ImportJob.STATUS_PREVIEW


def test_a_malformed_image_url_is_a_row_error_on_the_preview(admin_client):
    response = upload(admin_client, "sku,title,unit_price,inventory,collection,images\r\nA,T,5,1,C,http://[::1\r\n")
    assert response.status_code == 302
    html = admin_client.get(response.url).content.decode()
    assert (
        "<tr><td>2</td><td>images</td><td>http://[::1</td><td>not an http(s) URL: &#x27;http://[::1&#x27;</td></tr>"
        in html
    )
    assert ImportJob.objects.get().status == ImportJob.STATUS_PREVIEW


def test_skip_invalid_confirm_imports_valid_rows(admin_client):
    response = upload(admin_client, HEADER + "A,T,abc,1,C\r\nB,T,5,1,C\r\n")
    admin_client.post(response.url, {"_confirm": "1", "skip_invalid": "1"})
    assert list(Product.objects.values_list("sku", flat=True)) == ["B"]
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_PARTIAL
    download = admin_client.get(reverse("admin:store_importjob_failed_rows", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        ["sku", "title", "unit_price", "inventory", "collection", "error"],
        ["A", "T", "abc", "1", "C", "row 2: unit_price: not a number"],
    ]


def test_cancel_writes_nothing_and_a_later_confirm_is_refused(admin_client):
    response = upload(admin_client, HEADER + "A,T,5,1,C\r\n")
    admin_client.post(response.url, {"_cancel": "1"})
    assert not Product.objects.exists()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_CANCELLED
    refused = admin_client.post(response.url, {"_confirm": "1"}, follow=True)
    assert f"Import #{job.pk} is not awaiting confirmation: it is cancelled (nothing written)." in (
        refused.content.decode()
    )
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The submitted file is empty."),
        (HEADER, parsing.ERROR_HEADERS_ONLY),
        (bytes(range(256)) * 4, parsing.ERROR_BINARY),
    ],
)
def test_bad_uploads_show_a_message(admin_client, content, message):
    response = upload(admin_client, content)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Product.objects.exists()


def test_upload_over_the_limit_and_zip_bomb(admin_client, settings):
    settings.IMPORT_MAX_FILE_BYTES = 50
    response = upload(admin_client, HEADER + "A,T,5,1,C\r\n" * 5)
    assert "the limit is 50 bytes" in response.content.decode()
    settings.IMPORT_MAX_FILE_BYTES = 1000
    response = upload(admin_client, HEADER + "A,T,5,1,C\r\n" * 10_000)  # refused before the body is read
    assert "the limit is 1000 bytes" in response.content.decode()
    settings.IMPORT_MAX_FILE_BYTES = 10_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" * (30 * 1024 * 1024))
    response = upload(admin_client, buffer.getvalue(), name="bomb.xlsx")
    assert "possible zip bomb" in response.content.decode()
    assert not Product.objects.exists()
    assert not ImportJob.objects.filter(status="succeeded").exists()


def test_preview_of_100k_rows_stays_under_2mb(admin_client):
    CollectionFactory(title="C")
    rows = "".join(f"K{i:06d},Product {i},{10 + i % 90}.50,{i % 50},C\r\n" for i in range(100_000))
    response = upload(admin_client, HEADER + rows)
    page = admin_client.get(response.url)
    assert page.status_code == 200
    assert "100000" in page.content.decode()
    assert len(page.content) < 2 * 1024 * 1024
    assert "page 1 of 1000" in page.content.decode()


# --- export -----------------------------------------------------------------------
def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_export_respects_changelist_filters_and_escapes_formulas(admin_client):
    ProductFactory(sku="LOW", title='=HYPERLINK("http://x")', inventory=2)
    ProductFactory(sku="HIGH", inventory=200)
    response = admin_client.get(reverse("admin:store_product_export"), {"format": "csv", "filters": "inventory__lt=10"})
    rows = read_csv(response)
    assert rows[0] == [
        "sku",
        "title",
        "slug",
        "description",
        "unit_price",
        "inventory",
        "collection",
        "promotions",
        "status",
        "images",
        "track_inventory",
        "vendor",
        "barcode",
        "compare_at_price",
        "cost_per_item",
        "weight",
        "weight_unit",
        "seo_title",
        "seo_description",
        "tags",
    ]
    assert [row[0] for row in rows[1:]] == ["LOW"]
    assert rows[1][1] == '\'=HYPERLINK("http://x")'
    assert response["Content-Disposition"].startswith('attachment; filename="products-')


def test_export_with_junk_filters_redirects_like_the_changelist(admin_client):
    response = admin_client.get(reverse("admin:store_product_export"), {"format": "zip", "filters": "nope__x=1"})
    assert response.status_code == 302
    assert response.url.endswith("?e=1")
    response = admin_client.get(reverse("admin:store_product_export"), {"format": "zip", "filters": "o=99&p=abc"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_export_link_carries_the_current_filters(admin_client):
    html = admin_client.get(reverse(CHANGELIST), {"inventory__lt": "10"}).content.decode()
    assert "format=csv&amp;filters=inventory__lt%3D10" in html


def test_excel_friendly_csv_has_a_bom_and_xlsx_keeps_numbers(admin_client):
    ProductFactory(sku="=SKU", inventory=3)
    csv_bytes = admin_client.get(reverse("admin:store_product_export"), {"format": "csv", "bom": "1"}).content
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    xlsx = admin_client.get(reverse("admin:store_product_export"), {"format": "xlsx"}).content
    sheet = load_workbook(io.BytesIO(xlsx)).active
    values = [cell.value for cell in sheet[2]]
    assert values[0] == "'=SKU"
    assert values[5] == 3
    assert isinstance(values[4], (int, float))
    data = admin_client.get(reverse("admin:store_product_export"), {"format": "json"}).json()
    assert data[0]["sku"] == "=SKU"
    assert data[0]["unit_price"] == "19.99"


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-5", "-5"),
        ("-12.50", "-12.50"),
        ("plain", "plain"),
        (-5, -5),
        ("", ""),
    ],
)
def test_formula_escaping(value, escaped):
    assert escape_formula(value) == escaped


def test_export_selected_action(admin_client):
    first, _second = ProductFactory(), ProductFactory()
    response = admin_client.post(reverse(CHANGELIST), {"action": "export_selected_csv", "_selected_action": [first.pk]})
    assert [row[0] for row in read_csv(response)[1:]] == [first.sku]


def test_orders_and_customers_export(admin_client, django_assert_max_num_queries):
    for _ in range(5):
        OrderItemFactory()
    CustomerFactory(first_name="=evil")
    with django_assert_max_num_queries(12):
        orders = read_csv(admin_client.get(reverse("admin:store_order_export"), {"format": "csv"}))
    assert orders[0] == ["id", "placed_at", "payment_status", "customer", "customer_email", "items", "total"]
    assert len(orders) == 6
    assert " x SKU-" in orders[1][5]
    customers = read_csv(admin_client.get(reverse("admin:store_customer_export"), {"format": "csv"}))
    assert "'=evil" in [row[1] for row in customers]


def test_product_export_query_count_is_flat(admin_client, django_assert_max_num_queries):
    ProductFactory.create_batch(30)
    with django_assert_max_num_queries(17):  # status and images: one and two queries per chunk
        response = admin_client.get(reverse("admin:store_product_export"), {"format": "csv"})
    assert len(read_csv(response)) == 31


# --- import history -------------------------------------------------------------------
def test_import_history_is_read_only(admin_client, django_assert_max_num_queries):
    for _ in range(3):
        upload(admin_client, HEADER + "A,T,abc,1,C\r\n")
    job = ImportJob.objects.first()
    with django_assert_max_num_queries(10):
        html = admin_client.get(reverse("admin:store_importjob_changelist")).content.decode()
    assert "Download the failed rows" in html
    assert '<span class="import-count">1 error</span>' in html
    assert admin_client.get(reverse("admin:store_importjob_add")).status_code == 403
    page = admin_client.get(reverse("admin:store_importjob_change", args=[job.pk])).content.decode()
    assert 'name="_save"' not in page
    assert "failed-rows" in page


def test_failed_rows_download_needs_permission(client, admin_user):
    admin = Client()
    admin.force_login(admin_user)
    upload(admin, HEADER + "A,T,abc,1,C\r\n")
    job = ImportJob.objects.get()
    staff(client, "store.view_product")
    assert client.get(reverse("admin:store_importjob_failed_rows", args=[job.pk])).status_code == 403


def test_an_expired_preview_says_so_on_the_page_and_in_the_list(admin_client):
    response = upload(admin_client, HEADER + "A,T,5,1,C\r\n")
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=2))

    page = admin_client.get(response.url, follow=True)
    text = page.content.decode()
    assert page.redirect_chain[-1][0] == reverse(IMPORT)
    assert f"Import #{job.pk} has expired: its preview was not confirmed within 24 hours" in text
    assert "Preview expired unconfirmed (nothing written)" in text
    confirm = admin_client.post(response.url, {"_confirm": "1"}, follow=True)
    assert f"Import #{job.pk} has expired" in confirm.content.decode()
    assert not Product.objects.exists()
    history = admin_client.get(reverse("admin:store_importjob_changelist")).content.decode()
    assert "Preview expired unconfirmed (nothing written)" in history
