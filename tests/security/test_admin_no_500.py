"""No 500s on bad input anywhere in the admin, and nothing written by refused input."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import models
from django.urls import reverse

from backoffice.admin import INVALID_SELECTION
from store.models import Collection, Order, OrderItem, Product
from store.roles import IMPORTER, ROLE_PERMISSIONS, VIEWER
from store.tests.factories import CollectionFactory, OrderItemFactory, ProductFactory

from .conftest import form_post_data, formset_post_data

LONG = "x" * 5000
ODD = "\u202e\u0000\ufeff𝔘𝔫𝔦🛒\u0301"
JUNK_QUERIES = [
    "q=" + quote("%00\xff'\"<script>alert(1)</script>"),
    "q=%00%ff",
    "q=" + quote(ODD),
    "q=" + LONG,
    "o=abc",
    "o=99.-99.x",
    "o=" + LONG,
    "p=-1",
    "p=99999",
    "p=abc",
    "p=" + "9" * 40,
    "e=1",
    "all=1",
    "_popup=1",
    "_to_field=junk",
    "collection__id__exact=abc",
    "collection__pk__exact=99999999999999999999",
    "last_update__gte=notadate",
    "last_update__lt=2020-13-45",
    "inventory_status=zzz",
    "payment_status__exact=%00",
    "placed_at__year=abc",
    "placed_at__month=13&placed_at__year=2020",
    "no_such_field=1",
    "%ff=%ff",
    "_changelist_filters=" + quote("q=%00&o=abc"),
]
JUNK_IDS = ["abc", "9" * 20, "-1", "1.5", "%00"]
FILTER_JUNK = ["zzz", "-1", "%00", "9" * 30, "2020-02-30"]
# Appended to "<date_hierarchy>__" (see backoffice.admin.DATE_PART_RANGES).
DATE_DRILLDOWN_JUNK = [
    "year=9999",
    "year=0",
    "year=9999&{f}__month=12&{f}__day=31",
    "year=2020&{f}__month=0",
    "year=2020&{f}__month=2&{f}__day=30",
    "year=1e3",
    "year=2020&{f}__day=31",
]
# Appended to "<any date or datetime field>__": Django turns a year lookup into a range of
# dates when the query is compiled, after the changelist's own check of the filters.
DATE_LOOKUP_JUNK = [
    "year=99999",
    "year=0",
    "year=-1",
    "year__gte=99999",
    "year__lt=0",
    "year=" + "9" * 30,
    "iso_year=99999",
    "date__year=0",
]


def date_lookup_urls(model) -> list[str]:
    """The changelist with a junk year lookup on each of the model's date and datetime fields."""
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    fields = [field.name for field in model._meta.concrete_fields if isinstance(field, models.DateField)]
    return [f"{changelist}?{field}__{query}" for field in fields for query in DATE_LOOKUP_JUNK]


def crawl_urls(client, model) -> list[str]:
    """Every page of one model's admin, each with junk query strings."""
    info = model._meta.app_label, model._meta.model_name
    changelist = reverse("admin:{}_{}_changelist".format(*info))
    urls = [f"{changelist}?{query}" for query in JUNK_QUERIES] + date_lookup_urls(model)
    # The model's own filters (whatever its area declared) get junk values too.
    page = client.get(changelist)
    if page.status_code == 200 and page.context and page.context.get("cl"):
        cl = page.context["cl"]
        params = {param for spec in cl.filter_specs for param in spec.expected_parameters()}
        if cl.date_hierarchy:
            params |= {f"{cl.date_hierarchy}__{part}" for part in ("year", "month", "day")}
            field = cl.date_hierarchy
            urls += [f"{changelist}?{field}__" + query.format(f=field) for query in DATE_DRILLDOWN_JUNK]
        urls += [f"{changelist}?{param}={quote(value)}" for param in sorted(params) for value in FILTER_JUNK]
    add = reverse("admin:{}_{}_add".format(*info))
    urls += [add, f"{add}?_popup=1&_to_field=junk", f"{add}?_changelist_filters=%ff%00"]
    urls += [reverse("admin:{}_{}_change".format(*info), args=[junk]) for junk in ("abc", "99999999", "%00", "-1")]
    return urls


