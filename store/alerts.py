"""The daily low-stock digest: products that went low or out of stock since the last one.

    sent = low_stock_digest_send()   # manage.py send_low_stock_digest, once a day
    sent = low_stock_digest_send(due_only=True)  # the hourly scheduler (housekeeping): once a day

"Low" and "out of stock" are the catalog's one meaning (selectors.product_stock_status,
settings.LOW_STOCK_THRESHOLD). A product *went* low or out when its status now is worse
than it was when the user's last digest was made: OK → Low, OK → Out, Low → Out
(a product created since counts from OK). The state back then is read from the change
history, which every write of inventory records; candidates are found through the
indexed ``last_update`` and walked in chunks.

Subscribers, decided at send time: active staff users with an email address who may view
products and whose ``AlertSubscription.low_stock_digest`` is on, or unset (no choice made, or
no row yet) while they are in the Merchandiser group. So every Merchandiser gets it, however
late they joined the group, until they turn it off in their alert settings; someone who leaves
the group stops getting it unless they turned it on themselves. Nothing is sent when nothing
went low.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from store import selectors
from store.audit import audit_event
from store.filters import InventoryFilter
from store.models import AlertSubscription, Product
from store.roles import MERCHANDISER

logger = logging.getLogger(__name__)

CHUNK = 1000
LISTED = 200  # products named in one email; the links show them all
FIRST_WINDOW = timedelta(days=1)
SEVERITY = {selectors.STOCK_OK: 0, selectors.STOCK_LOW: 1, selectors.STOCK_OUT: 2}
SUBJECT = "Low stock: {count} product(s) went low or out of stock"

HistoricalProduct = Product.history.model


@dataclass
class StockDrop:
    product_id: int
    sku: str
    title: str
    inventory: int
    status: str  # STOCK_LOW or STOCK_OUT
    was: str


@dataclass
class Digest:
    since: datetime
    until: datetime
    drops: list[StockDrop] = field(default_factory=list)

    @property
    def out(self) -> list[StockDrop]:
        return [drop for drop in self.drops if drop.status == selectors.STOCK_OUT]

    @property
    def low(self) -> list[StockDrop]:
        return [drop for drop in self.drops if drop.status == selectors.STOCK_LOW]


def low_stock_changes(*, since: datetime, until: datetime) -> Digest:
    """Products whose stock status got worse between ``since`` and now (low or out now)."""
    digest = Digest(since=since, until=until)
    before = HistoricalProduct.objects.filter(id=OuterRef("pk"), history_date__lt=since).order_by("-history_id")
    candidates = (
        selectors.product_list_inventory_below(below=settings.LOW_STOCK_THRESHOLD)
        .filter(last_update__gte=since)
        .annotate(inventory_then=Subquery(before.values("inventory")[:1]))
        .values_list("pk", "sku", "title", "parent__title", "inventory", "inventory_then")
        .order_by("pk")
    )
    last = 0
    while True:
        rows = list(candidates.filter(pk__gt=last)[:CHUNK])
        if not rows:
            return digest
        last = rows[-1][0]
        for pk, sku, title, product_title, inventory, inventory_then in rows:
            now = selectors.product_stock_status(inventory=inventory)
            was = (
                selectors.STOCK_OK
                if inventory_then is None
                else selectors.product_stock_status(inventory=inventory_then)
            )
            if SEVERITY[now] > SEVERITY[was]:
                # A variant by its product's title and its options: "Example T-Shirt — Green / S".
                name = f"{product_title} — {title}" if product_title else title
                digest.drops.append(StockDrop(pk, sku, name, inventory, now, was))


def _list_url(status: str) -> str:
    query = urlencode({InventoryFilter.parameter_name: status})
    return f"{settings.SITE_URL}{reverse('admin:store_product_changelist')}?{query}"


def _product_url(product_id: int) -> str:
    return f"{settings.SITE_URL}{reverse('admin:store_product_change', args=[product_id])}"


def digest_body(digest: Digest) -> str:
    lines = [
        f"Products that went low or out of stock since {digest.since:%Y-%m-%d %H:%M} UTC "
        f"(low: fewer than {settings.LOW_STOCK_THRESHOLD} in stock).",
        "",
    ]
    for heading, drops, status in (
        ("Out of stock", digest.out, selectors.STOCK_OUT),
        ("Low stock", digest.low, selectors.STOCK_LOW),
    ):
        if not drops:
            continue
        lines.append(f"{heading} ({len(drops)}); every product {heading.lower()} now: {_list_url(status)}")
        for drop in drops[:LISTED]:
            lines.append(f"- {drop.sku} {drop.title}: {drop.inventory} left  {_product_url(drop.product_id)}")
        if len(drops) > LISTED:
            lines.append(f"… and {len(drops) - LISTED} more (see the link above).")
        lines.append("")
    lines.append(
        "You get this email because the daily low-stock digest is on in your alert settings "
        f"({settings.SITE_URL}{reverse('admin:store_alertsubscription_changelist')})."
    )
    return "\n".join(lines)


def _role_members():
    """Users in the Merchandiser group: the digest's subscribers by role."""
    return Group.user_set.through.objects.filter(user_id=OuterRef("user_id"), group__name=MERCHANDISER)


