"""Product images and status in the browser: upload on the product page, thumbnail in the
list (the live server serves MEDIA_URL), drag to reorder. (Publish: test_bulk_edit.py.)"""

from __future__ import annotations

import re

from store.tests.factories import CollectionFactory, ProductFactory, image_bytes, product_image

PRODUCTS = "/admin/store/product/"


def test_upload_an_image_and_see_its_thumbnail_in_the_list(admin_page, live_server, tmp_path, screenshot):
    product = ProductFactory(title="Zip Hoodie", collection=CollectionFactory(title="Hoodies"))
    photo = tmp_path / "hoodie.jpg"
    photo.write_bytes(image_bytes("JPEG", size=(1200, 900), colour="darkorange"))
    page = admin_page
    page.goto(f"{live_server.url}{PRODUCTS}{product.pk}/change/")

    row = page.locator("#images-group tr.form-row").first
    row.locator("input[type=file]").set_input_files(str(photo))
    row.locator("input[name$=alt_text]").fill("Zip hoodie, front")
    page.locator("input[name=_continue]").click()
    page.wait_for_url(re.compile(rf"{PRODUCTS}{product.pk}/change/$"))
    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    image = product.images.get()
    assert (image.alt_text, image.width, image.height) == ("Zip hoodie, front", 1200, 900)
    assert image.thumbnail.name  # made on commit, before the redirect answered
    page.locator("#images-group").scroll_into_view_if_needed()
    screenshot(page, "product_images")

    page.goto(f"{live_server.url}{PRODUCTS}")
    thumb = page.locator("#result_list .field-thumbnail img.product-thumb").first
    assert thumb.get_attribute("src") == image.thumbnail.url
    # The browser fetched and decoded it: a broken image has naturalWidth 0.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("img => img.naturalWidth") == 320


def test_a_bad_file_shows_an_error_on_the_product_page(admin_page, live_server, tmp_path):
    product = ProductFactory(title="Zip Hoodie")
    fake = tmp_path / "notes.png"
    fake.write_text("not an image at all\n" * 20)
    page = admin_page
    page.goto(f"{live_server.url}{PRODUCTS}{product.pk}/change/")
    page.locator("#images-group tr.form-row input[type=file]").first.set_input_files(str(fake))
    page.locator("input[name=_continue]").click()
    page.wait_for_selector(".errornote")
    assert "“notes.png” is not an image" in page.locator("#images-group").inner_text()
    assert not product.images.exists()


def test_drag_an_image_to_the_top(admin_page, live_server):
    product = ProductFactory(title="Zip Hoodie")
    for position, name in enumerate(["front", "side", "back"]):
        product_image(product, position=position, alt_text=name, thumbnail=False)
    page = admin_page
    page.goto(f"{live_server.url}{PRODUCTS}{product.pk}/change/")
    rows = page.locator("#images-group tr.form-row.has_original")
    rows.nth(2).locator("td.field-preview").drag_to(rows.nth(0).locator("td.field-preview"))
    assert [rows.nth(i).locator("input[name$=alt_text]").input_value() for i in range(3)] == ["back", "front", "side"]
    page.locator("input[name=_continue]").click()
    page.wait_for_url(re.compile(rf"{PRODUCTS}{product.pk}/change/$"))
    assert [(image.alt_text, image.position) for image in product.images.all()] == [
        ("back", 0),
        ("front", 1),
        ("side", 2),
    ]
