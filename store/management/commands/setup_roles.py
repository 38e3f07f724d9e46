"""Create or update the back-office role groups (Merchandiser, Importer, Viewer, Support)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from store.roles import role_sync_all


class Command(BaseCommand):
    help = "Create the role groups and set their permissions to the definitions in store/roles.py."

    def handle(self, *args, **options):
        try:
            results = role_sync_all()
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        for result in results:
            state = "created" if result.created else "updated" if result.added or result.removed else "unchanged"
            self.stdout.write(f"{result.role}: {state}, {result.total} permissions (+{result.added} -{result.removed})")
        self.stdout.write(self.style.SUCCESS("Roles are in sync. Add staff users to these groups in Users."))