def _subscriptions():
    """Who gets the digest now: on by choice, or by role (unset and a Merchandiser)."""
    by_role = Q(low_stock_digest__isnull=True) & Exists(_role_members())
    return (
        AlertSubscription.objects.filter(Q(low_stock_digest=True) | by_role)
        .filter(user__is_active=True, user__is_staff=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("pk")
    )


def low_stock_digest_due_since(*, now: datetime) -> datetime:
    """The latest LOW_STOCK_DIGEST_HOUR:00 (local time) at or before ``now``: a subscriber whose
    last digest covered up to before it is due one."""
    local = timezone.localtime(now)
    moment = local.replace(hour=settings.LOW_STOCK_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    return moment if moment <= local else moment - timedelta(days=1)


def low_stock_digest_send(*, now: datetime | None = None, due_only: bool = False) -> int:
    """Email each subscriber the products that went low since their last digest; return emails sent.

    ``due_only`` (the scheduler, run hourly): only subscribers not yet covered past today's
    LOW_STOCK_DIGEST_HOUR, so any number of runs send at most one digest a day. Each
    subscription is claimed with a conditional UPDATE before its email, so two schedulers
    running at once never send the same digest twice."""
    now = now or timezone.now()
    digests: dict[datetime, Digest] = {}
    sent = 0
    alert_subscribe_merchandisers()
    subscriptions = _subscriptions()
    if due_only:
        due = low_stock_digest_due_since(now=now)
        subscriptions = subscriptions.filter(Q(covered_until__isnull=True) | Q(covered_until__lt=due))
    for subscription in subscriptions:
        user = subscription.user
        if not user.has_perm("store.view_product"):
            continue
        claimed = AlertSubscription.objects.filter(pk=subscription.pk, covered_until=subscription.covered_until)
        if not claimed.update(covered_until=now):
            continue  # another run took it meanwhile
        since = subscription.covered_until or now - FIRST_WINDOW
        if since not in digests:
            digests[since] = low_stock_changes(since=since, until=now)
        digest = digests[since]
        if digest.drops:
            try:
                send_mail(SUBJECT.format(count=len(digest.drops)), digest_body(digest), None, [user.email])
            except Exception:
                # Not sent: the next run covers this window again.
                AlertSubscription.objects.filter(pk=subscription.pk, covered_until=now).update(
                    covered_until=subscription.covered_until
                )
                raise
            sent += 1
            audit_event("alerts.low_stock_digest", user=user, products=len(digest.drops))
    logger.info("Low-stock digest: %d email(s) sent.", sent)
    return sent


def alert_subscribe_merchandisers() -> int:
    """Give every Merchandiser without alert settings a row that follows the role (unset), so
    the digest can record what it covered for them; run by each send. Choices made are kept."""
    users = (
        Group.user_set.through.objects.filter(group__name=MERCHANDISER, user__alert_subscription__isnull=True)
        .values_list("user_id", flat=True)
        .distinct()
    )
    created = AlertSubscription.objects.bulk_create(
        [AlertSubscription(user_id=pk, low_stock_digest=None) for pk in users], ignore_conflicts=True
    )
    return len(created)


def alert_digest_on(*, user) -> bool:
    """Whether ``user``'s settings (or role, when they made no choice) ask for the digest."""
    choice = getattr(getattr(user, "alert_subscription", None), "low_stock_digest", None)
    if choice is not None:
        return choice
    return user.groups.filter(name=MERCHANDISER).exists()
