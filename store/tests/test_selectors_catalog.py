import pytest

from store import selectors
from store.models import Product
from store.tests.factories import ProductFactory


@pytest.mark.parametrize(("inventory", "status"), [(0, "out"), (1, "low"), (9, "low"), (10, "ok"), (500, "ok")])
def test_stock_status_uses_the_threshold(settings, inventory, status):
    settings.LOW_STOCK_THRESHOLD = 10
    assert selectors.product_stock_status(inventory=inventory) == status


@pytest.mark.django_db
def test_product_list_by_stock_status_matches_product_stock_status(settings):
    settings.LOW_STOCK_THRESHOLD = 5
    products = {inv: ProductFactory(inventory=inv) for inv in (0, 1, 4, 5, 40)}
    for status in ("out", "low", "ok"):
        expected = {p.pk for inv, p in products.items() if selectors.product_stock_status(inventory=inv) == status}
        assert set(selectors.product_list_by_stock_status(status=status).values_list("pk", flat=True)) == expected
    with pytest.raises(ValueError, match="Unknown stock status 'junk'"):
        selectors.product_list_by_stock_status(status="junk")


@pytest.mark.django_db
def test_product_search_is_store_search():
    """The selectors' product_search is the one search (tested in store/tests/search/)."""
    hood = ProductFactory(title="Classic Hoodie", sku="HD-001")
    mug = ProductFactory(title="Travel Mug", sku="MG-001")
    found = lambda term: set(selectors.product_search(term=term).values_list("pk", flat=True))  # noqa: E731
    assert found("classic hood") == {hood.pk}
    assert found("mg-") == {mug.pk}
    assert found("  ") == set(Product.objects.values_list("pk", flat=True))
    assert found("hoodie") == {hood.pk}