def object_urls(model, obj) -> list[str]:
    info = model._meta.app_label, model._meta.model_name
    change = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
    urls = [
        change,
        f"{change}?_changelist_filters=q%3D%2500",
        f"{change}?_popup=1&_to_field=junk",
        reverse("admin:{}_{}_history".format(*info), args=[obj.pk]) + "?p=abc",
        reverse("admin:{}_{}_delete".format(*info), args=[obj.pk]),
    ]
    # simple-history's "view this version" page, for models whose admin has one.
    if hasattr(model._meta, "simple_history_manager_attribute"):
        history_form = "admin:{}_{}_simple_history".format(*info)
        urls += [reverse(history_form, args=[obj.pk, junk]) for junk in JUNK_IDS]
        urls += [reverse(history_form, args=[junk, 1]) for junk in JUNK_IDS]
    return urls


@pytest.mark.slow  # ~10 s on SQLite, ~18 s on MariaDB for the superuser, growing with the admin
@pytest.mark.parametrize("who", ["superuser", VIEWER])
def test_crawl_every_admin_page_with_junk_finds_no_500(who, admin_client, role_client, every_admin_object):
    client = admin_client if who == "superuser" else role_client(VIEWER)
    client.raise_request_exception = False  # a crash becomes a 500 response to report
    assert set(every_admin_object) == set(admin.site._registry) >= {Product, Order, Collection}
    uncovered = sorted(model._meta.label for model, obj in every_admin_object.items() if obj is None)
    assert not uncovered, f"no row to crawl the change form of {uncovered}: add a factory or a MAKERS entry"
    failures, pages = [], 0
    for model, obj in every_admin_object.items():
        for url in crawl_urls(client, model) + object_urls(model, obj):
            response = client.get(url)
            pages += 1
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {url}")
    assert not failures, "\n".join(failures)
    assert pages > 30 * len(every_admin_object)


@pytest.mark.parametrize("who", ["superuser", *ROLE_PERMISSIONS])
def test_junk_year_lookups_on_every_date_field_give_no_500(who, admin_client, role_client, every_admin_object):
    """``?<date field>__year=99999`` (or 0) on any changelist, for every role: the changelist's
    "?e=1" page, as for other bad filter values; a changelist the role may not see is a 403."""
    client = admin_client if who == "superuser" else role_client(who)
    client.raise_request_exception = False
    failures, refused = [], 0
    for model in every_admin_object:
        for url in date_lookup_urls(model):
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {url}")
            elif response.status_code == 302:
                assert response.url.endswith("?e=1"), url
                refused += 1
    assert not failures, "\n".join(failures)
    assert refused or who == IMPORTER  # an Importer sees no changelist with a date field


@pytest.mark.parametrize("filters", ["last_update__year=99999", "last_update__year__lt=0", "last_update__date__year=0"])
def test_an_export_of_a_changelist_filtered_by_a_junk_year_is_the_changelist_error_page(filters, admin_client):
    ProductFactory()
    response = admin_client.get(reverse("admin:store_product_export"), {"filters": filters})
    assert response.status_code == 302
    assert response.url == reverse("admin:store_product_changelist") + "?e=1"


# --- Protected deletes --------------------------------------------------------


