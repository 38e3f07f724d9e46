"""Which rows are sold and which are listed: the selectors every page and count goes through."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store import selectors
from store.models import Product
from store.search import selectors as search_selectors
from store.search.selectors import DRIVER_ROWS, search_words
from store.tests.factories import ProductFactory
from store.tests.variants.conftest import make_parent, make_variant
from store.variants.services import variant_delete

pytestmark = pytest.mark.django_db


def test_sellable_units_are_products_without_variants_and_variants(tshirt):
    plain = ProductFactory(title="Mug")
    units = set(selectors.product_list_sellable_units().values_list("pk", flat=True))
    assert units == {plain.pk, *tshirt.variants.values_list("pk", flat=True)}
    products = set(selectors.product_list_products().values_list("pk", flat=True))
    assert products == {plain.pk, tshirt.pk}


def test_the_variant_summary_counts_prices_and_stock_of_each_product(tshirt):
    ProductFactory(title="Mug")
    Product.objects.filter(parent=tshirt, option2="L").update(track_inventory=False)
    rows = {
        product.title: product
        for product in selectors.product_list_with_variant_summary(queryset=selectors.product_list_products())
    }
    shirt, mug = rows["Example T-Shirt"], rows["Mug"]
    assert (shirt.variant_count, shirt.variant_price_min, shirt.variant_price_max) == (
        6,
        Decimal("18.00"),
        Decimal("24.00"),
    )
    assert (shirt.variant_stock, shirt.variant_stock_min) == (200, 50)  # the two untracked L's not counted
    assert (mug.variant_count, mug.variant_price_min, mug.variant_stock) == (0, None, None)


def test_a_product_is_low_when_any_variant_is_low(tshirt, settings):
    settings.LOW_STOCK_THRESHOLD = 10
    summary = selectors.product_list_with_variant_summary(queryset=Product.objects.filter(pk=tshirt.pk))
    assert selectors.product_variant_stock_status(product=summary.get()) == selectors.STOCK_OK
    Product.objects.filter(parent=tshirt, sku="TS-GM").update(inventory=3)
    assert selectors.product_variant_stock_status(product=summary.get()) == selectors.STOCK_LOW
    Product.objects.filter(parent=tshirt, sku="TS-BS").update(inventory=0)
    assert selectors.product_variant_stock_status(product=summary.get()) == selectors.STOCK_OUT
    Product.objects.filter(parent=tshirt).update(track_inventory=False)
    assert selectors.product_variant_stock_status(product=summary.get()) == selectors.STOCK_UNTRACKED


def test_searching_a_variants_sku_or_option_values_finds_its_product(tshirt):
    """The one product search finds a product by its variants' SKUs and option values (they are
    terms of the product too), and stops when a variant is removed."""
    ProductFactory(title="Tsar mug", sku="TSAR-1")
    listed = selectors.product_list_products()
    assert list(selectors.product_search(term="ts-gm", queryset=listed)) == [tshirt]
    assert list(selectors.product_search(term="t-shirt green", queryset=listed)) == [tshirt]
    assert [product.title for product in selectors.product_search(term="tsar", queryset=listed)] == ["Tsar mug"]
    variant = tshirt.variants.get(sku="TS-GM")
    variant_delete(variant=variant)
    assert not selectors.product_search(term="ts-gm", queryset=listed).exists()


def test_order_lines_find_a_variant_by_product_title_option_values_or_sku(tshirt):
    other = make_parent(title="Hoodie", sku="HO")
    make_variant(other, "Green", "XL")
    plain = ProductFactory(title="Example mug", sku="MUG")

    def found(term: str) -> set[str]:
        return set(selectors.product_search_sellable_units(term=term).values_list("sku", flat=True))

    assert found("example") == {"TS-GS", "TS-GM", "TS-GL", "TS-BS", "TS-BM", "TS-BL", plain.sku}
    assert found("green") == {"TS-GS", "TS-GM", "TS-GL", "HO-GXL"}
    assert found("ts-b") == {"TS-BS", "TS-BM", "TS-BL"}
    assert tshirt.sku not in found("TS")  # a product with variants is never sold itself


@pytest.mark.parametrize("common_from", [DRIVER_ROWS, 1], ids=["set", "walked"])
def test_order_lines_find_units_by_every_word_as_the_rule_says(tshirt, common_from, monkeypatch):
    """Each search of one to three words (title words, option values, SKU segments, prefixes)
    finds exactly the units the rule gives, read from each unit's own words and its product's:
    the set-based search (one word read as a set, the others checked per unit) and the picker's
    walk of common words (every word a common one here) must agree."""
    monkeypatch.setattr(search_selectors, "DRIVER_ROWS", common_from)
    hoodie = make_parent(title="Green Hoodie", sku="HO")
    for colour, size in (("Green", "S"), ("Blue", "S"), ("Blue", "XL")):
        make_variant(hoodie, colour, size)
    ProductFactory(title="Blue mug", sku="MUG-S")
    units = list(selectors.product_list_sellable_units().select_related("parent"))

    def words_of(product: Product) -> set[str]:
        return set(search_words(f"{product.title} {product.sku}"))

    def finds(word: str, unit: Product) -> bool:
        def starts(product: Product) -> bool:
            return any(own.startswith(word) for own in words_of(product))

        if starts(unit):
            return True
        parent = unit.parent
        if parent is None or not starts(parent):
            return False
        return not any(starts(sibling) for sibling in parent.variants.all())

    searches = ["green", "blue", "s", "xl", "ho", "hoodie blue", "example s", "blue s", "green s", "mug s", "t b"]
    searches += ["green hoodie s", "ts-b", "ho-bs", "blue xl green"]
    for term in searches:
        expected = {unit.sku for unit in units if all(finds(word, unit) for word in search_words(term))}
        found = set(selectors.product_search_sellable_units(term=term).values_list("sku", flat=True))
        assert found == expected, term
        picked = list(selectors.product_pick_units(term=term).values_list("sku", flat=True))
        assert set(picked) == expected, term


def test_the_picker_tests_each_unit_by_lookups_not_by_a_set_of_every_matching_term(tshirt, monkeypatch):
    """A common word's units are tested one by one as the picker walks the catalog: a scalar
    subquery per test, which MariaDB runs for each unit read. As ``EXISTS`` it built a set of
    every term row of the word first (0.6 s for an option value at 1M sellable units)."""
    monkeypatch.setattr(search_selectors, "DRIVER_ROWS", 1)
    sql = str(selectors.product_pick_units(term="green s").query).replace('"', "").replace("`", "")
    assert sql.count("IS NOT NULL") >= 2 * 3, sql  # each word: its own, its product's, a sibling's
    assert "EXISTS" not in sql, sql
    assert set(selectors.product_pick_units(term="green s").values_list("sku", flat=True)) == {"TS-GS"}


@pytest.mark.parametrize("beyond", [0, 1], ids=["common", "rare"])
def test_the_pickers_one_word_is_common_from_its_driver_rows_th_term_row(tshirt, monkeypatch, beyond):
    """One word: walked when it has ``DRIVER_ROWS`` term rows or more, which its ``DRIVER_ROWS``-th
    row says (no count of them: nothing to choose between); the picks are the same either way."""
    hoodie = make_parent(title="Green Hoodie", sku="HO")
    for size in ("S", "XL"):
        make_variant(hoodie, "Green", size)
    ProductFactory(title="Green mug", sku="MUG-G")
    rows = search_selectors._starting("green").count()
    expected = list(selectors.product_pick_units(term="green").values_list("sku", flat=True))
    assert len(expected) >= 4
    monkeypatch.setattr(search_selectors, "DRIVER_ROWS", rows + beyond)
    with CaptureQueriesContext(connection) as queries:
        picked = list(selectors.product_pick_units(term="green").values_list("sku", flat=True))
    assert picked == expected
    sqls = [q["sql"] for q in queries]
    assert not any(sql.startswith("SELECT COUNT(") for sql in sqls), sqls
    page = sqls[-1]
    assert ("UNION" not in page) == (beyond == 0), page  # walked, or the word's units read as one set
