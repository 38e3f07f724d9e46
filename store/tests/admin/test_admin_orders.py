"""OrderAdmin: list columns, filters, date hierarchy, and orders created through the inline."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from store.models import Order, OrderItem
from store.tests.admin_queries import changelist_query_count
from store.tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:store_order_changelist")
ADD = reverse("admin:store_order_add")


def items_management(total: int, initial: int = 0) -> dict[str, str]:
    return {
        "items-TOTAL_FORMS": str(total),
        "items-INITIAL_FORMS": str(initial),
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": "10",
    }


@pytest.fixture
def orders():
    ada = CustomerFactory(first_name="Ada", last_name="Lovelace")
    ben = CustomerFactory(first_name="Ben", last_name="Adams")
    mug = ProductFactory(title="Mug", unit_price=Decimal("8.00"))
    hoodie = ProductFactory(title="Hoodie", unit_price=Decimal("30.00"))
    big = OrderFactory(customer=ada, payment_status=Order.PAYMENT_STATUS_COMPLETE)
    OrderItemFactory(order=big, product=mug, quantity=3, unit_price=Decimal("7.50"))
    OrderItemFactory(order=big, product=hoodie, quantity=1, unit_price=Decimal("30.00"))
    small = OrderFactory(customer=ben, payment_status=Order.PAYMENT_STATUS_FAILED)
    OrderItemFactory(order=small, product=mug, quantity=1, unit_price=Decimal("8.00"))
    old = OrderFactory(customer=ben)
    OrderItemFactory(order=old, product=mug, quantity=2, unit_price=Decimal("6.00"))
    Order.objects.filter(pk=old.pk).update(placed_at=datetime(2025, 3, 1, tzinfo=UTC))
    return {"ada": ada, "ben": ben, "mug": mug, "hoodie": hoodie, "big": big, "small": small, "old": old}


def listed(response) -> list[int]:
    return [order.pk for order in response.context["cl"].result_list]


def test_changelist_shows_item_count_total_and_a_customer_link(admin_client, orders):
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    rows = {o.pk: (o.items_count, o.order_total) for o in response.context["cl"].result_list}
    assert rows == {
        orders["big"].pk: (2, Decimal("52.50")),
        orders["small"].pk: (1, Decimal("8.00")),
        orders["old"].pk: (1, Decimal("12.00")),
    }
    customer_url = reverse("admin:store_customer_change", args=[orders["ada"].pk])
    assert f'<a href="{customer_url}">Ada Lovelace</a>' in response.text


def test_changelist_sorts_by_total(admin_client, orders):
    total_column = 6  # id, placed_at, customer, payment_status, items, total
    response = admin_client.get(CHANGELIST, {"o": f"-{total_column}"})
    assert listed(response) == [orders["big"].pk, orders["old"].pk, orders["small"].pk]


def test_filter_on_payment_status(admin_client, orders):
    response = admin_client.get(CHANGELIST, {"payment_status__exact": Order.PAYMENT_STATUS_FAILED})
    assert listed(response) == [orders["small"].pk]


def test_filter_on_placed_at(admin_client, orders):
    response = admin_client.get(
        CHANGELIST, {"placed_at__gte": "2025-01-01 00:00:00+00:00", "placed_at__lt": "2025-12-31 00:00:00+00:00"}
    )
    assert listed(response) == [orders["old"].pk]


def test_date_hierarchy_drills_down_by_year(admin_client, orders):
    response = admin_client.get(CHANGELIST, {"placed_at__year": "2025"})
    assert listed(response) == [orders["old"].pk]


def test_customer_autocomplete_filter(admin_client, orders):
    response = admin_client.get(CHANGELIST, {"customer__pk__exact": orders["ben"].pk})
    assert sorted(listed(response)) == sorted([orders["small"].pk, orders["old"].pk])
    # The select2 widget renders the chosen customer, and loads its JavaScript.
    assert f'<option value="{orders["ben"].pk}" selected>Ben Adams</option>' in response.text
    assert "autocomplete_filter_qs.js" in response.text


def test_a_bad_customer_id_redirects_with_the_admin_error_flag(admin_client, orders):
    response = admin_client.get(CHANGELIST, {"customer__pk__exact": "not-a-number"})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_search_by_order_number(admin_client, orders):
    response = admin_client.get(CHANGELIST, {"q": str(orders["small"].pk)})
    assert listed(response) == [orders["small"].pk]
    assert admin_client.get(CHANGELIST, {"q": "abc"}).status_code == 200


def test_customer_autocomplete_endpoint_answers_for_the_order_form(admin_client, orders):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "ad", "app_label": "store", "model_name": "order", "field_name": "customer"},
    )
    assert response.status_code == 200
    assert sorted(r["text"] for r in response.json()["results"]) == ["Ada Lovelace", "Ben Adams"]


def test_product_autocomplete_endpoint_answers_for_the_item_inline(admin_client, orders):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "hoo", "app_label": "store", "model_name": "orderitem", "field_name": "product"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Hoodie"]


def test_add_page_renders_one_required_item_row(admin_client):
    response = admin_client.get(ADD)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert (formset.min_num, formset.max_num, formset.extra) == (1, 10, 0)
    assert len(formset.forms) == 1


def test_add_an_order_with_two_items_snapshots_prices(admin_client, orders):
    response = admin_client.post(
        ADD,
        {
            "customer": orders["ada"].pk,
            "payment_status": Order.PAYMENT_STATUS_PENDING,
            **items_management(2),
            "items-0-product": orders["mug"].pk,
            "items-0-quantity": "2",
            "items-1-product": orders["hoodie"].pk,
            "items-1-quantity": "1",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    order = Order.objects.latest("pk")
    assert order.customer == orders["ada"]
    assert sorted(order.items.values_list("product__title", "quantity", "unit_price")) == [
        ("Hoodie", 1, Decimal("30.00")),
        ("Mug", 2, Decimal("8.00")),
    ]
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    change_url = reverse("admin:store_order_change", args=[order.pk])
    assert messages == [f'The order “<a href="{change_url}">Order #{order.pk}</a>” was added successfully.']


def test_an_order_needs_at_least_one_item(admin_client, orders):
    before = Order.objects.count()
    response = admin_client.post(
        ADD,
        {
            "customer": orders["ada"].pk,
            "payment_status": Order.PAYMENT_STATUS_PENDING,
            **items_management(1),
            "items-0-product": "",
            "items-0-quantity": "",
        },
    )
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert Order.objects.count() == before


def test_an_order_takes_at_most_ten_items(admin_client, orders):
    products = ProductFactory.create_batch(11)
    data = {"customer": orders["ada"].pk, "payment_status": Order.PAYMENT_STATUS_PENDING, **items_management(11)}
    for index, product in enumerate(products):
        data |= {f"items-{index}-product": product.pk, f"items-{index}-quantity": "1"}
    response = admin_client.post(ADD, data)
    assert response.status_code == 200
    assert "Please submit at most 10 forms." in response.text
    assert not OrderItem.objects.filter(product__in=products).exists()


def test_a_zero_quantity_is_refused_with_the_model_message(admin_client, orders):
    response = admin_client.post(
        ADD,
        {
            "customer": orders["ada"].pk,
            "payment_status": Order.PAYMENT_STATUS_PENDING,
            **items_management(1),
            "items-0-product": orders["mug"].pk,
            "items-0-quantity": "0",
        },
    )
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in response.text


def test_change_keeps_historical_prices_and_reprices_a_swapped_product(admin_client, orders):
    big = orders["big"]
    mug_line, hoodie_line = big.items.order_by("product__title").reverse()
    orders["mug"].unit_price = Decimal("9.99")
    orders["mug"].save()
    response = admin_client.get(reverse("admin:store_order_change", args=[big.pk]))
    assert response.status_code == 200
    cells = re.findall(r'<td class="field-(price|line_total)">\s*<p>([^<]*)</p>', response.text)
    assert ("price", "7.50") in cells  # the snapshot, not today's 9.99
    assert ("line_total", "22.50") in cells
    response = admin_client.post(
        reverse("admin:store_order_change", args=[big.pk]),
        {
            "customer": orders["ada"].pk,
            "payment_status": Order.PAYMENT_STATUS_COMPLETE,
            **items_management(2, initial=2),
            "items-0-id": mug_line.pk,
            "items-0-order": big.pk,
            "items-0-product": orders["mug"].pk,
            "items-0-quantity": "4",
            "items-1-id": hoodie_line.pk,
            "items-1-order": big.pk,
            "items-1-product": orders["mug"].pk,
            "items-1-quantity": "1",
        },
    )
    assert response.status_code == 302
    mug_line.refresh_from_db()
    hoodie_line.refresh_from_db()
    assert (mug_line.quantity, mug_line.unit_price) == (4, Decimal("7.50"))  # price kept
    assert (hoodie_line.product, hoodie_line.unit_price) == (orders["mug"], Decimal("9.99"))  # repriced


def test_change_can_delete_an_item_but_not_the_last_one(admin_client, orders):
    big = orders["big"]
    lines = list(big.items.order_by("pk"))
    url = reverse("admin:store_order_change", args=[big.pk])
    base = {
        "customer": orders["ada"].pk,
        "payment_status": Order.PAYMENT_STATUS_COMPLETE,
        **items_management(2, initial=2),
    }
    for index, line in enumerate(lines):
        base |= {
            f"items-{index}-id": line.pk,
            f"items-{index}-order": big.pk,
            f"items-{index}-product": line.product_id,
            f"items-{index}-quantity": line.quantity,
        }
    refused = admin_client.post(url, base | {"items-0-DELETE": "on", "items-1-DELETE": "on"})
    assert refused.status_code == 200
    assert "Please submit at least 1 form." in refused.text
    assert big.items.count() == 2
    response = admin_client.post(url, base | {"items-0-DELETE": "on"})
    assert response.status_code == 302
    assert list(big.items.all()) == [lines[1]]


def test_changelist_queries_do_not_grow_with_the_page(admin_client, monkeypatch):
    product = ProductFactory()
    for customer in CustomerFactory.create_batch(100):
        OrderItemFactory(order=OrderFactory(customer=customer), product=product, quantity=2)
    at_10 = changelist_query_count(admin_client, CHANGELIST, Order, per_page=10, monkeypatch=monkeypatch)
    at_100 = changelist_query_count(admin_client, CHANGELIST, Order, per_page=100, monkeypatch=monkeypatch)
    assert at_10 == at_100


def test_the_line_picker_pages_in_the_catalogs_order_without_counting(admin_client):
    """The order-line picker lists sellable units in the catalog's order (primary key) and says
    whether more follow by reading one row past the page: no COUNT."""
    for number in range(1, 24):
        ProductFactory(title=f"Bottle {number:02}", sku=f"BOT-{number:02}")
    params = {"term": "bottle", "app_label": "store", "model_name": "orderitem", "field_name": "product"}
    with CaptureQueriesContext(connection) as queries:
        first = admin_client.get(reverse("admin:autocomplete"), params).json()
    counts = [re.sub('[`"]', "", q["sql"]) for q in queries if q["sql"].startswith("SELECT COUNT(")]
    # Only the search's count of a word's term rows (up to a cap), which chooses how to read it.
    assert all(sql.startswith("SELECT COUNT(*) FROM (SELECT store_productsearchterm.") for sql in counts)
    assert [row["text"] for row in first["results"]] == [f"Bottle {number:02}" for number in range(1, 21)]
    assert first["pagination"] == {"more": True}
    second = admin_client.get(reverse("admin:autocomplete"), {**params, "page": 2}).json()
    assert [row["text"] for row in second["results"]] == ["Bottle 21", "Bottle 22", "Bottle 23"]
    assert second["pagination"] == {"more": False}
    assert admin_client.get(reverse("admin:autocomplete"), {**params, "page": 3}).status_code == 404
