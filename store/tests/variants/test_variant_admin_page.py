"""The product page of a product with variants: the options editor and the variants inline."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from store.models import ERROR_SHARED_REQUIRED, OrderItem, Product
from store.tests.admin_helpers import changeform_data
from store.tests.factories import OrderFactory, ProductFactory
from store.variants import services as variant_services

pytestmark = pytest.mark.django_db


def url(product: Product) -> str:
    return f"/admin/store/product/{product.pk}/change/"


def post(client, product: Product, **changes):
    return client.post(url(product), changeform_data(client.get(url(product)), **changes))


def variant_prefix(response) -> str:
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is Product:
            return inline.formset.prefix
    raise AssertionError("no variants inline")


def test_options_make_a_product_with_variants_and_a_new_value_adds_its_variants(admin_client):
    product = ProductFactory(sku="TS", title="T-Shirt", unit_price=Decimal("20.00"), inventory=7)
    response = post(admin_client, product, options="Colour: Green, Blue; Size: S, M")
    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert (product.structure, product.option_names, product.inventory, product.version) == (
        Product.Structure.PARENT,
        ["Colour", "Size"],
        0,
        2,
    )
    assert sorted(product.variants.values_list("sku", "title", "unit_price", "inventory")) == [
        ("TS-BLUE-M", "Blue / M", Decimal("20.00"), 0),
        ("TS-BLUE-S", "Blue / S", Decimal("20.00"), 0),
        ("TS-GREEN-M", "Green / M", Decimal("20.00"), 0),
        ("TS-GREEN-S", "Green / S", Decimal("20.00"), 0),
    ]
    assert Product.history.filter(sku="TS-GREEN-S", history_type="+").exists()

    page = admin_client.get(url(product))
    assert page.context["adminform"].form.initial["options"] == "Colour: Green, Blue; Size: S, M"
    response = post(admin_client, product, options="Colour: Green, Blue; Size: S, M, L")
    assert response.status_code == 302
    assert product.variants.count() == 6
    assert set(product.variants.filter(option2="L").values_list("sku", flat=True)) == {"TS-GREEN-L", "TS-BLUE-L"}


def test_options_of_a_product_with_variants_keep_their_names(admin_client, tshirt):
    response = post(admin_client, tshirt, options="Size: S, M, L; Colour: Green, Blue")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["options"] == [
        variant_services.ERROR_OPTIONS_RENAMED.format(names="Colour, Size")
    ]


def test_a_product_sold_as_it_is_cannot_get_variants(admin_client):
    product = ProductFactory()
    OrderItem.objects.create(order=OrderFactory(), product=product, quantity=1, unit_price=product.unit_price)
    response = post(admin_client, product, options="Size: S, M")
    assert response.status_code == 200
    assert "cannot get variants" in response.context["adminform"].form.errors["options"][0]
    product.refresh_from_db()
    assert product.structure == Product.Structure.STANDALONE


def test_options_that_do_not_parse_are_a_field_error(admin_client):
    product = ProductFactory()
    response = post(admin_client, product, options="Colour Green")
    assert response.context["adminform"].form.errors["options"] == [variant_services.ERROR_OPTIONS_SYNTAX]


def test_a_product_with_variants_shows_their_price_range_and_stock_not_its_own(admin_client, tshirt):
    Product.objects.filter(sku="TS-BL").update(inventory=0)
    tshirt.inventory, tshirt.track_inventory = 0, False  # its own columns: nothing is sold from them
    tshirt.save()
    page = admin_client.get(url(tshirt))
    fields = [field for fieldset in page.context["adminform"] for line in fieldset for field in line]
    shown = {field.field["name"]: field.contents() for field in fields if field.is_readonly}
    assert shown["variants_price_and_stock"] == "6 variants · 18.00–24.00 · 250 in stock"
    assert not {"unit_price", "inventory", "track_inventory"} & set(shown)
    assert "edit them under Variants, below" in page.text
    response = post(admin_client, tshirt, title="Example T-Shirt, organic")  # the page still saves
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Product.objects.get(pk=tshirt.pk).title == "Example T-Shirt, organic"
    past = admin_client.get(f"{url(tshirt).removesuffix('change/')}history/{tshirt.history.earliest().history_id}/")
    assert past.status_code == 200
    assert "variants ·" not in past.text  # a past version shows its own columns as they were, not today's


def test_the_variants_inline_edits_price_and_stock_with_versions_and_history(admin_client, tshirt):
    page = admin_client.get(url(tshirt))
    assert "unit_price" not in page.context["adminform"].form.fields  # read-only: the variants are sold
    prefix = variant_prefix(page)
    formset = next(i.formset for i in page.context["inline_admin_formsets"] if i.formset.model is Product)
    index = next(n for n, form in enumerate(formset.forms) if form.instance.sku == "TS-GM")
    response = post(
        admin_client, tshirt, **{f"{prefix}-{index}-unit_price": "21.50", f"{prefix}-{index}-inventory": "4"}
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    variant = Product.objects.get(sku="TS-GM")
    assert (variant.unit_price, variant.inventory, variant.version) == (Decimal("21.50"), 4, 2)
    record = variant.history.latest()
    assert {c.field: (c.old, c.new) for c in record.diff_against(record.prev_record).changes} == {
        "unit_price": (Decimal("18.00"), Decimal("21.50")),
        "inventory": (50, 4),
    }


def test_a_variant_changed_meanwhile_is_not_overwritten(admin_client, tshirt):
    page = admin_client.get(url(tshirt))
    prefix = variant_prefix(page)
    formset = next(i.formset for i in page.context["inline_admin_formsets"] if i.formset.model is Product)
    index = next(n for n, form in enumerate(formset.forms) if form.instance.sku == "TS-GM")
    data = changeform_data(page, **{f"{prefix}-{index}-inventory": "1"})
    Product.objects.filter(sku="TS-GM").update(inventory=9, version=5)
    response = admin_client.post(url(tshirt), data)
    assert response.status_code == 200
    assert Product.objects.get(sku="TS-GM").inventory == 9


def test_removing_a_sold_variant_is_refused_with_the_reason(admin_client, tshirt):
    sold = Product.objects.get(sku="TS-GS")
    order = OrderFactory()
    OrderItem.objects.create(order=order, product=sold, quantity=1, unit_price=sold.unit_price)
    page = admin_client.get(url(tshirt))
    prefix = variant_prefix(page)
    formset = next(i.formset for i in page.context["inline_admin_formsets"] if i.formset.model is Product)
    sold_at = next(n for n, form in enumerate(formset.forms) if form.instance.sku == "TS-GS")
    unsold_at = next(n for n, form in enumerate(formset.forms) if form.instance.sku == "TS-BL")
    response = admin_client.post(url(tshirt), changeform_data(page, **{f"{prefix}-{sold_at}-DELETE": "on"}))
    assert response.status_code == 200
    assert variant_services.ERROR_VARIANT_SOLD.format(variant="Green / S", order=order.pk) in str(
        response.context["errors"]
    )
    assert Product.objects.filter(sku="TS-GS").exists()
    response = admin_client.post(url(tshirt), changeform_data(page, **{f"{prefix}-{unsold_at}-DELETE": "on"}))
    assert response.status_code == 302
    assert not Product.objects.filter(sku="TS-BL").exists()
    assert tshirt.variants.count() == 5


def test_a_variant_row_added_in_the_inline_is_a_variant_of_the_product(admin_client, tshirt):
    page = admin_client.get(url(tshirt))
    prefix = variant_prefix(page)
    data = changeform_data(page)
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": str(total + 1),
            f"{prefix}-{total}-option1": "Red",
            f"{prefix}-{total}-option2": "S",
            f"{prefix}-{total}-sku": "TS-RS",
            f"{prefix}-{total}-unit_price": "19.00",
            f"{prefix}-{total}-inventory": "3",
        }
    )
    response = admin_client.post(url(tshirt), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    red = Product.objects.get(sku="TS-RS")
    assert (red.structure, red.parent_id, red.title, red.slug, red.status) == (
        "variant",
        tshirt.pk,
        "Red / S",
        None,
        None,
    )


def test_the_service_refuses_to_remove_a_sold_variant_and_says_why(tshirt):
    sold = Product.objects.get(sku="TS-GS")
    order = OrderFactory()
    OrderItem.objects.create(order=order, product=sold, quantity=1, unit_price=sold.unit_price)
    with pytest.raises(ValidationError) as caught:
        variant_services.variant_delete(variant=sold)
    assert caught.value.messages == [variant_services.ERROR_VARIANT_SOLD.format(variant="Green / S", order=order.pk)]
    variant_services.variant_delete(variant=Product.objects.get(sku="TS-BL"))
    assert tshirt.variants.count() == 5


def test_options_parse_and_render():
    options = variant_services.options_parse(" Colour: Green, Blue ;Size:S,M,L; ")
    assert options == [
        variant_services.Option("Colour", ("Green", "Blue")),
        variant_services.Option("Size", ("S", "M", "L")),
    ]
    assert variant_services.options_render(options) == "Colour: Green, Blue; Size: S, M, L"
    for bad, error in (
        ("A: 1; B: 2; C: 3; D: 4", variant_services.ERROR_OPTIONS_COUNT),
        ("Size: S, s", variant_services.ERROR_OPTION_VALUE_TWICE.format(name="Size", value="s")),
        ("Size: S; size: M", variant_services.ERROR_OPTION_NAME_TWICE.format(name="size")),
    ):
        with pytest.raises(ValidationError) as caught:
            variant_services.options_parse(bad)
        assert caught.value.messages == [error]


def test_an_incomplete_add_says_each_missing_field_once(admin_client):
    page = admin_client.get("/admin/store/product/add/")
    data = changeform_data(page, title="Cap", sku="CAP-1", unit_price="12.00", inventory="3")
    data.pop("collection", None)
    refused = admin_client.post("/admin/store/product/add/", data)
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["collection"] == ["This field is required."]
    assert ERROR_SHARED_REQUIRED not in refused.content.decode()
    assert not Product.objects.filter(sku="CAP-1").exists()


def test_the_variants_inline_shows_the_products_options_only_headed_by_their_names(admin_client, tshirt):
    page = admin_client.get(url(tshirt))
    formset = page.context["inline_admin_formsets"]
    variants = next(inline for inline in formset if inline.formset.model is Product)
    assert [field["label"] for field in variants.fields()][:3] == ["Colour", "Size", "SKU"]
    assert "option3" not in variants.formset.form.base_fields
    # Another request's form keeps its own labels (the form class is made per request).
    assert Product._meta.get_field("option1").verbose_name != "Colour"


def test_a_variants_own_page_edits_what_the_variant_has_and_saves(admin_client, tshirt):
    variant = tshirt.variants.get(sku="TS-GM")
    page = admin_client.get(url(variant))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert not {"options", "slug", "status", "collection", "promotions"} & set(form.fields)
    saved = admin_client.post(url(variant), changeform_data(page, compare_at_price="30.00", inventory="12"))
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    variant.refresh_from_db()
    assert (variant.compare_at_price, variant.inventory, variant.version) == (Decimal("30.00"), 12, 2)
