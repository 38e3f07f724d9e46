"""Load the demo store once and make sure a demo superuser exists (development only)."""
from __future__ import annotations

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from store.models import Order, Product

DEMO_FIXTURE = settings.BASE_DIR / "fixtures" / "demo.json"


class Command(BaseCommand):
    help = "Load fixtures/demo.json unless the catalog has data, and ensure the demo login."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("setup_demo creates a known login, so it runs only with DEBUG on.")
        if Product.objects.exists():
            self.stdout.write("Demo data: the catalog already has products; nothing loaded.")
        else:
            with transaction.atomic():
                call_command("loaddata", DEMO_FIXTURE, verbosity=0)
                self._bring_orders_up_to_date()
            self.stdout.write(self.style.SUCCESS("Demo data: loaded fixtures/demo.json."))
        self._ensure_demo_user()

    def _bring_orders_up_to_date(self) -> None:
        """Shift fixture order dates so the newest order is from today (the dashboard shows 30 days)."""
        newest = Order.objects.aggregate(newest=Max("placed_at"))["newest"]
        if newest:
            Order.objects.update(placed_at=F("placed_at") + (timezone.now() - newest))

    def _ensure_demo_user(self) -> None:
        username = os.environ.get("DEMO_USERNAME", "admin")
        password = os.environ.get("DEMO_PASSWORD", "admin")
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(self.style.SUCCESS(
            f"Demo login: username '{username}', password '{password}' "
            "at http://127.0.0.1:8000/admin/"
        ))
