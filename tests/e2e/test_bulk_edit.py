"""Merchandiser journeys: a bulk edit through its intermediate page, and reverting an import."""

from decimal import Decimal

from store.models import BulkEdit, BulkEditJob, ImportJob, Product
from store.tests.factories import CollectionFactory, ProductFactory


def select_rows(page, products):
    for product in products:
        page.check(f"input.action-select[value='{product.pk}']")


def test_raise_price_5_percent_on_selected_products(admin_page, live_server, screenshot):
    hoodies = CollectionFactory(title="Hoodies")
    a = ProductFactory(title="Bulk hoodie A", unit_price=Decimal("10.00"), collection=hoodies)
    b = ProductFactory(title="Bulk hoodie B", unit_price=Decimal("19.99"), collection=hoodies)
    untouched = ProductFactory(title="Bulk hoodie C", unit_price=Decimal("30.00"), collection=hoodies)
    page = admin_page
    page.goto(f"{live_server.url}/admin/store/product/")
    select_rows(page, [a, b])
    page.select_option("select[name=action]", "bulk_change_price")
    page.click("button[name=index]")

    page.wait_for_selector("#bulk-form")
    assert "2 products selected" in page.inner_text("#bulk-selected")
    page.select_option("#id_bulk-mode", "raise_pct")
    page.fill("#id_bulk-amount", "5")
    page.click("#bulk-preview")
    page.wait_for_selector("#bulk-counts")
    assert page.inner_text("td.count-changed") == "2"
    assert "10.00 → 10.50" in page.inner_text("#bulk-sample")
    assert "19.99 → 20.99" in page.inner_text("#bulk-sample")
    screenshot(page, "bulk-edit-preview")
    assert Product.objects.get(pk=a.pk).unit_price == Decimal("10.00")
    page.click("#bulk-confirm")

    page.wait_for_selector(".messagelist .success")
    edit = BulkEdit.objects.get()
    assert f"Bulk edit #{edit.pk} (raise price 5%): 2 products were changed." in page.inner_text(".messagelist")
    assert [Product.objects.get(pk=p.pk).unit_price for p in (a, b, untouched)] == [
        Decimal("10.50"),
        Decimal("20.99"),
        Decimal("30.00"),
    ]


def test_move_to_collection_with_the_autocomplete(admin_page, live_server):
    CollectionFactory(title="Winter sale")
    product = ProductFactory(title="Bulk scarf", collection=CollectionFactory(title="Scarves"))
    page = admin_page
    page.goto(f"{live_server.url}/admin/store/product/")
    select_rows(page, [product])
    page.select_option("select[name=action]", "bulk_move_to_collection")
    page.click("button[name=index]")

    page.wait_for_selector("#bulk-form")
    page.click(".field-collection .select2-selection")
    page.fill(".select2-search__field", "Winter")
    page.click(".select2-results__option:has-text('Winter sale')")
    page.click("#bulk-preview")
    page.wait_for_selector("#bulk-counts")
    assert "Scarves → Winter sale" in page.inner_text("#bulk-sample")
    page.click("#bulk-confirm")

    page.wait_for_selector(".messagelist .success")
    assert Product.objects.get(pk=product.pk).collection.title == "Winter sale"


def test_revert_an_import(admin_page, live_server, tmp_path):
    CollectionFactory(title="E2E")
    ProductFactory(sku="KEEP-1", title="Kept hoodie", unit_price=Decimal("10.00"))
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,title,unit_price,inventory,collection\nKEEP-1,Kept hoodie,12.00,4,E2E\nE2E-NEW,Browser mug,9.00,12,E2E\n"
    )
    page = admin_page
    page.goto(f"{live_server.url}/admin/store/product/import/")
    page.set_input_files("input[name=file]", str(path))
    page.click("input[name=_preview]")
    page.wait_for_selector("#import-counts")
    page.click("input[name=_confirm]")
    page.wait_for_selector(".messagelist .success")
    job = ImportJob.objects.get()

    page.goto(f"{live_server.url}/admin/store/importjob/")
    page.click(f"a.revert-link[href$='/{job.pk}/revert/']")
    page.wait_for_selector("#revert-counts")
    assert page.inner_text("td.count-restore") == "1"
    assert page.inner_text("td.count-delete") == "1"
    assert "12.00 → 10.00" in page.inner_text("#revert-sample")
    page.click("#revert-confirm")

    page.wait_for_selector(".messagelist .success")
    assert f"Import #{job.pk} reverted" in page.inner_text(".messagelist")
    assert Product.objects.get(sku="KEEP-1").unit_price == Decimal("10.00")
    assert not Product.objects.filter(sku="E2E-NEW").exists()


def test_a_selection_above_the_inline_limit_runs_as_a_job(admin_page, live_server, settings):
    settings.BULK_INLINE_MAX = 2
    products = [ProductFactory(title=f"Bulk mug {n}", unit_price=Decimal("10.00")) for n in range(3)]
    page = admin_page
    page.goto(f"{live_server.url}/admin/store/product/?q=Bulk+mug")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "bulk_change_price")
    page.click("button[name=index]")

    page.wait_for_selector("#bulk-as-job")
    page.select_option("#id_bulk-mode", "raise_pct")
    page.fill("#id_bulk-amount", "5")
    page.click("#bulk-preview")
    page.wait_for_selector("#bulk-sampled")
    page.click("#bulk-confirm")  # the immediate backend (tests) runs the job within the request

    page.wait_for_selector("#job-state")
    job = BulkEditJob.objects.get()
    assert sorted(job.selected_ids) == [p.pk for p in products]
    assert page.get_attribute("#job-state", "data-state") == "done"
    assert "3 / 3" in page.inner_text("#job-rows")
    assert [Product.objects.get(pk=p.pk).unit_price for p in products] == [Decimal("10.50")] * 3
