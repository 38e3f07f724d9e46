"""Ops journey: changelist -> Import -> upload -> preview -> confirm."""

from store.models import ImportJob, Product


def test_upload_preview_confirm(admin_page, live_server, tmp_path, screenshot):
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,title,unit_price,inventory,collection,tags\n"
        'E2E-1,Browser hoodie,39.90,4,E2E,"eco, winter"\n'
        "E2E-2,Browser mug,9.00,12,E2E,\n"
    )
    page = admin_page
    page.goto(f"{live_server.url}/admin/store/product/")
    page.click("a.import-link")
    page.set_input_files("input[name=file]", str(path))
    page.click("input[name=_preview]")
    page.wait_for_selector("#import-counts")
    assert page.inner_text("td.count-new") == "2"
    assert "E2E" in page.inner_text(".import-new-collections")
    assert "tags: eco, winter" in page.inner_text("#import-changes")
    screenshot(page, "import-preview")
    assert not Product.objects.filter(sku__startswith="E2E").exists()
    page.click("input[name=_confirm]")
    page.wait_for_selector(".messagelist .success")
    assert "2 new, 0 updated" in page.inner_text(".messagelist")
    assert Product.objects.filter(sku__startswith="E2E").count() == 2
    assert ImportJob.objects.get().status == ImportJob.STATUS_SUCCEEDED