def test_deleting_a_collection_with_products_shows_the_cannot_delete_page(admin_client):
    product = ProductFactory()
    url = reverse("admin:store_collection_delete", args=[product.collection.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    for result in (page, response):
        assert result.status_code == 200
        assert "Cannot delete collection" in result.content.decode()
        assert "would require deleting the following protected related objects" in result.content.decode()
    assert Collection.objects.filter(pk=product.collection.pk).exists()
    assert Product.objects.filter(pk=product.pk).exists()


def test_deleting_a_product_with_order_items_shows_the_cannot_delete_page(admin_client):
    item = OrderItemFactory()

    response = admin_client.post(reverse("admin:store_product_delete", args=[item.product.pk]), {"post": "yes"})

    assert response.status_code == 200
    assert "Cannot delete product" in response.content.decode()
    assert Product.objects.filter(pk=item.product.pk).exists()
    assert OrderItem.objects.filter(pk=item.pk).exists()


def test_bulk_deleting_protected_products_deletes_none_of_them(admin_client):
    sold, unsold = OrderItemFactory().product, ProductFactory()

    response = admin_client.post(
        reverse("admin:store_product_changelist"),
        {
            "action": "delete_selected",
            ACTION_CHECKBOX_NAME: [sold.pk, unsold.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 200
    assert "protected related objects" in response.content.decode()
    assert Product.objects.filter(pk__in=[sold.pk, unsold.pk]).count() == 2


# --- Forged action posts -------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "refused"),
    [
        (["999999"], False),
        (["-1"], False),  # well-formed ids of nothing: Django deletes nothing
        (["abc"], True),
        (["1.5"], True),
        (["%00"], True),
        (["9" * 30], True),
        (["", "1"], True),
    ],
)
@pytest.mark.parametrize("index", [{"index": "0"}, {}])  # from the action bar, or a bare POST
def test_forged_delete_selected_ids_give_no_500_and_delete_nothing(ids, refused, index, admin_client):
    products = ProductFactory.create_batch(2)

    response = admin_client.post(
        reverse("admin:store_product_changelist"),
        {
            "action": "delete_selected",
            ACTION_CHECKBOX_NAME: ids,
            "post": "yes",
            **index,
        },
        follow=True,
    )

    assert response.status_code == 200
    assert Product.objects.count() == len(products)
    messages = [str(message) for message in response.context["messages"]]
    assert (messages == [INVALID_SELECTION]) is refused


def test_a_forged_id_mixed_with_real_ones_is_refused_whole(admin_client):
    product = ProductFactory()

    response = admin_client.post(
        reverse("admin:store_product_changelist"),
        {
            "action": "delete_selected",
            ACTION_CHECKBOX_NAME: [product.pk, "abc"],
            "post": "yes",
        },
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [INVALID_SELECTION]
    assert Product.objects.filter(pk=product.pk).exists()


def test_forged_ids_on_a_uuid_model_give_no_500(admin_client):
    response = admin_client.post(
        reverse("admin:store_cart_changelist"),
        {
            "action": "delete_selected",
            ACTION_CHECKBOX_NAME: ["not-a-uuid"],
            "post": "yes",
        },
    )
    assert response.status_code == 302


def test_an_unknown_action_name_gives_no_500(admin_client):
    product = ProductFactory()
    response = admin_client.post(
        reverse("admin:store_product_changelist"),
        {
            "action": "drop_table",
            ACTION_CHECKBOX_NAME: [product.pk],
        },
    )
    assert response.status_code in (200, 302)
    assert Product.objects.filter(pk=product.pk).exists()


# --- Bad values on the product form ------------------------------------------


@pytest.fixture
def product_add(admin_client):
    """A valid product add-form POST, built from the rendered form (fields and inlines)."""
    collection = CollectionFactory()
    page = admin_client.get(reverse("admin:store_product_add"))
    data = form_post_data(page)
    data.update(
        title="Linen shirt",
        slug="linen-shirt",
        sku="LIN-001",
        description="",
        unit_price="25.00",
        inventory="4",
        collection=collection.pk,
    )
    return data


def test_the_valid_baseline_saves(admin_client, product_add):
    """Proves the bad-input cases below fail on their bad value and nothing else."""
    response = admin_client.post(reverse("admin:store_product_add"), product_add)

    assert response.status_code == 302
    assert Product.objects.get(sku="LIN-001").unit_price == Decimal("25.00")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 256),
        ("title", "nul\x00byte"),
        ("title", ""),
        ("sku", "S" * 65),
        ("slug", "not a slug ✓"),
        ("unit_price", "123456789012.00"),  # more than 10 digits
        ("unit_price", "1.999"),
        ("unit_price", "0.99"),
        ("unit_price", "-5"),
        ("unit_price", "NaN"),
        ("unit_price", "Infinity"),
        ("unit_price", "1e400"),
        ("unit_price", "٣٫٥"),
        ("inventory", "-1"),
        ("inventory", "99999999999999999999"),
        ("inventory", "1.5"),
        ("collection", "abc"),
        ("collection", "99999999"),
    ],
)
def test_bad_values_are_form_errors_and_write_nothing(field, value, admin_client, product_add):
    product_add[field] = value

    response = admin_client.post(reverse("admin:store_product_add"), product_add)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Product.objects.exists()


def test_odd_unicode_is_stored_exactly(admin_client, product_add):
    title = "Zürich 🛒 \u202eRTL\u202c ﬁ e\u0301 " + "字" * 100
    product_add["title"] = title

    response = admin_client.post(reverse("admin:store_product_add"), product_add)

    assert response.status_code == 302
    assert Product.objects.get(sku="LIN-001").title == title


def test_bad_values_on_the_change_form_change_nothing(admin_client):
    product = ProductFactory(unit_price=Decimal("10.00"), inventory=7)
    url = reverse("admin:store_product_change", args=[product.pk])
    data = form_post_data(admin_client.get(url))
    data.update(unit_price="99999999999.99", inventory="-3")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert {"unit_price", "inventory"} <= set(response.context["adminform"].form.errors)
    product.refresh_from_db()
    assert (product.unit_price, product.inventory) == (Decimal("10.00"), 7)


@pytest.mark.parametrize(
    ("field", "value"), [("inventory", "-1"), ("unit_price", "123456789012.00"), ("inventory", "abc")]
)
def test_bad_list_edits_are_refused_and_write_nothing(field, value, admin_client):
    """Runs once the catalog admin makes the field editable in the changelist."""
    product = ProductFactory(unit_price=Decimal("10.00"), inventory=7)
    if field not in admin.site.get_model_admin(Product).list_editable:
        pytest.skip(f"{field} is not a list edit on this branch")
    url = reverse("admin:store_product_changelist")
    page = admin_client.get(url)
    data = formset_post_data(page.context["cl"].formset)
    row = next(key for key, value in data.items() if key.endswith("-id") and value == product.pk)
    data[row.replace("-id", f"-{field}")] = value

    response = admin_client.post(url, {**data, "_save": "Save"})

    assert response.status_code == 200
    assert any(field in form.errors for form in response.context["cl"].formset.forms)
    product.refresh_from_db()
    assert (product.unit_price, product.inventory) == (Decimal("10.00"), 7)


def test_forged_autocomplete_values_are_form_errors(admin_client, store_objects):
    """Django's autocomplete widget would look a non-id value up while re-rendering (a 500)."""
    order = store_objects["store.order"]
    for url, field in [
        (reverse("admin:store_product_add"), "collection"),
        (reverse("admin:store_order_change", args=[order.pk]), "customer"),
    ]:
        for junk in ("abc", "9" * 30):
            response = admin_client.post(url, {field: junk})
            assert response.status_code == 200
            assert field in response.context["adminform"].form.errors


# --- Forged ids beyond a lookup's reach ------------------------------------------


@pytest.mark.parametrize("junk", JUNK_IDS)
def test_junk_history_version_ids_are_404(junk, admin_client):
    product = ProductFactory()
    version = product.history.get().history_id
    page = "admin:store_product_simple_history"

    assert admin_client.get(reverse(page, args=[product.pk, version])).status_code == 200
    assert admin_client.get(reverse(page, args=[product.pk, junk])).status_code == 404
    assert admin_client.get(reverse(page, args=[junk, version])).status_code == 404


@pytest.mark.parametrize("junk", ["9" * 20, "-" + "9" * 20])
def test_a_list_edit_row_id_beyond_bigint_is_400_and_writes_nothing(junk, admin_client):
    product = ProductFactory(unit_price=Decimal("10.00"), inventory=7)
    url = reverse("admin:store_product_changelist")
    data = formset_post_data(admin_client.get(url).context["cl"].formset)
    row = next(key for key, value in data.items() if key.endswith("-id") and value == product.pk)
    data[row.replace("-id", "-inventory")] = "8"
    data[row] = junk

    response = admin_client.post(url, {**data, "_save": "Save"})

    assert response.status_code == 400
    product.refresh_from_db()
    assert (product.unit_price, product.inventory, product.version) == (Decimal("10.00"), 7, 1)


@pytest.mark.parametrize("junk", ["9" * 20, "-" + "9" * 20, "abc"])
def test_a_promotion_id_beyond_bigint_on_the_product_form_is_400_and_writes_nothing(junk, admin_client, product_add):
    product = ProductFactory(title="Kept")
    change = reverse("admin:store_product_change", args=[product.pk])
    data = form_post_data(admin_client.get(change))
    data.update(title="Renamed", promotions=[junk])
    product_add["promotions"] = [junk]

    changed = admin_client.post(change, data)
    added = admin_client.post(reverse("admin:store_product_add"), product_add)

    for response in (changed, added):
        if junk == "abc":  # not a number: the form's own error
            assert response.status_code == 200
            assert "promotions" in response.context["adminform"].form.errors
        else:  # a number beyond BIGINT: refused as forged
            assert response.status_code == 400
    assert Product.objects.get(pk=product.pk).title == "Kept"
    assert not Product.objects.filter(sku="LIN-001").exists()
