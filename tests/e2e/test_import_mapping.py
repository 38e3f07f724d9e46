"""Importer journey on the app as `make run` serves it: a supplier file -> mapping page ->
preview -> confirm; the same header again skips mapping."""

from pathlib import Path

from .pages import message, upload_for_preview

SUPPLIER = Path(__file__).resolve().parents[2] / "store" / "tests" / "data" / "supplier_semicolon.csv"


def test_map_a_supplier_file_save_a_profile_and_reuse_it(make_run, importer, tmp_path, screenshot):
    skus = ["SUP-1001", "SUP-1005", "SUP-1016", "SUP-3001"]
    page = importer
    upload_for_preview(page, make_run.url, SUPPLIER)

    # The mapping page, with the guesses pre-filled.
    page.wait_for_selector("#mapping-columns")
    assert page.input_value("#id_column_0") == "sku"
    assert page.input_value("#id_column_1") == "title"
    assert page.input_value("#id_column_3") == "unit_price"
    assert page.input_value("#id_column_4") == "inventory"
    assert page.input_value("#id_column_5") == "collection"
    assert page.input_value("#id_column_6") == ""  # Colour: no product column
    assert "12,50" in page.inner_text("#mapping-columns")
    # Fix one choice: the colour becomes a tag; and say how the file writes numbers and paths.
    page.select_option("#id_column_6", "tags")
    page.select_option("#id_decimal", ",")
    page.select_option("#id_thousands", "point")
    page.fill("#id_collection_separator", "/")
    page.check("#id_save_profile")
    page.fill("#id_profile_name", "Acme homeware")
    screenshot(page, "import-mapping")
    page.click("input[name=_map]")

    # The preview names the profile and shows exact prices.
    page.wait_for_selector("#import-counts")
    assert "Mapped with profile «Acme homeware»" in page.inner_text(".import-profile")
    assert page.inner_text("td.count-new") == "20"
    changes = page.inner_text("#import-changes")
    assert "1299.00" in changes
    assert "12.50" in changes
    assert "Home > Kitchen" in page.inner_text(".import-new-collections")
    assert set(make_run.call("products_state", skus=skus).values()) == {None}
    page.click("input[name=_confirm]")
    assert "20 new, 0 updated" in message(page)
    state = make_run.call("products_state", skus=skus)
    assert state["SUP-1005"]["unit_price"] == "1299.00"
    assert state["SUP-1001"]["unit_price"] == "12.50"
    assert state["SUP-1016"]["inventory"] == 2400
    page.goto(f"{make_run.url}/admin/store/importprofile/")
    assert page.locator("#result_list tbody th").all_inner_texts() == ["Acme homeware"]

    # The next file with the same header: no mapping step, the preview names the profile.
    again = tmp_path / "acme-april.csv"
    again.write_text(
        "Supplier Code;Product Name;Description;Price;Qty;Category;Colour\n"
        "SUP-1001;Enamel mug 350 ml;Speckled enamel mug, dishwasher safe;13,00;100;Home/Kitchen;blue\n"
        "SUP-3001;Bread bin;Bamboo lid;1.049,00;3;Home/Kitchen;natural\n",
        encoding="utf-8",
    )
    upload_for_preview(page, make_run.url, again)
    page.wait_for_selector("#import-counts")
    assert page.locator("#mapping-columns").count() == 0
    assert "Mapped with profile «Acme homeware»" in page.inner_text(".import-profile")
    assert page.inner_text("td.count-new") == "1"
    assert page.inner_text("td.count-updated") == "1"
    assert "1049.00" in page.inner_text("#import-changes")
    screenshot(page, "import-mapping-profile-preview")
    page.click("input[name=_confirm]")
    message(page)
    state = make_run.call("products_state", skus=skus)
    assert state["SUP-3001"]["unit_price"] == "1049.00"
    assert state["SUP-1001"]["unit_price"] == "13.00"
    jobs = make_run.call("import_jobs", file_names=[SUPPLIER.name, again.name])
    assert [(job["status"], job["profile"]) for job in jobs] == [("succeeded", "Acme homeware")] * 2
