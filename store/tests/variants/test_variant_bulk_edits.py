"""Bulk edits of products with variants: price and stock apply to sellable units (a selected product
with variants stands for its variants), collection, status, promotions and tags to products (a
selected variant stands for its product); each row once, with versions, history and revert."""

from decimal import Decimal

import pytest
from django.db.models import Q

from store.bulk import actions as bulk_actions
from store.bulk import apply as bulk_apply
from store.models import Product
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory
from store.tests.variants.conftest import make_parent, make_variant

pytestmark = pytest.mark.django_db


def run(name, products, **parameters):
    return bulk_apply.bulk_edit_apply(
        action=bulk_actions.get_bulk_action(name),
        products=products,
        parameters=parameters,
        user=None,
        skip_refused=True,
    )


def test_a_price_raise_of_a_product_with_variants_raises_its_variants(tshirt):
    mug = ProductFactory(unit_price=Decimal("10.00"))
    edit = run("change_price", Product.objects.filter(pk__in=[tshirt.pk, mug.pk]), mode="raise", amount="1.00")
    assert (edit.changed_count, edit.refused_count) == (7, 0)  # six variants and the mug
    prices = dict(tshirt.variants.values_list("sku", "unit_price"))
    assert prices["TS-GS"] == Decimal("19.00")
    assert prices["TS-BL"] == Decimal("25.00")
    tshirt.refresh_from_db()
    assert tshirt.version == 1  # the product itself is not sold: not touched
    variant = Product.objects.get(sku="TS-GS")
    assert variant.version == 2
    assert variant.history.first().history_change_reason == str(edit)


def test_a_variant_selected_with_its_product_is_raised_once(tshirt):
    selection = Product.objects.filter(Q(pk=tshirt.pk) | Q(parent=tshirt))  # select all in the units view and more
    edit = run("adjust_inventory", selection, delta=5)
    assert edit.changed_count == 6
    assert set(tshirt.variants.values_list("inventory", flat=True)) == {55}


def test_the_preview_counts_what_the_edit_would_change(tshirt):
    report = bulk_apply.bulk_edit_preview(
        action=bulk_actions.get_bulk_action("adjust_inventory"),
        products=Product.objects.filter(pk=tshirt.pk),
        parameters={"delta": -60},
    )
    assert (report.changed, report.refused) == (0, 6)
    assert report.refusals[0].reason == bulk_actions.REFUSED_INVENTORY_NEGATIVE.format(old=50, delta=-60)


def test_moving_variants_moves_their_product_once(tshirt):
    target = CollectionFactory(title="Summer")
    edit = run("move_to_collection", Product.objects.filter(parent=tshirt), collection_id=target.pk)
    assert edit.changed_count == 1
    tshirt.refresh_from_db()
    assert (tshirt.collection_id, tshirt.version) == (target.pk, 2)
    assert not Product.objects.filter(parent=tshirt, collection__isnull=False).exists()


def test_a_product_comes_once_when_its_variants_fall_in_several_batches(tshirt, monkeypatch):
    monkeypatch.setattr(bulk_apply, "BATCH", 2)
    other = make_parent(title="Hoodie", sku="HD")
    make_variant(other, "Black", "M")
    edit = run("set_status", Product.objects.filter(structure="variant"), value=Product.Status.ARCHIVED)
    assert edit.changed_count == 2
    assert set(Product.objects.filter(structure="parent").values_list("status", flat=True)) == {"archived"}
    assert Product.history.filter(id=tshirt.pk, history_change_reason=str(edit)).count() == 1


def test_promotions_go_to_the_product_of_a_selected_variant(tshirt):
    promotion = PromotionFactory()
    run("add_promotion", Product.objects.filter(sku="TS-GS"), promotion_id=promotion.pk)
    assert list(promotion.products.all()) == [tshirt]


def _shirts(count: int, collection) -> None:
    for number in range(count):
        parent = make_parent(title=f"Shirt {number}", sku=f"SH{collection.pk}-{number}", collection=collection)
        for size in ("S", "M", "L"):
            make_variant(parent, "Green", size)
    ProductFactory.create_batch(count, collection=collection)


def test_a_price_raise_costs_no_query_per_product_or_variant(django_assert_max_num_queries):
    small, large = CollectionFactory(), CollectionFactory()
    _shirts(2, small)
    _shirts(20, large)
    # one batch: the same for 8 rows as for 80 (the variants' products' price among them, one UPDATE)
    with django_assert_max_num_queries(13):
        assert (
            run("change_price", Product.objects.filter(collection=small), mode="raise", amount="1.00").changed_count
            == 8
        )
    with django_assert_max_num_queries(13):
        assert (
            run("change_price", Product.objects.filter(collection=large), mode="raise", amount="1.00").changed_count
            == 80
        )
