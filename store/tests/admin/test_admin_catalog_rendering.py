"""The product changelist's CPU savings change nothing the merchandiser sees or can do.

- Inputs and error lists rendered without the template engine (store/admin/rendering.py)
  give the same bytes as Django's templates: widget by widget and for whole pages.
- Row and column links spliced into a URL reversed once (rendering.object_url) are the
  URLs ``reverse`` gives.
- The table's rows, built with the per-column work done once a page
  (rendering.result_list), are the bytes of Django's ``result_list`` tag.
- Rows the user did not change cost no queries on a list-edit save.
- Pages past the first read their ids first (CappedCountPaginator.page) and show the
  same rows, in the same order, as a plain OFFSET.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin import widgets as admin_widgets
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.views.main import ChangeList
from django.db import connection
from django.forms.utils import ErrorList
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, get_script_prefix, reverse, set_script_prefix
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from store.admin import catalog, rendering
from store.admin.rendering import FAST_WIDGETS, FastCheckboxInput, RowErrorList, fast_widget
from store.models import Product
from store.tests.admin_helpers import changelist_data, row_prefix
from store.tests.factories import CollectionFactory, ProductFactory

PRODUCTS = reverse("admin:store_product_changelist")
VALUES = [
    None,
    "",
    0,
    12,
    Decimal("19.99"),
    'a "quoted" <b>&amp;</b>',
    mark_safe("<i>safe</i>"),
    ("x", 1),
    gettext_lazy('lazy "x" & <y>'),
]
ATTRS = [
    None,
    {"class": "vIntegerField", "step": "0.01", "min": 0},
    {"required": True, "disabled": False, "id": "id_form-0-x", "aria-label": "Select “a” & <b>"},
    {"aria-label": mark_safe("already &amp; safe"), "data-x": Decimal("1.50")},
    {"aria-label": gettext_lazy("Select “a” & <b>"), gettext_lazy("data-y"): "1"},
]
# A row with every character the markup must escape, in the title (aria-label) and SKU.
AWKWARD = "Mug \"Tom & Jerry\" <b>bold</b> 'single'"


def stock_twin(fast: type[forms.Widget]) -> type[forms.Widget]:
    return next(stock for stock, twin in FAST_WIDGETS.items() if twin is fast)


@pytest.mark.parametrize("fast", list(dict.fromkeys(FAST_WIDGETS.values())))
@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("attrs", ATTRS, ids=repr)
def test_fast_widgets_render_the_template_markup(fast, value, attrs):
    stock = stock_twin(fast)
    assert fast().render("form-0-x", value, attrs) == stock().render("form-0-x", value, attrs)
    assert fast(attrs={"class": "own"}).render("n", value, attrs) == stock(attrs={"class": "own"}).render(
        "n", value, attrs
    )


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_checked_checkbox_renders_the_template_markup(value):
    def checked(value):
        return True

    assert FastCheckboxInput(check_test=checked).render("c", value) == forms.CheckboxInput(check_test=checked).render(
        "c", value
    )


def test_fast_widget_keeps_the_widget_settings_and_leaves_others_alone():
    widget = admin_widgets.AdminIntegerFieldWidget(attrs={"min": 0})
    twin = fast_widget(widget)
    assert type(twin) is FAST_WIDGETS[admin_widgets.AdminIntegerFieldWidget]
    assert twin.attrs == {"class": "vIntegerField", "min": 0}
    assert twin.render("n", 3) == widget.render("n", 3)
    select = forms.Select(choices=[(1, "one")])
    assert fast_widget(select) is select
    # A subclass may have a template of its own: never swapped.
    assert fast_widget(forms.EmailInput()).__class__ is forms.EmailInput


@pytest.mark.parametrize(
    "errors", [[], ["Ensure this value is greater than or equal to 0."], ['<b>"x"</b> & y', mark_safe("<i>ok</i>")]]
)
@pytest.mark.parametrize("field_id", [None, "id_form-0-inventory"])
def test_row_error_list_renders_the_template_markup(errors, field_id):
    fast, stock = RowErrorList(errors, field_id=field_id), ErrorList(errors, field_id=field_id)
    assert str(fast) == str(stock)
    assert fast.__html__() == stock.__html__()
    assert fast.as_ul() == stock.as_ul()
    assert fast.as_text() == stock.as_text()
    assert fast.render() == stock.render()


# Ints (spliced in; one is the marker itself) and anything else (reversed as before).
PKS = [None, True, 1, 7, 10, 1234567890, 8642097531864209753, -3, "12", "a/b c_1", "été?x"]


@pytest.mark.parametrize("pk", PKS, ids=repr)
@pytest.mark.parametrize("prefix", ["/", "/shop/"])
@pytest.mark.parametrize("viewname", ["admin:store_product_change", "admin:store_collection_change"])
def test_object_url_is_the_url_reverse_gives(pk, prefix, viewname):
    previous = get_script_prefix()
    set_script_prefix(prefix)
    try:
        assert rendering.object_url(viewname, pk) == reverse(viewname, args=(pk,))
        assert rendering.object_url(viewname, pk, current_app="admin") == reverse(
            viewname, args=(pk,), current_app="admin"
        )
    finally:
        set_script_prefix(previous)


def test_object_url_fails_as_reverse_does():
    with pytest.raises(NoReverseMatch):
        rendering.object_url("admin:no_such_view", 1)


@pytest.fixture
def awkward_shelf():
    collection = CollectionFactory(title='Cups & "Mugs" <i>')
    products = [
        ProductFactory(title=f"{AWKWARD} {n:02d}", sku=f"A&B-{n:02d}", collection=collection) for n in range(12)
    ]
    products[3].inventory, products[5].unit_price = 0, Decimal("1.00")
    products[3].save()
    products[5].save()
    return products


def without_volatile_values(html: str) -> str:
    """The page minus what differs between two renders: the masked CSRF token and the render time."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)
    return re.sub(r'name="_loaded_at" value="[^"]+"', 'name="_loaded_at" value=""', html)


