"""A merchandiser searches the product list of the demo store, on the app as `make run` serves it
(issue 20 §2: words of the title, their start, SKU segments, punctuation and case ignored)."""

from __future__ import annotations

import pytest

PRODUCTS = "/admin/store/product/"


def search(page, query: str) -> list[str]:
    """Type ``query`` in the list's search box and submit; the titles listed."""
    page.fill("#searchbar", query)
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list, p.paginator")
    return page.locator("#result_list tbody th.field-title a").all_inner_texts()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Bottle", "Water Bottle – Black"),
        ("bott", "Water Bottle – Black"),
        ("0041", "Beanie – Black"),
        ("ACC-0041", "Beanie – Black"),
        ("Beanie Black", "Beanie – Black"),
        ("hoodie black", "Zip Hoodie – Black"),
    ],
)
def test_search_the_demo_catalog_as_people_type(make_run, merchandiser, query, expected):
    page = merchandiser
    page.goto(f"{make_run.url}{PRODUCTS}")
    found = search(page, query)
    assert expected in found
    words = query.lower().replace("-", " ").split()
    for title in found:  # every word matches the title or the SKU: the list narrows
        assert all(word in title.lower() for word in words if not word.isdigit() and word != "acc"), title
    assert "0 results" not in page.locator("#changelist-search").inner_text()
