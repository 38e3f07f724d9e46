"""Bulk edits of price and stock apply to sellable units: a product with variants is refused, its
variants (and products without variants) are changed."""

from decimal import Decimal

import pytest

from store.bulk import actions as bulk_actions
from store.bulk import apply as bulk_apply
from store.models import Product

pytestmark = pytest.mark.django_db


def run(name, products, **parameters):
    return bulk_apply.bulk_edit_apply(
        action=bulk_actions.get_bulk_action(name),
        products=products,
        parameters=parameters,
        user=None,
        skip_refused=True,
    )


@pytest.mark.parametrize(
    ("name", "parameters"),
    [("adjust_inventory", {"delta": 5}), ("change_price", {"mode": "raise", "amount": "1.00", "ending": ""})],
)
def test_price_and_stock_edits_refuse_a_product_with_variants_and_change_its_variants(tshirt, name, parameters):
    edit = run(name, Product.objects.filter(pk=tshirt.pk), **parameters)
    assert (edit.changed_count, edit.refused_count) == (0, 1)
    tshirt.refresh_from_db()
    assert (tshirt.inventory, tshirt.track_inventory) == (0, False)

    edit = run(name, Product.objects.filter(parent=tshirt), **parameters)
    assert edit.changed_count == 6
    variant = Product.objects.get(sku="TS-GS")
    assert (variant.inventory, variant.unit_price) in {(55, Decimal("18.00")), (50, Decimal("19.00"))}
