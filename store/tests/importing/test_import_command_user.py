"""Command-line imports record who ran them (issue 20 §3): --user, or settings.IMPORT_CLI_USER; the
Importer then sees the import in their history and may revert it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from store.importing.cli_user import ERROR_NO_USER, ERROR_NOT_IMPORTER, NOTE_NO_USER
from store.models import ImportJob, Product
from store.roles import IMPORTER, role_sync_all

pytestmark = pytest.mark.django_db

ROWS = [{"sku": "C-1", "title": "One", "unit_price": "5", "inventory": "1", "collection": "Cli"}]


@pytest.fixture
def importer(django_user_model):
    role_sync_all()
    user = django_user_model.objects.create_user(username="ops", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=IMPORTER))
    return user


def command(name: str, *args) -> str:
    out = StringIO()
    call_command(name, *map(str, args), stdout=out)
    return " ".join(out.getvalue().split())


def test_user_records_who_ran_the_import_and_they_see_and_revert_it(write_csv, importer):
    command("import_products", write_csv(ROWS), "--user", "ops")
    job = ImportJob.objects.get()
    assert (job.source, job.user) == (ImportJob.SOURCE_CLI, importer)
    assert Product.history.get(sku="C-1").history_user == importer
    client = Client()
    client.force_login(importer)
    listed = client.get(reverse("admin:store_importjob_changelist"))
    assert list(listed.context["cl"].result_list) == [job]
    assert client.get(reverse("admin:store_importjob_revert", args=[job.pk])).status_code == 200
    assert client.post(reverse("admin:store_importjob_revert", args=[job.pk]), {"_confirm": "1"}).status_code == 302
    assert not Product.objects.exists()


def test_the_configured_import_user_is_the_default(write_csv, importer, settings):
    settings.IMPORT_CLI_USER = "ops"
    output = command("import_products", write_csv(ROWS))
    assert NOTE_NO_USER not in output
    assert ImportJob.objects.get().user == importer
    command("revert_import", ImportJob.objects.get().pk)
    assert ImportJob.objects.order_by("-pk").first().user == importer  # the revert's own entry


def test_without_a_user_the_import_says_who_sees_it(write_csv):
    output = command("import_products", write_csv(ROWS))
    assert NOTE_NO_USER in output
    assert ImportJob.objects.get().user is None


def test_an_unknown_or_unauthorised_user_is_refused_before_anything_is_read(write_csv, django_user_model):
    with pytest.raises(CommandError, match="No user 'nobody'") as unknown:
        command("import_products", write_csv(ROWS), "--user", "nobody")
    assert str(unknown.value) == ERROR_NO_USER.format(username="nobody")
    django_user_model.objects.create_user(username="clerk", password="x", is_staff=True)
    with pytest.raises(CommandError) as refused:
        command("import_products", write_csv(ROWS), "--user", "clerk")
    assert str(refused.value) == ERROR_NOT_IMPORTER.format(username="clerk")
    assert not ImportJob.objects.exists()
    assert not Product.objects.exists()


def test_a_background_import_records_its_user(write_csv, importer):
    command("import_products", write_csv(ROWS), "--user", "ops", "--background")
    job = ImportJob.objects.get()
    assert job.user == importer
    assert job.status == ImportJob.STATUS_SUCCEEDED  # the test queue runs the steps at once


def test_revert_import_records_its_user(write_csv, importer):
    command("import_products", write_csv(ROWS), "--user", "ops")
    job = ImportJob.objects.get()
    command("revert_import", job.pk, "--user", "ops")
    revert = ImportJob.objects.exclude(pk=job.pk).get()
    assert (revert.file_name, revert.user) == (f"Revert of import #{job.pk}", importer)
