"""Importer journeys on the app as `make run` serves it: changelist -> Import -> upload ->
preview -> confirm, and reverting an import."""

from __future__ import annotations

from .pages import PRODUCTS, message, open_revert, upload_for_preview


def test_upload_preview_confirm(make_run, importer, tmp_path, screenshot):
    path = tmp_path / "browser-products.csv"
    path.write_text(
        "sku,title,unit_price,inventory,collection,tags\n"
        'E2E-1,Browser hoodie,39.90,4,E2E,"eco, winter"\n'
        "E2E-2,Browser mug,9.00,12,E2E,\n"
    )
    page = importer
    page.goto(f"{make_run.url}{PRODUCTS}")
    page.click("a.import-link")
    page.set_input_files("input[name=file]", str(path))
    page.click("input[name=_preview]")
    page.wait_for_selector("#import-counts")
    assert page.inner_text("td.count-new") == "2"
    assert "E2E" in page.inner_text(".import-new-collections")
    assert "tags: eco, winter" in page.inner_text("#import-changes")
    screenshot(page, "import-preview")
    assert make_run.call("products_state", skus=["E2E-1", "E2E-2"]) == {"E2E-1": None, "E2E-2": None}
    page.click("input[name=_confirm]")
    assert "2 new, 0 updated" in message(page)
    state = make_run.call("products_state", skus=["E2E-1", "E2E-2"])
    assert (state["E2E-1"]["unit_price"], state["E2E-1"]["tags"]) == ("39.90", ["eco", "winter"])
    assert state["E2E-2"]["inventory"] == 12
    assert [job["status"] for job in make_run.call("import_jobs", file_names=[path.name])] == ["succeeded"]


def test_revert_an_import(make_run, importer, tmp_path):
    make_run.call(
        "create_products",
        collection="E2E revert",
        products=[{"sku": "KEEP-1", "title": "Kept hoodie", "unit_price": "10.00"}],
    )
    path = tmp_path / "revert-products.csv"
    path.write_text(
        "sku,title,unit_price,inventory,collection\n"
        "KEEP-1,Kept hoodie,12.00,4,E2E revert\n"
        "E2E-NEW,Browser mug,9.00,12,E2E revert\n"
    )
    page = importer
    upload_for_preview(page, make_run.url, path)
    page.wait_for_selector("#import-counts")
    page.click("input[name=_confirm]")
    message(page)
    [job] = make_run.call("import_jobs", file_names=[path.name])

    open_revert(page, make_run.url, job["id"])
    assert page.inner_text("td.count-restore") == "1"
    assert page.inner_text("td.count-delete") == "1"
    assert "12.00 → 10.00" in page.inner_text("#revert-sample")
    page.click("#revert-confirm")

    assert f"Import #{job['id']} reverted" in message(page)
    state = make_run.call("products_state", skus=["KEEP-1", "E2E-NEW"])
    assert state["KEEP-1"]["unit_price"] == "10.00"
    assert state["E2E-NEW"] is None


def test_confirm_with_errors_keeps_the_preview_until_skip_is_ticked(make_run, importer, tmp_path):
    """Confirm of a file with an invalid row while "skip the invalid rows" is unticked: refused on
    the preview itself, nothing written, the import still awaiting confirmation; ticking the box
    and confirming again imports the valid rows (issue 20 §3)."""
    path = tmp_path / "rows-with-errors.csv"
    path.write_text(
        "sku,title,unit_price,inventory,collection\n"
        "E2E-ERR-1,Browser cap,12.00,3,E2E errors\n"
        "E2E-ERR-2,Browser scarf,not-a-price,3,E2E errors\n"
    )
    page = importer
    upload_for_preview(page, make_run.url, path)
    page.wait_for_selector("#import-errors")
    preview_url = page.url
    page.click("input[name=_confirm]")

    refusal = page.wait_for_selector("#import-refused").inner_text()
    assert refusal.startswith("Not imported: 1 row has an error and “skip the invalid rows” is not ticked")
    assert page.inner_text("td.count-new") == "1"  # the preview, still there
    assert page.is_visible("label.import-choice-needed #import-skip-invalid")
    assert [job["status"] for job in make_run.call("import_jobs", file_names=[path.name])] == ["preview"]
    assert make_run.call("products_state", skus=["E2E-ERR-1"]) == {"E2E-ERR-1": None}

    page.check("#import-skip-invalid")
    page.click("input[name=_confirm]")
    page.wait_for_selector(".messagelist .warning")
    assert "1 invalid row was skipped" in page.inner_text(".messagelist")
    assert page.url != preview_url
    assert make_run.call("products_state", skus=["E2E-ERR-1"])["E2E-ERR-1"]["unit_price"] == "12.00"
    assert [job["status"] for job in make_run.call("import_jobs", file_names=[path.name])] == ["partial"]
