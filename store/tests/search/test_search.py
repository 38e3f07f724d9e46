"""The one product search (store.search): what it finds, in which order, wherever products are
searched (admin list, autocompletes, exports of a filtered list, API), on both databases."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from store import selectors
from store.exports.jobs import export_source
from store.models import ExportJob, Product, ProductSearchTerm
from store.search.services import search_index_build, search_index_clear
from store.tests.admin_queries import changelist_query_count
from store.tests.factories import CollectionFactory, OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")

# What people typed (issue 20 §2) and the product each must find.
EXAMPLES = [
    ("Bottle", "Heavy-duty Water Bottle 7"),
    ("bott", "Heavy-duty Water Bottle 7"),
    ("Hoodie", "Classic Hoodie"),
    ("Beanie Black", "Beanie – Black"),
    ("0041", "Beanie – Black"),
    ("acc-00", "Beanie – Black"),
    ("ACC0041", "Beanie – Black"),
    ("tshirt", "Slim T-Shirt"),
    ("crème", "Crème Mug"),
    ("CREME", "Crème Mug"),
]


@pytest.fixture
def catalog():
    shelf = CollectionFactory(title="Shelf")
    made = {
        title: ProductFactory(title=title, sku=sku, collection=shelf)
        for title, sku in [
            ("Heavy-duty Water Bottle 7", "S1-0000007"),
            ("Classic Hoodie", "HD-001"),
            ("Beanie – Black", "ACC-0041"),
            ("Slim T-Shirt", "TS-1"),
            ("Crème Mug", "MG-1"),
            ("Travel Mug", "MG-2"),
        ]
    }
    return made


def found(term: str) -> list[str]:
    return list(selectors.product_search(term=term).values_list("title", flat=True))


@pytest.mark.parametrize(("term", "title"), EXAMPLES)
def test_the_search_finds_any_word_its_start_and_any_sku_segment(catalog, term, title):
    assert found(term) == [title]


def test_every_word_must_match(catalog):
    assert found("mug travel") == ["Travel Mug"]
    assert found("mug hoodie") == []
    assert found("mug") == ["Crème Mug", "Travel Mug"]


def test_blank_finds_everything_and_punctuation_alone_finds_nothing(catalog):
    assert selectors.product_search(term="  ").count() == len(catalog)
    assert found("%_\u2603 –") == []


def test_best_matches_first_then_whole_words_then_the_rest_ties_by_title():
    shelf = CollectionFactory()
    for title in ["Zip Mugs", "Zebra Mug", "Mug Zest", "Mugwort Tea", "Mug Alpha", "Big Mug"]:
        ProductFactory(title=title, collection=shelf)
    # Title starting with "mug" (by title), then "mug" as a whole word, then "mug…".
    assert found("mug") == ["Mug Alpha", "Mug Zest", "Mugwort Tea", "Big Mug", "Zebra Mug", "Zip Mugs"]
    assert found("mug z") == ["Mug Zest", "Zebra Mug", "Zip Mugs"]


def test_the_admin_list_finds_what_people_type_best_first(admin_client, catalog):
    for term, title in EXAMPLES:
        response = admin_client.get(PRODUCTS, {"q": term})
        assert [p.title for p in response.context["cl"].result_list] == [title], term
    response = admin_client.get(PRODUCTS, {"q": "mug"})
    assert [p.title for p in response.context["cl"].result_list] == ["Crème Mug", "Travel Mug"]
    assert response.context["cl"].result_count == 2  # the capped count reads the same search
    # A header click sorts the results by that column instead.
    response = admin_client.get(PRODUCTS, {"q": "mug", "o": "-2"})
    assert [p.title for p in response.context["cl"].result_list] == ["Travel Mug", "Crème Mug"]


def test_the_admin_search_costs_the_same_queries_at_10_and_100_rows(admin_client, catalog, monkeypatch):
    shelf = CollectionFactory()
    for i in range(110):
        ProductFactory(title=f"Water Bottle {i}", collection=shelf)
    url = f"{PRODUCTS}?q=bott"
    small = changelist_query_count(admin_client, url, Product, per_page=10, monkeypatch=monkeypatch)
    large = changelist_query_count(admin_client, url, Product, per_page=100, monkeypatch=monkeypatch)
    assert small == large <= 12  # the list's 9, plus a read of each rank the page reaches


@pytest.mark.parametrize(
    ("model_name", "field_name"),
    [("orderitem", "product"), ("collection", "featured_product")],
)
def test_autocompletes_of_products_search_the_same_way(admin_client, catalog, model_name, field_name):
    OrderFactory()
    for term, title in EXAMPLES:
        response = admin_client.get(
            reverse("admin:autocomplete"),
            {"app_label": "store", "model_name": model_name, "field_name": field_name, "term": term},
        )
        assert response.status_code == 200
        assert [r["text"] for r in response.json()["results"]] == [title], term


def test_an_export_of_a_searched_list_exports_what_the_list_showed(admin_user, catalog):
    for term, title in EXAMPLES:
        job = ExportJob(requested_by=admin_user, model_label="store.product", file_format="csv", filters=f"q={term}")
        _, queryset = export_source(job=job)
        assert list(queryset.values_list("title", flat=True)) == [title], term


def test_the_api_searches_the_same_way_best_first(client, catalog):
    for term, title in EXAMPLES:
        response = client.get("/api/products/", {"search": term})
        assert [row["title"] for row in response.json()["results"]] == [title], term
    response = client.get("/api/products/", {"search": "mug"})
    assert [row["title"] for row in response.json()["results"]] == ["Crème Mug", "Travel Mug"]
    response = client.get("/api/products/", {"search": "mug", "ordering": "-title"})
    assert [row["title"] for row in response.json()["results"]] == ["Travel Mug", "Crème Mug"]


def test_the_index_can_be_rebuilt(catalog):
    search_index_clear()
    assert found("bott") == []
    assert search_index_build() == len(catalog)
    assert found("bott") == ["Heavy-duty Water Bottle 7"]
    assert ProductSearchTerm.objects.filter(product=catalog["Classic Hoodie"]).count() == 6


def test_the_rebuild_command_rewrites_stale_missing_and_orphan_terms(catalog, monkeypatch):
    """Rows changed behind the write paths' back (a raw UPDATE, lost terms, a deleted product's
    leftovers) are found as they are once the index is rebuilt, range by range."""
    monkeypatch.setattr("store.search.services.BUILD_CHUNK", 3)  # several ranges, and a gap between them
    bottle, hoodie = catalog["Heavy-duty Water Bottle 7"], catalog["Classic Hoodie"]
    Product.objects.filter(pk=bottle.pk).update(title="Heavy-duty Flask 7")  # no save(): terms stale
    ProductSearchTerm.objects.filter(product=hoodie).delete()
    ProductSearchTerm.objects.create(term="ghost", product_id=10**9, title="Ghost", is_variant=False)
    fresh = ProductSearchTerm.objects.order_by("product_id", "term").values_list("term", "product_id", "title")
    assert found("flask") == []
    assert found("hoodie") == []
    out = io.StringIO()

    call_command("rebuild_search_index", stdout=out)

    assert found("flask") == ["Heavy-duty Flask 7"]
    assert found("bott") == []
    assert found("hoodie") == ["Classic Hoodie"]
    assert not ProductSearchTerm.objects.filter(product_id=10**9).exists()
    rebuilt = list(fresh)
    search_index_clear()
    search_index_build()
    assert rebuilt == list(fresh)
    assert f"Search index rebuilt: {len(catalog):,} product(s)" in out.getvalue()


def test_every_page_of_a_searched_list_follows_the_ranking(admin_client):
    shelf = CollectionFactory()
    for i in range(70):  # three ranks of 70: the second page starts in the first, the third spans two
        ProductFactory(title=f"Mug {i:02d}", collection=shelf)
        ProductFactory(title=f"Big Mug {i:02d}", collection=shelf)
        ProductFactory(title=f"Red Mugs {i:02d}", collection=shelf)
    ranked = list(selectors.product_search(term="mug").values_list("pk", flat=True))
    shown = []
    for page in (1, 2, 3):
        response = admin_client.get(PRODUCTS, {"q": "mug", "p": page})
        shown += [p.pk for p in response.context["cl"].result_list]
    assert shown == ranked
    assert [Product.objects.get(pk=pk).title for pk in (shown[0], shown[70], shown[140])] == [
        "Mug 00",
        "Big Mug 00",
        "Red Mugs 00",
    ]