def template_rendered(monkeypatch) -> None:
    """Render every input and error list through Django's templates again, and the rows with its tag."""
    monkeypatch.setattr(rendering, "result_list", admin_list.result_list)
    monkeypatch.setattr(rendering, "STOCK_INPUT_TEMPLATES", frozenset())
    monkeypatch.setattr(catalog, "RowErrorList", ErrorList)
    monkeypatch.setattr(catalog, "FastCheckboxInput", forms.CheckboxInput)
    monkeypatch.setattr(catalog, "object_url", lambda viewname, pk: reverse(viewname, args=[pk]))
    monkeypatch.setattr(catalog.ProductChangeList, "url_for_result", ChangeList.url_for_result)


@pytest.mark.parametrize(
    "query",
    ["", "?p=2", "?q=Mug", "?o=-5", "?o=3&status__exact=active", "?_popup=1", "?_popup=1&_to_field=id&q=Mug"],
)
def test_the_changelist_is_byte_identical_to_the_template_rendered_one(admin_client, awkward_shelf, query, monkeypatch):
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 5)
    if query == "?o=3&status__exact=active":
        query += f"&collection__pk__exact={awkward_shelf[0].collection_id}"
    fast = admin_client.get(PRODUCTS + query)
    assert fast.status_code == 200
    assert 'value="A&amp;B-' not in fast.content.decode()  # SKU is not editable; the inputs are there:
    if "_popup" in query:  # a popup lists without inputs, each row a link that picks the product
        assert f'data-popup-opener="{awkward_shelf[0].pk}"' in fast.content.decode()
    else:
        assert 'type="number" name="form-0-inventory"' in fast.content.decode()
    template_rendered(monkeypatch)
    stock = admin_client.get(PRODUCTS + query)
    assert without_volatile_values(fast.content.decode()) == without_volatile_values(stock.content.decode())


