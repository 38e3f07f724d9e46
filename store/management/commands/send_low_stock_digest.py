"""python manage.py send_low_stock_digest — run once a day (cron, systemd timer, or the task queue)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from store.alerts import low_stock_digest_send


class Command(BaseCommand):
    help = "Email subscribers the products that went low or out of stock since their last digest."

    def handle(self, *args, **options) -> None:
        sent = low_stock_digest_send()
        self.stdout.write(
            f"Low-stock digest: {sent} email(s) sent."
            if sent
            else "Low-stock digest: nothing went low or out of stock; no email sent."
        )
