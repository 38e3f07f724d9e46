"""The API's price and last-update orders read from index walks (store.variants.selectors:
``product_list_ordered``, ``product_page_by_latest_update``) give exactly the pages of the plain
sort of the values each product is served with: ties broken by id, drafts never listed, with
every filter, and however the walk ends (within a chunk, after several, or sorted)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from store.models import Collection, Product
from store.tests.api.conftest import results
from store.tests.factories import CollectionFactory, ProductFactory
from store.tests.variants.conftest import make_parent, make_variant
from store.variants import selectors as variant_selectors

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
#: few timestamps and prices, so that many products tie on each
STAMPS = [T0 + timedelta(hours=hours) for hours in range(4)]
PRICES = [Decimal(price) for price in ("5.00", "7.50", "9.00")]
ORDERINGS = ["unit_price", "-unit_price", "last_update", "-last_update"]


def catalog() -> dict[str, list[int]]:
    """36 products in two collections: without variants, with 1-3 variants (some of them out of
    stock), one whose variants were all removed; a sixth of them drafts or archived, each kind
    with variants too, and the newest variant of all a draft's. Own and variants' saves are drawn
    from four timestamps (a product saved long before its variants, or after them), prices from
    three: ties everywhere. Returns the ids of the hidden products and of the collections."""
    rng = random.Random(21)
    collections: list[Collection] = [CollectionFactory.create(title="Shirts"), CollectionFactory.create(title="Mugs")]
    hidden: list[int] = []
    stamps: dict[int, datetime] = {}
    for index in range(36):
        fields: dict[str, object] = {"title": f"Item {index % 7} shirt" if index % 3 else f"Item {index} mug"}
        fields |= {"collection": collections[index % 2], "sku": f"P{index:03}"}
        if index % 6 == 5:
            fields["status"] = (Product.Status.DRAFT, Product.Status.ARCHIVED)[index % 4 == 1]
        if index % 3 == 0:
            product: Product = ProductFactory.create(unit_price=rng.choice(PRICES), **fields)
        else:
            product = make_parent(**fields)
            for number in range(index % 4 if index != 4 else 0):  # (product 4: every variant removed)
                variant = make_variant(
                    product,
                    f"C{number}",
                    "S",
                    sku=f"P{index:03}-{number}",
                    unit_price=rng.choice(PRICES) + number,
                    inventory=rng.choice([0, 0, 3]),
                )
                stamps[variant.pk] = rng.choice(STAMPS)
        stamps[product.pk] = rng.choice(STAMPS)
        if "status" in fields:
            hidden.append(product.pk)
    newest = Product.objects.filter(parent_id__in=hidden).order_by("pk").first()
    assert newest is not None
    stamps[newest.pk] = STAMPS[-1] + timedelta(days=1)
    for pk, when in stamps.items():
        Product.objects.filter(pk=pk).update(last_update=when)
    return {"hidden": hidden, "collections": [collection.pk for collection in collections]}


def every_page(api, params: dict, page_size: int) -> list[int]:
    ids: list[int] = []
    for page in range(1, 100):
        response = api.get("/api/products/", {**params, "page_size": page_size, "page": page})
        if response.status_code == 404:
            return ids
        ids += [row["id"] for row in results(response)]
    raise AssertionError("more pages than expected")


def served(api, params: dict) -> dict[int, dict]:
    """The products ``params`` list, as served (the default title order: not walked)."""
    rows = results(api.get("/api/products/", {**params, "page_size": 100}))
    return {row["id"]: row for row in rows}


def plainly_sorted(rows: dict[int, dict], ordering: str) -> list[int]:
    """The rows sorted on the values they are served with (``ordering``'s terms, comma-separated),
    then id in the first term's direction."""
    terms = ordering.split(",")
    ordered = sorted(rows.values(), key=lambda row: row["id"], reverse=terms[0].startswith("-"))
    for term in reversed(terms):  # a stable sort per term, the last first
        field = term.removeprefix("-")
        if field == "title":  # (titles of one case: the databases' collations agree)
            ordered.sort(key=lambda row: row["title"], reverse=term.startswith("-"))
        elif field == "unit_price":
            ordered.sort(key=lambda row: Decimal(row["unit_price"]), reverse=term.startswith("-"))
        else:
            ordered.sort(key=lambda row: datetime.fromisoformat(row[field]), reverse=term.startswith("-"))
    return [row["id"] for row in ordered]


def filters(made: dict[str, list[int]]) -> list[dict]:
    return [
        {},
        {"collection_id": made["collections"][0]},
        {"unit_price__gt": "6.00", "unit_price__lt": "10.00"},
        {"in_stock": "true"},
        {"in_stock": "false", "collection_id": made["collections"][1]},
        {"search": "shirt"},
        {"updated_since": (STAMPS[2]).isoformat()},
        {"search": "shirt", "in_stock": "true", "unit_price__lt": "10.00"},
    ]


@pytest.fixture(params=["walked", "from ids"])
def made(request, monkeypatch) -> dict[str, list[int]]:
    """The catalog, its filtered pages walked, or read from their matches' ids (few matches:
    ``ProductPages``)."""
    if request.param == "walked":
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES", 0)
    else:  # however many of the products the filter keeps
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES_SHARE", 0)
    return catalog()


def assert_pages_are_the_plain_sort(api, made: dict[str, list[int]], orderings: list[str]) -> None:
    for params in filters(made):
        rows = served(api, params)
        assert not set(rows) & set(made["hidden"])
        for ordering in orderings:
            expected = plainly_sorted(rows, ordering)
            for page_size in (1, 4, 100) if not params else (4,):
                got = every_page(api, {**params, "ordering": ordering}, page_size)
                assert got == expected, (params, ordering, page_size)


def test_every_page_of_each_order_is_the_plain_sort(api, made):
    assert len(served(api, {})) == 30
    assert_pages_are_the_plain_sort(api, made, ORDERINGS)


def test_a_price_order_with_a_second_key_is_the_plain_sort(api, made):
    """Prices tie: the second key (the computed last update, or the plain one in a catalog without
    variants) orders the walk as it orders the rows."""
    orderings = ["unit_price,-last_update", "-unit_price,last_update", "unit_price,title"]
    assert_pages_are_the_plain_sort(api, made, orderings)
    Product.objects.filter(structure=Product.Structure.VARIANT).delete()
    Product.objects.filter(structure=Product.Structure.PARENT).update(structure=Product.Structure.STANDALONE)
    assert_pages_are_the_plain_sort(api, made, orderings)


@pytest.mark.parametrize(
    "limits",
    [
        pytest.param({"LATEST_UPDATE_WALK_CHUNK": 2}, id="several chunks"),
        pytest.param({"LATEST_UPDATE_WALK_CHUNK": 2, "LATEST_UPDATE_WALK_BUDGET": 3}, id="over budget: sorted"),
        pytest.param({"LATEST_UPDATE_WALK_DEPTH": 3}, id="deep pages sorted"),
    ],
)
def test_the_last_update_orders_are_exact_however_the_walk_ends(api, made, monkeypatch, limits):
    for name, value in limits.items():
        monkeypatch.setattr(variant_selectors, name, value)
    assert_pages_are_the_plain_sort(api, made, ["last_update", "-last_update"])


def test_a_product_saved_long_ago_comes_first_by_its_newest_variant(api):
    """Among many products saved after it (own saves, the first walk), the product whose variant
    was saved last is found by the variants' walk; a tie with it is broken by id."""
    later = ProductFactory.create_batch(5)
    old = make_parent(title="Old")
    variant = make_variant(old, "Green", "S")
    tied = ProductFactory(title="Tied")
    Product.objects.filter(pk__in=[p.pk for p in later]).update(last_update=T0 + timedelta(days=1))
    Product.objects.filter(pk=old.pk).update(last_update=T0)
    Product.objects.filter(pk__in=[variant.pk, tied.pk]).update(last_update=T0 + timedelta(days=2))
    first_two = [tied.pk, old.pk] if tied.pk > old.pk else [old.pk, tied.pk]
    page = results(api.get("/api/products/", {"ordering": "-last_update", "page_size": 2}))
    assert [row["id"] for row in page] == first_two
    oldest = results(api.get("/api/products/", {"ordering": "last_update", "page_size": 1}))
    assert oldest[0]["id"] == later[0].pk  # the old product is as new as its variant


def test_the_candidates_hold_the_true_top_k(made):
    """The docstrings' argument, checked directly: for every K, the candidates of each walk
    include the K first products of the full sort."""
    products = Product.objects.filter(status=Product.Status.ACTIVE)
    for descending in (True, False):
        sign = "-" if descending else ""
        key = variant_selectors.LATEST_UPDATE_KEY
        full = variant_selectors._with_latest_update_key(products).order_by(f"{sign}{key}", f"{sign}pk")
        ranked = list(full.values_list("pk", flat=True))
        find = variant_selectors._latest_first_candidates if descending else variant_selectors._oldest_first_candidates
        for top in range(1, len(ranked) + 1):
            candidates = find(queryset=products, top=top)
            assert candidates is not None
            assert set(ranked[:top]) <= candidates, (descending, top)


def test_the_variants_walk_reads_a_tie_whole_before_it_stops(api, monkeypatch):
    """Two products tie on their variants' save: the variants' walk meets the lower id's first
    (its variant's id is higher), and a walk that stopped there (one chunk a variant) would miss
    the product that comes first, the higher id."""
    monkeypatch.setattr(variant_selectors, "LATEST_UPDATE_WALK_CHUNK", 1)
    standalone = ProductFactory(title="Saved after both products")
    lower, higher = make_parent(title="Lower id"), make_parent(title="Higher id")
    of_higher = make_variant(higher, "Blue", "S")
    of_lower = make_variant(lower, "Green", "S")
    Product.objects.filter(pk__in=[lower.pk, higher.pk]).update(last_update=T0)
    Product.objects.filter(pk=standalone.pk).update(last_update=T0 + timedelta(hours=1))
    Product.objects.filter(pk__in=[of_higher.pk, of_lower.pk]).update(last_update=T0 + timedelta(hours=2))
    page = results(api.get("/api/products/", {"ordering": "-last_update", "page_size": 1}))
    assert [row["id"] for row in page] == [higher.pk]
