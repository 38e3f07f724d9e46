"""Who may see and act on an import job (issue 9, item 5).

Only the uploader, a superuser, or a holder of ``store.manage_others_imports`` may view a
preview, confirm or cancel it, download its failed rows or see it in the import history.
Everyone else gets 404, exactly as for a job that does not exist, so job ids leak nothing.

ACCESS: (who, what, expected status). EFFECT: what a confirm/cancel by ``who`` leaves behind.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from store.importing.service import product_import_cancel, product_import_confirm
from store.models import ImportJob, Product
from store.roles import IMPORTER, VIEWER

UPLOADER, OTHER_IMPORTER, MANAGER, SUPERUSER, VIEWER_ROLE = "uploader", "other", "manager", "superuser", "viewer"
OK, REDIRECT, FORBIDDEN, NOT_FOUND = 200, 302, 403, 404
CSV = "sku,title,unit_price,inventory,collection\r\nGOOD-1,Good,5,1,Tees\r\nBAD-1,Bad,abc,1,Tees\r\n"

ACCESS = [
    (UPLOADER, "preview", OK),
    (UPLOADER, "failed_rows", OK),
    (UPLOADER, "history_change", OK),
    (OTHER_IMPORTER, "preview", NOT_FOUND),
    (OTHER_IMPORTER, "failed_rows", NOT_FOUND),
    (OTHER_IMPORTER, "confirm", NOT_FOUND),
    (OTHER_IMPORTER, "cancel", NOT_FOUND),
    # The admin's change view answers a hidden object like a missing one: back to the index.
    (OTHER_IMPORTER, "history_change", REDIRECT),
    (MANAGER, "preview", OK),
    (MANAGER, "failed_rows", OK),
    (MANAGER, "history_change", OK),
    (SUPERUSER, "preview", OK),
    (SUPERUSER, "failed_rows", OK),
    (SUPERUSER, "history_change", OK),
    (VIEWER_ROLE, "preview", FORBIDDEN),  # no import permission at all
    (VIEWER_ROLE, "failed_rows", NOT_FOUND),
    (VIEWER_ROLE, "history_change", REDIRECT),
]

# (who, job listed on the import page and in the import history)
LISTED = [(UPLOADER, True), (OTHER_IMPORTER, False), (MANAGER, True), (SUPERUSER, True), (VIEWER_ROLE, False)]

# (who, button, job status afterwards, products written)
EFFECT = [
    (UPLOADER, "_confirm", ImportJob.STATUS_PARTIAL, 1),
    (UPLOADER, "_cancel", ImportJob.STATUS_CANCELLED, 0),
    (OTHER_IMPORTER, "_confirm", ImportJob.STATUS_PREVIEW, 0),
    (OTHER_IMPORTER, "_cancel", ImportJob.STATUS_PREVIEW, 0),
    (MANAGER, "_confirm", ImportJob.STATUS_PARTIAL, 1),
    (MANAGER, "_cancel", ImportJob.STATUS_CANCELLED, 0),
    (SUPERUSER, "_confirm", ImportJob.STATUS_PARTIAL, 1),
    (VIEWER_ROLE, "_confirm", ImportJob.STATUS_PREVIEW, 0),
]


@pytest.fixture
def users(roles) -> dict[str, User]:
    def staff(name: str, *groups: str) -> User:
        user = User.objects.create_user(name, password="x", is_staff=True)
        user.groups.add(*Group.objects.filter(name__in=groups))
        return user

    manager = staff(MANAGER, IMPORTER)
    manager.user_permissions.add(Permission.objects.get(codename="manage_others_imports"))
    return {
        UPLOADER: staff(UPLOADER, IMPORTER),
        OTHER_IMPORTER: staff(OTHER_IMPORTER, IMPORTER),
        MANAGER: manager,
        SUPERUSER: User.objects.create_superuser("root", "root@example.com", "x"),
        VIEWER_ROLE: staff(VIEWER_ROLE, VIEWER),
    }


@pytest.fixture
def client_of(users):
    def make(who: str) -> Client:
        client = Client()
        client.force_login(users[who])
        return client

    return make


@pytest.fixture
def job(client_of) -> ImportJob:
    """A preview awaiting confirmation, uploaded by UPLOADER, with one invalid row."""
    response = client_of(UPLOADER).post(
        reverse("admin:store_product_import"),
        {
            "preset": "auto",
            "skip_invalid": "on",
            "file": SimpleUploadedFile("mine.csv", CSV.encode()),
        },
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_PREVIEW
    assert job.failed_rows
    return job


def url_of(what: str, job: ImportJob) -> str:
    name = {
        "preview": "admin:store_product_import_preview",
        "confirm": "admin:store_product_import_preview",
        "cancel": "admin:store_product_import_preview",
        "failed_rows": "admin:store_importjob_failed_rows",
        "history_change": "admin:store_importjob_change",
    }[what]
    return reverse(name, args=[job.pk])


@pytest.mark.parametrize(("who", "what", "expected"), ACCESS)
def test_access_table(who, what, expected, client_of, job):
    client = client_of(who)
    if what in ("confirm", "cancel"):
        response = client.post(url_of(what, job), {f"_{what}": "1"})
    else:
        response = client.get(url_of(what, job))
    assert response.status_code == expected
    if expected == REDIRECT:
        assert response.url == reverse("admin:index")
    if what == "failed_rows" and expected == OK:
        assert b"BAD-1" in b"".join(response.streaming_content)


def test_a_hidden_job_and_a_missing_job_answer_alike(client_of, job):
    client = client_of(OTHER_IMPORTER)
    for view in ("preview", "failed_rows"):
        hidden_url, missing_url = url_of(view, job), url_of(view, ImportJob(pk=job.pk + 1000))
        hidden, missing = client.get(hidden_url), client.get(missing_url)
        assert hidden.status_code == missing.status_code == NOT_FOUND
        assert hidden.content.replace(hidden_url.encode(), b"URL") == missing.content.replace(
            missing_url.encode(), b"URL"
        )


@pytest.mark.parametrize(("who", "listed"), LISTED)
def test_lists_show_own_jobs_only(who, listed, client_of, job):
    client = client_of(who)
    history = client.get(reverse("admin:store_importjob_changelist"))
    assert history.status_code == OK
    assert (job in history.context["cl"].result_list) is listed
    page = client.get(reverse("admin:store_product_import"))
    if page.status_code == OK:
        assert (job in page.context["recent_jobs"]) is listed
        assert ("mine.csv" in page.content.decode()) is listed


@pytest.mark.parametrize(("who", "button", "status", "written"), EFFECT)
def test_confirm_and_cancel_effects(who, button, status, written, client_of, users, job):
    client_of(who).post(url_of("preview", job), {button: "1", "skip_invalid": "1"})
    job.refresh_from_db()
    assert job.status == status
    assert Product.objects.count() == written
    assert job.user == users[UPLOADER]  # the uploader is never replaced
    confirmed = job.status == ImportJob.STATUS_PARTIAL
    assert job.confirmed_by == (users[who] if confirmed else None)


def test_the_history_names_who_uploaded_and_who_confirmed(client_of, users, job):
    client_of(MANAGER).post(url_of("preview", job), {"_confirm": "1", "skip_invalid": "1"})
    html = client_of(SUPERUSER).get(reverse("admin:store_importjob_changelist")).content.decode()
    assert f"{UPLOADER}, confirmed by {MANAGER}" in html  # the import column (issue 20: the list fits 1,366 px)


def test_the_service_refuses_another_users_confirm_and_cancel(users, job):
    for act in (product_import_confirm, product_import_cancel):
        with pytest.raises(PermissionDenied):
            act(job=job, user=users[OTHER_IMPORTER])
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_PREVIEW
    assert not Product.objects.exists()
