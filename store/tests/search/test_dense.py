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
    assert "ORDER BY store_productsearchterm.title ASC" in sql
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
