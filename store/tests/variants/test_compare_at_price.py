"""A compare-at price is above the price or none: a CHECK constraint (migration 0029), and every
admin write that could break it refuses with the reason (list edit, variants inline, bulk price)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from store.bulk import actions as bulk_actions
from store.bulk import apply as bulk_apply
from store.models import ERROR_COMPARE_AT_PRICE, Product
from store.tests.admin_helpers import changeform_data, changelist_data, row_prefix
from store.tests.factories import ProductFactory
from store.tests.migrating import migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db
PRODUCTS = "/admin/store/product/"


def test_the_database_refuses_a_compare_at_price_not_above_the_price():
    product = ProductFactory(unit_price=Decimal("10.00"), compare_at_price=Decimal("12.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(unit_price=Decimal("12.00"))
    Product.objects.filter(pk=product.pk).update(unit_price=Decimal("11.99"))
    Product.objects.filter(pk=product.pk).update(compare_at_price=None, unit_price=Decimal("50.00"))


def test_a_list_edit_past_the_compare_at_price_is_a_row_error(admin_client):
    product = ProductFactory(unit_price=Decimal("10.00"), compare_at_price=Decimal("12.00"))
    other = ProductFactory(unit_price=Decimal("5.00"))
    response = admin_client.get(PRODUCTS)
    prefix = row_prefix(response, product.pk)
    data = changelist_data(response, **{f"{prefix}-unit_price": "15.00"}) | {
        f"{row_prefix(response, other.pk)}-unit_price": "6.00"
    }
    refused = admin_client.post(PRODUCTS, data)
    assert refused.status_code == 200
    errors = refused.context["cl"].formset.forms[int(prefix.split("-")[1])].errors
    assert errors == {"unit_price": [ERROR_COMPARE_AT_PRICE.format(price=Decimal("15.00"))]}
    assert ERROR_COMPARE_AT_PRICE.format(price="15.00") in refused.content.decode()
    product.refresh_from_db()
    other.refresh_from_db()
    assert (product.unit_price, other.unit_price) == (Decimal("10.00"), Decimal("5.00"))  # nothing saved


def test_a_variant_priced_past_its_compare_at_price_on_the_product_page_is_a_row_error(admin_client, tshirt):
    variant = tshirt.variants.get(sku="TS-GS")
    Product.objects.filter(pk=variant.pk).update(compare_at_price=Decimal("20.00"))
    url = f"{PRODUCTS}{tshirt.pk}/change/"
    page = admin_client.get(url)
    formset = next(
        inline.formset for inline in page.context["inline_admin_formsets"] if inline.formset.model is Product
    )
    index = next(i for i, form in enumerate(formset.forms) if form.instance.pk == variant.pk)
    prefix = formset.prefix
    refused = admin_client.post(url, changeform_data(page, **{f"{prefix}-{index}-unit_price": "21.00"}))
    assert refused.status_code == 200
    assert ERROR_COMPARE_AT_PRICE.format(price="21.00") in refused.content.decode()


def test_a_bulk_price_raise_past_the_compare_at_price_is_refused_with_the_reason():
    product = ProductFactory(sku="SALE-1", unit_price=Decimal("10.00"), compare_at_price=Decimal("10.50"))
    edit_parameters = {"mode": "raise", "amount": "1.00", "ending": ""}
    with pytest.raises(bulk_apply.BulkEditRefused) as refused:
        bulk_apply.bulk_edit_apply(
            action=bulk_actions.get_bulk_action("change_price"),
            products=Product.objects.filter(pk=product.pk),
            parameters=edit_parameters,
        )
    [refusal] = refused.value.report.refusals
    assert refusal.reason == bulk_actions.REFUSED_PRICE_COMPARE_AT.format(price="11.00", compare_at="10.50")
    product.refresh_from_db()
    assert product.unit_price == Decimal("10.00")


@pytest.mark.django_db(transaction=True)
def test_the_migration_clears_compare_at_prices_not_above_the_price_then_adds_the_check():
    apps = migrate_to([("store", "0028_product_list_parent_indexes")])
    try:
        OldProduct = apps.get_model("store", "Product")
        Collection = apps.get_model("store", "Collection")
        collection = Collection.objects.create(title="C")
        common = {"collection": collection, "inventory": 1}
        OldProduct.objects.create(sku="OK", slug="ok", title="ok", unit_price=10, compare_at_price=12, **common)
        OldProduct.objects.create(sku="BAD", slug="bad", title="bad", unit_price=10, compare_at_price=10, **common)
        OldProduct.objects.create(sku="NONE", slug="none", title="none", unit_price=10, **common)
    finally:
        migrate_to_latest()
    assert dict(Product.objects.values_list("sku", "compare_at_price")) == {
        "OK": Decimal("12.00"),
        "BAD": None,
        "NONE": None,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(sku="OK").update(unit_price=Decimal("13.00"))
