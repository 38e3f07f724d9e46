"""The low-stock digest (store.alerts, manage.py send_low_stock_digest) and the alert settings page."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from store import alerts, services
from store.housekeeping import housekeeping
from store.models import AlertSubscription, Product
from store.roles import MERCHANDISER, role_sync_all
from store.tests.factories import ProductFactory
from store.tests.variants.conftest import make_parent, make_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchandiser(django_user_model, settings):
    settings.LOW_STOCK_THRESHOLD = 10
    settings.SITE_URL = "https://bo.example.com"
    role_sync_all()
    user = django_user_model.objects.create_user("merch", "merch@example.com", "x", is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANDISER))
    return user


def set_inventory(product, inventory):
    product = Product.objects.get(pk=product.pk)
    product.inventory = inventory
    services.product_update(product=product, expected_version=product.version)


def digest(**kwargs):
    out = StringIO()
    call_command("send_low_stock_digest", stdout=out, **kwargs)
    return out.getvalue()


def test_every_merchandiser_gets_the_digest_even_one_added_after_setup_roles(merchandiser, django_user_model):
    """Subscribed by role when the digest is sent, not by setup_roles: a Merchandiser added
    later, with no alert settings at all, gets it; one who opted out does not; someone who
    left the group does not."""
    call_command("setup_roles", stdout=StringIO())
    late = django_user_model.objects.create_user("late", "late@example.com", "x", is_staff=True)
    late.groups.add(Group.objects.get(name=MERCHANDISER))
    opted_out = django_user_model.objects.create_user("quiet", "quiet@example.com", "x", is_staff=True)
    opted_out.groups.add(Group.objects.get(name=MERCHANDISER))
    AlertSubscription.objects.create(user=opted_out, low_stock_digest=False)
    assert not AlertSubscription.objects.filter(user__in=[merchandiser, late]).exists()
    ProductFactory(inventory=1)

    assert alerts.low_stock_digest_send() == 2

    assert sorted(email.to[0] for email in mail.outbox) == ["late@example.com", "merch@example.com"]
    assert AlertSubscription.objects.get(user=late).low_stock_digest is None  # still "as my role says"
    late.groups.clear()
    ProductFactory(inventory=0)
    mail.outbox.clear()
    assert alerts.low_stock_digest_send() == 1
    assert [email.to for email in mail.outbox] == [["merch@example.com"]]


def test_digest_lists_products_that_went_low_or_out_with_links(merchandiser):
    alerts.alert_subscribe_merchandisers()
    falling, emptied, steady, already_low = (
        ProductFactory(sku=sku, inventory=inventory)
        for sku, inventory in (("FALL", 50), ("EMPTY", 50), ("STEADY", 50), ("LOW", 3))
    )
    AlertSubscription.objects.update(covered_until=timezone.now())
    set_inventory(falling, 4)
    set_inventory(emptied, 0)
    set_inventory(steady, 20)
    set_inventory(already_low, 2)  # low before, low now: not news

    assert digest() == "Low-stock digest: 1 email(s) sent.\n"

    [email] = mail.outbox
    assert email.to == ["merch@example.com"]
    assert email.subject == "Low stock: 2 product(s) went low or out of stock"
    assert "- FALL " in email.body
    assert "- EMPTY " in email.body
    assert "STEADY" not in email.body
    assert "- LOW " not in email.body
    assert "https://bo.example.com/admin/store/product/?inventory_status=out" in email.body
    assert "https://bo.example.com/admin/store/product/?inventory_status=low" in email.body
    assert f"https://bo.example.com/admin/store/product/{falling.pk}/change/" in email.body


def test_nothing_is_sent_when_nothing_changed(merchandiser):
    alerts.alert_subscribe_merchandisers()
    product = ProductFactory(inventory=50)
    AlertSubscription.objects.update(covered_until=timezone.now())
    set_inventory(product, 40)

    assert "no email sent" in digest()
    assert mail.outbox == []
    set_inventory(product, 5)
    digest()
    assert len(mail.outbox) == 1
    digest()  # the next run starts where the last ended
    assert len(mail.outbox) == 1


def test_first_digest_covers_the_last_day_and_new_products(merchandiser):
    alerts.alert_subscribe_merchandisers()
    ProductFactory(sku="NEW-LOW", inventory=2)
    old = ProductFactory(sku="OLD-LOW", inventory=2)
    Product.objects.filter(pk=old.pk).update(last_update=timezone.now() - timedelta(days=3))

    digest()

    [email] = mail.outbox
    assert "NEW-LOW" in email.body
    assert "OLD-LOW" not in email.body


def test_opted_out_or_unpermitted_users_get_nothing(merchandiser, django_user_model):
    stranger = django_user_model.objects.create_user("nobody", "n@example.com", "x", is_staff=True)
    AlertSubscription.objects.create(user=stranger, low_stock_digest=True)
    AlertSubscription.objects.create(user=merchandiser, low_stock_digest=False)
    ProductFactory(inventory=1)

    digest()

    assert mail.outbox == []


def test_digest_query_count_does_not_grow_with_products(merchandiser, django_assert_max_num_queries):
    alerts.alert_subscribe_merchandisers()
    for _ in range(30):
        ProductFactory(inventory=1)
    with django_assert_max_num_queries(12):
        alerts.low_stock_digest_send()
    assert "30 product(s)" in mail.outbox[0].subject


def test_each_user_edits_only_their_own_alert_settings(merchandiser, django_user_model):
    other = django_user_model.objects.create_user("other", "o@example.com", "x", is_staff=True)
    theirs = AlertSubscription.objects.create(user=other, low_stock_digest=True)
    client = Client()
    client.force_login(merchandiser)

    response = client.get(reverse("admin:store_alertsubscription_changelist"))
    mine = AlertSubscription.objects.get(user=merchandiser)
    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [mine.pk]
    assert mine.low_stock_digest is None  # visiting chooses nothing: the role decides (on)
    assert "As my role says (on for Merchandisers)" in response.content.decode()
    url = reverse("admin:store_alertsubscription_change", args=[mine.pk])
    page = client.get(url)
    assert page.context["adminform"].form["low_stock_digest"].value() == ""
    assert client.post(url, {"low_stock_digest": "off"}).status_code == 302  # the opt-out
    mine.refresh_from_db()
    assert mine.low_stock_digest is False
    assert client.post(url, {"low_stock_digest": "on"}).status_code == 302
    mine.refresh_from_db()
    assert mine.low_stock_digest is True
    assert client.get(reverse("admin:store_alertsubscription_change", args=[theirs.pk])).status_code == 302
    assert client.post(reverse("admin:store_alertsubscription_change", args=[theirs.pk]), {}).status_code in (302, 403)
    theirs.refresh_from_db()
    assert theirs.low_stock_digest is True


def test_the_hourly_scheduler_sends_the_digest_once_a_day(merchandiser, settings):
    """housekeeping (the Procfile's scheduler, hourly) sends each subscriber one digest a day,
    after LOW_STOCK_DIGEST_HOUR; the runs in between send nothing."""
    alerts.alert_subscribe_merchandisers()
    product = ProductFactory(inventory=50)
    AlertSubscription.objects.update(covered_until=timezone.now() - timedelta(minutes=1))
    set_inventory(product, 3)
    day = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    settings.LOW_STOCK_DIGEST_HOUR = (day + timedelta(hours=1)).hour

    runs = [housekeeping(now=day + timedelta(hours=hour))["low_stock_digests"] for hour in range(0, 26)]

    assert runs[0] == 0  # the hour before LOW_STOCK_DIGEST_HOUR: covered yesterday's, not due
    assert runs[1] == 1
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    assert sum(runs) == 1  # later runs that day and the next day's 07:00 find nothing new
    assert AlertSubscription.objects.get().covered_until == day + timedelta(hours=25)


def test_two_schedulers_at_once_send_one_digest(merchandiser, monkeypatch):
    """The subscription is claimed (conditional UPDATE) before its email is sent."""
    alerts.alert_subscribe_merchandisers()
    product = ProductFactory(inventory=50)
    AlertSubscription.objects.update(covered_until=timezone.now() - timedelta(days=2))
    set_inventory(product, 3)
    stale = list(alerts._subscriptions())  # what a second scheduler read before the first one sent
    assert alerts.low_stock_digest_send(due_only=True) == 1
    # The second one holds the old covered_until: its claim finds nothing to update.
    monkeypatch.setattr(alerts, "_subscriptions", lambda: stale)
    assert alerts.low_stock_digest_send() == 0
    assert len(mail.outbox) == 1


def test_the_digest_names_a_variant_with_its_product(merchandiser):
    alerts.alert_subscribe_merchandisers()
    parent = make_parent(title="Example T-Shirt", sku="TS")
    variant = make_variant(parent, "Green", "S", sku="TS-GS", inventory=50)
    AlertSubscription.objects.update(covered_until=timezone.now())
    set_inventory(variant, 3)

    digest()

    [email] = mail.outbox
    assert (
        f"- TS-GS Example T-Shirt — Green / S: 3 left  https://bo.example.com/admin/store/product/{variant.pk}/change/"
        in (email.body)
    )
