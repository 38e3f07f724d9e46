"""Product form journeys that only JavaScript does: slug prefill, tag autocomplete inline."""

from __future__ import annotations

import re

from store.models import Product
from store.tests.factories import CollectionFactory, ProductFactory
from tags.models import TaggedItem
from tags.tests.factories import TagFactory


def test_type_a_title_and_the_slug_fills_itself(admin_page, live_server):
    page = admin_page
    page.goto(f"{live_server.url}/admin/store/product/add/")
    page.locator("#id_title").press_sequentially("Organic Cotton Tee")
    page.locator("#id_sku").click()  # the slug follows the title as it is typed
    assert page.locator("#id_slug").input_value() == "organic-cotton-tee"


def test_add_a_tag_through_the_autocomplete_inline(admin_page, live_server):
    product = ProductFactory(title="Zip Hoodie", collection=CollectionFactory(title="Hoodies"))
    TagFactory(label="eco-friendly")
    TagFactory(label="clearance")
    page = admin_page
    page.goto(f"{live_server.url}/admin/store/product/{product.pk}/change/")

    inline_row = page.locator("#tags-taggeditem-content_type-object_id-group tr.form-row").first
    inline_row.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("eco")
    page.locator(".select2-results__option", has_text="eco-friendly").click()
    page.locator("input[name=_continue]").click()
    page.wait_for_url(re.compile(rf"/admin/store/product/{product.pk}/change/$"))
    assert "was changed successfully" in page.locator(".messagelist").inner_text()

    items = TaggedItem.objects.get_tags_for(Product, product.pk)
    assert [item.tag.label for item in items] == ["eco-friendly"]
