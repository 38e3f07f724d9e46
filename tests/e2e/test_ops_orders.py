"""Browser journey: create an order with two items through the select2 autocompletes."""

from decimal import Decimal

from store.models import Order
from store.tests.factories import CustomerFactory, ProductFactory

from .pages import pick


def test_create_an_order_with_two_items(admin_page, live_server, screenshot):
    page = admin_page
    customer = CustomerFactory(first_name="Grace", last_name="Hopper")
    ProductFactory(title="Wireless Headphones", unit_price=Decimal("89.00"))
    ProductFactory(title="Travel Mug", unit_price=Decimal("12.50"))
    ProductFactory(title="Travel Backpack", unit_price=Decimal("64.00"))

    page.goto(f"{live_server.url}/admin/store/order/add/")
    pick(page, page.locator(".field-customer"), "gra", "Grace Hopper")
    page.select_option("#id_payment_status", "C")

    pick(page, page.locator("#items-0 .field-product"), "wire", "Wireless Headphones")
    page.fill("#id_items-0-quantity", "1")
    page.locator("#items-group .add-row a").click()
    pick(page, page.locator("#items-1 .field-product"), "travel m", "Travel Mug")
    page.fill("#id_items-1-quantity", "3")
    screenshot(page, "order_form")

    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    assert "was added successfully" in page.locator(".messagelist").inner_text()

    order = Order.objects.get(customer=customer)
    assert order.payment_status == "C"
    assert sorted(order.items.values_list("product__title", "quantity", "unit_price")) == [
        ("Travel Mug", 3, Decimal("12.50")),
        ("Wireless Headphones", 1, Decimal("89.00")),
    ]
    row = page.locator("#result_list tbody tr", has_text="Grace Hopper")
    assert "126.50" in row.inner_text()  # 89.00 + 3 × 12.50, the annotated total column
