"""A common word at any size: the page of "every word whole" and the list's capped count are
read from the term index (its title copy in the list's order), not from every match's row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store import selectors
from store.models import Product, ProductSearchTerm
from store.search.selectors import search_capped_count, search_page_ids
from store.tests.factories import CollectionFactory, ProductFactory
from store.tests.variants.conftest import make_parent, make_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def bottles():
    shelf = CollectionFactory()
    made = [ProductFactory(title=f"Water Bottle {i:02d}", collection=shelf) for i in range(12)]
    made += [ProductFactory(title=f"Bottle Rack {i:02d}", collection=shelf) for i in range(3)]
    made += [ProductFactory(title=f"Bottles {i:02d}", collection=shelf) for i in range(3)]
    made += [ProductFactory(title=f"Classic Water Bottle {i:02d}", collection=shelf) for i in range(4)]
    return made


def test_the_terms_carry_the_title_and_follow_its_changes(bottles):
    product = bottles[0]
    assert set(ProductSearchTerm.objects.filter(product=product).values_list("title", flat=True)) == {product.title}
    product.title = "Steel Flask"
    product.save()
    assert set(ProductSearchTerm.objects.filter(product=product).values_list("title", flat=True)) == {"Steel Flask"}


@pytest.mark.parametrize("term", ["bottle", "water bottle"])
def test_a_whole_word_page_walks_the_term_index_in_title_order(bottles, term):
    ranked = list(selectors.product_search(term=term).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        pages = [search_page_ids(queryset=selectors.product_search(term=term), start=n, stop=n + 5) for n in (0, 5, 10)]
    assert sum(pages, []) == ranked[:15]
    whole = [
        q["sql"] for q in queries if "ORDER BY" in q["sql"] and "store_productsearchterm" in q["sql"].split("FROM")[1]
    ]
    assert whole, "the whole-word rank reads the term table"
    sql = whole[-1].replace('"', "").replace("`", "")
    # in title order: by the column, or by its place when the read selects it first
    assert "ORDER BY store_productsearchterm.title ASC" in sql or (
        sql.startswith("SELECT store_productsearchterm.title AS title") and "ORDER BY 1 ASC" in sql
    )
    assert "store_product " not in sql + " "  # no product row read: the list has no filter


@pytest.mark.parametrize("term", ["bottle", "bott", "water bottle", "bottle classic", "rack", "zzz"])
def test_the_capped_count_of_a_search_is_its_number_of_products(bottles, term):
    searched = selectors.product_search(term=term)
    assert search_capped_count(queryset=searched, cap=100) == searched.count()
    assert search_capped_count(queryset=searched, cap=3) == min(3, searched.count())


def test_the_count_and_the_page_keep_the_list_filters(bottles):
    drafts = [bottles[1].pk, bottles[13].pk]
    Product.objects.filter(pk__in=drafts).update(status="draft")
    searched = selectors.product_search(term="bottle", queryset=Product.objects.filter(status="draft"))
    assert search_capped_count(queryset=searched, cap=100) == 2
    assert search_page_ids(queryset=searched, start=0, stop=10) == list(searched.values_list("pk", flat=True))


def test_a_search_filtered_after_searching_is_counted_as_it_is(bottles):
    searched = selectors.product_search(term="bottle").filter(title__startswith="Water")
    assert search_capped_count(queryset=searched, cap=100) is None
    assert search_page_ids(queryset=searched, start=0, stop=20) == list(searched.values_list("pk", flat=True))


@pytest.fixture
def classics():
    """ "classic bottle": in "classic"'s title order the bottles come last, in "bottle"'s first;
    "wireless bottle": last in both."""
    shelf = CollectionFactory()
    for adjective in ("Classic", "Compact", "Wireless"):
        for noun in ("Backpack", "Mug", "Water Bottle"):
            for i in range(4):
                ProductFactory(title=f"{adjective} {noun} {i}", collection=shelf)


@pytest.mark.parametrize("term", ["classic bottle", "bottle classic", "wireless bottle", "compact mug", "mug", "mug 3"])
@pytest.mark.parametrize(("leap_rows", "budget"), [(1, 20_000), (2, 20_000), (3, 20_000), (200, 20_000), (2, 5)])
def test_a_page_of_several_words_is_the_ranked_order_whatever_the_rounds(
    classics, monkeypatch, term, leap_rows, budget
):
    monkeypatch.setattr("store.search.selectors.LEAP_ROWS", leap_rows)
    monkeypatch.setattr("store.search.selectors.LEAP_BUDGET", budget)
    ranked = list(selectors.product_search(term=term).values_list("pk", flat=True))
    assert ranked
    pages = [
        search_page_ids(queryset=selectors.product_search(term=term), start=n, stop=n + 3) for n in range(0, 12, 3)
    ]
    assert sum(pages, []) == ranked[:12]


@pytest.mark.parametrize("term", ["classic bottle", "wireless bottle", "bottle wireless"])
def test_a_page_of_two_common_words_skips_the_rows_between_their_matches(classics, monkeypatch, term):
    """ "wireless" reads two Wireless Backpacks; "bottle" has no row among them, and its next row
    is the first Wireless Water Bottle, where the next round starts: the Mugs are never read."""
    monkeypatch.setattr("store.search.selectors.LEAP_ROWS", 2)
    with CaptureQueriesContext(connection) as queries:
        page = search_page_ids(queryset=selectors.product_search(term=term), start=0, stop=2)
    adjective = term.replace("bottle", "").strip().title()
    assert [Product.objects.get(pk=pk).title for pk in page] == [
        f"{adjective} Water Bottle 0",
        f"{adjective} Water Bottle 1",
    ]
    term_reads = [q["sql"] for q in queries if "store_productsearchterm" in q["sql"].split("FROM")[1]]
    assert len(term_reads) <= 6, term_reads  # the title-start rank, 2 rounds of 2 reads, a skip


@pytest.mark.parametrize("term", ["classic bottle", "wireless bott", "mug compact", "classic zzz"])
def test_the_capped_count_of_several_words_is_driven_by_any_word(classics, term):
    searched = selectors.product_search(term=term)
    assert search_capped_count(queryset=searched, cap=100) == searched.count()
    assert search_capped_count(queryset=searched, cap=2) == min(2, searched.count())


@pytest.mark.parametrize("term", ["water bott", "bott water", "bottle rack", "b w", "bottles rack", "water zzz"])
@pytest.mark.parametrize("few_terms", [0, 1, 4])
def test_the_capped_count_of_several_words_is_exact_whether_a_word_is_its_terms_or_its_range(
    bottles, monkeypatch, term, few_terms
):
    """ "bott" starts two terms (bottle, bottles), "b" more: each is looked up by its terms
    when they are few (``FEW_TERMS``), else by its range; the count is the same."""
    monkeypatch.setattr("store.search.selectors.FEW_TERMS", few_terms)
    ProductFactory(title="Water Bottles Rack", collection=bottles[0].collection)
    searched = selectors.product_search(term=term)
    assert search_capped_count(queryset=searched, cap=100) == searched.count()
    assert search_capped_count(queryset=searched, cap=2) == min(2, searched.count())


def test_the_product_list_search_reads_products_from_the_terms_alone(bottles):
    """A product with variants is found once, by its own words and its variants'; the count
    and the page of the product list read the term rows (not a variant's own) without a
    lookup of each product row's structure."""
    parent = make_parent(title="Bottle Bag", sku="BAG")
    for colour in ("Green", "Blue"):
        make_variant(parent, colour, "S", sku=f"BOTTLE-BAG-{colour}")
    searched = selectors.product_search(term="bottle", queryset=selectors.product_list_products())
    expected = list(searched.values_list("pk", flat=True))
    assert parent.pk in expected
    assert len(expected) == len(bottles) + 1
    with CaptureQueriesContext(connection) as queries:
        assert search_capped_count(queryset=searched, cap=100) == len(expected)
        assert search_page_ids(queryset=searched, start=0, stop=100) == expected
    term_reads = [q["sql"] for q in queries if "is_variant" in q["sql"]]
    assert len(term_reads) >= 2
    assert all('"store_product"' not in sql and "`store_product`" not in sql for sql in term_reads)
    green = selectors.product_search(term="green", queryset=selectors.product_list_products())
    assert search_capped_count(queryset=green, cap=100) == 1
    assert search_page_ids(queryset=green, start=0, stop=10) == [parent.pk]
