"""Confirm carries what the preview showed (issue 19 item 4): a colleague's save made after the
preview is never overwritten; the product is refused, or skipped with "change the others", and
named. For a job the guard starts at the preview, not at the worker's check before writing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.urls import reverse

from store.bulk import apply as bulk_apply
from store.jobs.models import JobState
from store.models import BulkEdit, BulkEditJob, Product
from store.services import product_update
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")
SET_10 = {"bulk-mode": "set", "bulk-amount": "10.00", "bulk-ending": ""}


def post(client, products, step, **extra):
    return client.post(
        PRODUCTS,
        {
            "action": "bulk_change_price",
            ACTION_CHECKBOX_NAME: [p.pk for p in products],
            "_bulk_step": step,
            **SET_10,
            **extra,
        },
    )


def confirm(client, products, preview, **extra):
    """Confirm the preview page ``preview`` as its form does: with its moment and versions."""
    context = preview.context
    seen = {"_preview_at": context.get("preview_at", ""), "_preview_version": context.get("preview_versions", [])}
    return post(client, products, "apply", **seen, **extra)


def colleague_sets_price(product, price):
    colleague = User.objects.create_user("colleague", is_staff=True)
    current = Product.objects.get(pk=product.pk)
    current.unit_price = Decimal(price)
    product_update(product=current, expected_version=current.version, user=colleague)


def prices(products):
    return [Product.objects.get(pk=p.pk).unit_price for p in products]


@pytest.fixture
def products():
    return [ProductFactory(sku=f"G-{n}", unit_price=Decimal("12.00")) for n in range(3)]


def test_confirm_refuses_a_product_saved_since_the_preview_and_names_it(admin_client, products):
    preview = post(admin_client, products, "preview")
    assert preview.context["report"].changed == 3
    colleague_sets_price(products[1], "25.00")

    response = confirm(admin_client, products, preview)

    assert response.status_code == 200
    page = response.content.decode()
    assert "1 product(s) would be refused, so nothing was changed." in page
    assert "G-1" in page
    assert "changed by someone else since the preview (now 25.00)" in page
    assert prices(products) == [Decimal("12.00"), Decimal("25.00"), Decimal("12.00")]
    assert BulkEdit.objects.get().state == BulkEdit.STATE_REFUSED


def test_change_the_others_skips_a_product_saved_since_the_preview_and_names_it(admin_client, products):
    preview = post(admin_client, products, "preview")
    colleague_sets_price(products[1], "25.00")

    response = confirm(admin_client, products, preview, skip_refused="1")

    assert response.status_code == 302
    assert prices(products) == [Decimal("10.00"), Decimal("25.00"), Decimal("10.00")]
    message = str(list(response.wsgi_request._messages)[0])
    assert "2 products were changed" in message
    assert "Changed by someone else since the preview, left as they were: G-1 (now 25.00)." in message
    assert "G-1 (now 25.00)" in BulkEdit.objects.get().message


def test_a_preview_with_no_save_since_confirms_as_before(admin_client, products):
    preview = post(admin_client, products, "preview")
    response = confirm(admin_client, products, preview)
    assert response.status_code == 302
    assert prices(products) == [Decimal("10.00")] * 3


@pytest.fixture
def big(settings, monkeypatch):
    settings.BULK_INLINE_MAX = 2
    monkeypatch.setattr(bulk_apply, "BATCH", 2)
    return [ProductFactory(sku=f"J-{n}", unit_price=Decimal("12.00")) for n in range(5)]


def test_a_job_refuses_a_product_saved_between_the_preview_and_its_check(admin_client, big):
    """The preview showed J-0 and J-1; J-3 (not shown) is saved after the preview, before the
    worker's check: the job writes nothing and names it."""
    preview = post(admin_client, big, "preview")
    assert preview.context["report"].total == 5
    colleague_sets_price(big[3], "25.00")

    confirm(admin_client, big, preview)

    job = BulkEditJob.objects.get()
    assert job.state == JobState.FAILED
    assert job.error == (
        "1 product(s) would be refused, so nothing was changed. "
        "J-3: changed by someone else since the preview (now 25.00)"
    )
    assert job.bulk_edit is None
    assert prices(big) == [Decimal("12.00")] * 3 + [Decimal("25.00"), Decimal("12.00")]


def test_a_job_told_to_change_the_others_skips_and_names_a_product_saved_since_the_preview(admin_client, big):
    preview = post(admin_client, big, "preview")
    colleague_sets_price(big[0], "25.00")  # one the preview listed: its version moved

    confirm(admin_client, big, preview, skip_refused="1")

    job = BulkEditJob.objects.get()
    assert (job.state, job.changed_count, job.refused_count) == (JobState.DONE, 4, 1)
    assert prices(big) == [Decimal("25.00")] + [Decimal("10.00")] * 4
    assert "Changed by someone else since the preview, left as they were: J-0 (now 25.00)." in job.message
    page = admin_client.get(reverse("admin:store_bulkeditjob_change", args=[job.pk])).content.decode()
    assert "J-0 (now 25.00)" in page