def test_a_list_edit_with_errors_is_byte_identical_to_the_template_rendered_one(
    admin_client, awkward_shelf, monkeypatch
):
    page = admin_client.get(PRODUCTS)
    first, second = row_prefix(page, awkward_shelf[0].pk), row_prefix(page, awkward_shelf[1].pk)
    data = changelist_data(page, **{f"{first}-inventory": "-5", f"{second}-unit_price": "<b>x</b>"})
    fast = admin_client.post(PRODUCTS, data)
    assert fast.status_code == 200
    assert "Ensure this value is greater than or equal to 0." in fast.content.decode()
    template_rendered(monkeypatch)
    stock = admin_client.post(PRODUCTS, data)
    assert without_volatile_values(fast.content.decode()) == without_volatile_values(stock.content.decode())
    assert Product.objects.get(pk=awkward_shelf[0].pk).inventory == 50


def list_edit_post_queries(admin_client, monkeypatch, per_page: int, *, row: int) -> int:
    """Queries of saving one changed row (``row``, not saved before) of a page of ``per_page``."""
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", per_page)
    page = admin_client.get(PRODUCTS)
    product = page.context["cl"].result_list[row]
    data = changelist_data(page, **{f"{row_prefix(page, product.pk)}-inventory": "7"})
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(PRODUCTS, data)
    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).inventory == 7
    return len(queries)


def test_a_list_edit_save_costs_the_same_queries_at_10_and_60_rows(
    admin_client, monkeypatch, django_assert_max_num_queries
):
    """Untouched rows are neither saved nor validated: no pk lookup and no CHECK queries a row."""
    # 61: a page of 60 is a page of several too (the list reads the page's ids first; a list
    # that fits on one page reads its rows at once, a query fewer).
    ProductFactory.create_batch(61)
    list_edit_post_queries(admin_client, monkeypatch, 10, row=0)  # warm-up: content types, sessions
    at_10 = list_edit_post_queries(admin_client, monkeypatch, 10, row=1)
    at_60 = list_edit_post_queries(admin_client, monkeypatch, 60, row=2)
    assert at_10 == at_60
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 60)
    page = admin_client.get(PRODUCTS)
    data = changelist_data(page, **{f"{row_prefix(page, page.context['cl'].result_list[3].pk)}-inventory": "8"})
    with django_assert_max_num_queries(40):
        assert admin_client.post(PRODUCTS, data).status_code == 302


@pytest.mark.parametrize("query", ["", "?o=-5", "?o=6", "?q=Product", "?collection__pk__exact=COLLECTION"])
def test_every_page_shows_the_rows_of_a_plain_offset(admin_client, monkeypatch, query):
    collection = CollectionFactory()
    for n in range(23):
        ProductFactory(
            title=f"Product {n % 7}",
            unit_price=Decimal(10 + n % 4),
            inventory=n % 5,
            collection=collection if n % 2 else CollectionFactory(),
        )
    query = query.replace("COLLECTION", str(collection.pk))
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 5)
    first = admin_client.get(PRODUCTS + query)
    everything = list(first.context["cl"].queryset.values_list("pk", flat=True))
    assert len(everything) > 10
    separator = "&" if query else "?"
    for number in range(1, len(everything) // 5 + 2):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(f"{PRODUCTS}{query}{separator}p={number}")
        shown = [product.pk for product in response.context["cl"].result_list]
        assert shown == everything[(number - 1) * 5 : number * 5]
        if number > 1:  # the rows (with their image subquery) are read by id, not past an OFFSET
            rows = [q["sql"] for q in queries if "first_image_path" in q["sql"]]
            assert len(rows) == 1
            assert "OFFSET" not in rows[0]
            assert " IN (" in rows[0]
