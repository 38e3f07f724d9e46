"""Exports as jobs: above EXPORT_INLINE_MAX_ROWS the admin queues a job (run here by the
immediate backend), streams the filtered changelist to storage, links it, emails the user."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.files.storage import storages
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from store.exports import jobs as export_jobs
from store.exports import resources
from store.exports.formats import render, write_stream
from store.exports.jobs import ERROR_NO_PERMISSION, export_job_run, export_source
from store.exports.resources import ProductResource
from store.housekeeping import housekeeping
from store.jobs.models import WORKER_LOST, JobCancelled, JobState
from store.jobs.services import job_progress, job_start
from store.models import ExportJob, Order, Product
from store.tests.factories import CollectionFactory, OrderItemFactory, ProductFactory, PromotionFactory

pytestmark = pytest.mark.django_db

EXPORT = "admin:store_product_export"
CHANGELIST = "admin:store_product_changelist"


def staff(client, username: str, *perms: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True, email=f"{username}@example.com")
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client.force_login(user)
    return user


@pytest.fixture
def catalog(db):
    collection = CollectionFactory(title="Apparel")
    promotion = PromotionFactory()
    products = [
        ProductFactory(sku=f"S-{n:03}", title=f"Shirt {n}", inventory=n, collection=collection) for n in range(12)
    ]
    products[0].title = '=HYPERLINK("http://x")'
    products[0].save()
    products[1].promotions.add(promotion)
    return products


@pytest.fixture
def small_limit(settings):
    settings.EXPORT_INLINE_MAX_ROWS = 5
    return settings


def streamed(queryset, file_format: str, *, excel_bom: bool = False, resource_class=ProductResource) -> bytes:
    resource = resource_class()
    out = io.BytesIO()
    write_stream(
        out,
        file_format=file_format,
        headers=resource.export_headers(),
        chunks=resource.iter_export_chunks(queryset, force_native_type=file_format == "xlsx"),
        excel_bom=excel_bom,
    )
    return out.getvalue()


# --- the streamed file is the inline file ----------------------------------------------
@pytest.mark.parametrize(("file_format", "excel_bom"), [("csv", False), ("csv", True), ("json", False)])
def test_streamed_bytes_equal_the_inline_export(catalog, monkeypatch, file_format, excel_bom):
    monkeypatch.setattr(resources, "EXPORT_CHUNK_SIZE", 5)  # three chunks
    queryset = Product.objects.order_by("-inventory")
    inline = render(ProductResource().export(queryset=queryset), file_format=file_format, excel_bom=excel_bom)
    assert streamed(queryset, file_format, excel_bom=excel_bom) == inline
    if file_format == "json":
        assert [row["sku"] for row in json.loads(inline)][:2] == ["S-011", "S-010"]


def test_streamed_xlsx_has_the_inline_cells(catalog):
    queryset = Product.objects.order_by("sku")
    inline = load_workbook(
        io.BytesIO(render(ProductResource().export(queryset=queryset, force_native_type=True), file_format="xlsx"))
    ).active
    stream = load_workbook(io.BytesIO(streamed(queryset, "xlsx"))).active
    assert [[c.value for c in row] for row in stream.iter_rows()] == [
        [c.value for c in row] for row in inline.iter_rows()
    ]
    assert stream["B2"].value == '\'=HYPERLINK("http://x")'
    assert isinstance(stream["F3"].value, int)


def test_orders_stream_like_their_inline_export(db, monkeypatch):
    monkeypatch.setattr(resources, "EXPORT_CHUNK_SIZE", 2)
    for _ in range(5):
        OrderItemFactory()

    queryset = Order.objects.order_by("pk")
    inline = render(resources.OrderResource().export(queryset=queryset), file_format="csv")
    assert streamed(queryset, "csv", resource_class=resources.OrderResource) == inline


def test_streaming_costs_a_fixed_number_of_queries_per_chunk(catalog, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(resources, "EXPORT_CHUNK_SIZE", 4)
    # ids once, then per chunk of 4: rows, collections, promotions, tags
    with django_assert_max_num_queries(1 + 6 * 4):  # per chunk: rows, promotions, tags, status, images (2)
        streamed(Product.objects.all(), "csv")


# --- the admin: small inline, large as a job --------------------------------------------
def test_small_export_stays_inline(admin_client, catalog, settings):
    settings.EXPORT_INLINE_MAX_ROWS = 12
    response = admin_client.get(reverse(EXPORT), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert not ExportJob.objects.exists()


def test_large_export_runs_as_a_job_of_the_filtered_changelist(client, catalog, small_limit):
    user = staff(client, "ops", "store.view_product")
    response = client.get(reverse(EXPORT), {"format": "csv", "filters": "inventory__gte=3&o=-6"})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:store_exportjob_change", args=[job.pk])
    assert job.requested_by == user
    assert job.filters == "inventory__gte=3&o=-6"
    assert job.state == JobState.DONE
    assert (job.rows_done, job.rows_total) == (9, 9)
    assert job.expires_at > timezone.now() + timedelta(days=6)

    page = client.get(response.url)
    html = page.content.decode()
    assert "More than 5 rows: the export runs in the background as" in html  # the admin message
    assert "Done" in html
    assert 'id="job-download"' in html
    assert 'http-equiv="refresh"' not in html

    download = client.get(reverse("admin:store_exportjob_download", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert download["Content-Disposition"].startswith('attachment; filename="products-')
    assert [row[0] for row in rows[1:]] == [f"S-{n:03}" for n in range(11, 2, -1)]  # as filtered and sorted

    [email] = mail.outbox
    assert email.to == ["ops@example.com"]
    assert email.subject == f"Your export #{job.pk} is ready (9 rows)"
    assert f"http://127.0.0.1:8000/admin/store/exportjob/{job.pk}/change/" in email.body
    assert "9 rows in" in email.body


def test_only_the_requester_or_a_superuser_sees_the_job_and_its_file(client, admin_client, catalog, small_limit):
    staff(client, "ops", "store.view_product")
    client.get(reverse(EXPORT), {"format": "json"})
    job = ExportJob.objects.get()
    page, download = (
        reverse("admin:store_exportjob_change", args=[job.pk]),
        reverse("admin:store_exportjob_download", args=[job.pk]),
    )
    assert admin_client.get(download).status_code == 200
    assert json.loads(b"".join(admin_client.get(download).streaming_content))[0]["sku"]
    other = User.objects.create_user("other", password="pw", is_staff=True)
    other.user_permissions.add(Permission.objects.get(codename="view_product"))
    client.force_login(other)
    # Another user's job answers as a missing one does (issue 19 item 12): 404, never 403.
    assert client.get(page).status_code == 404
    assert client.get(download).status_code == 404
    assert client.post(reverse("admin:store_exportjob_cancel", args=[job.pk])).status_code == 404
    assert client.post(reverse("admin:store_exportjob_retry", args=[job.pk])).status_code == 404
    missing = reverse("admin:store_exportjob_change", args=[job.pk + 1000])
    assert client.get(missing).status_code == 404
    assert str(job) not in client.get(reverse("admin:store_exportjob_changelist")).content.decode()
    client.logout()
    assert client.get(download).status_code == 302  # to the login page


def test_export_files_live_in_the_private_storage_not_under_media(admin_client, catalog, small_limit):
    admin_client.get(reverse(EXPORT), {"format": "csv"})
    job = ExportJob.objects.get()
    private = storages["private"]
    assert job.file.storage is private
    assert private.exists(job.file.name)
    assert not Path(settings.MEDIA_ROOT, job.file.name).exists()
    assert not Path(private.path(job.file.name)).is_relative_to(settings.MEDIA_ROOT)


def test_select_all_action_above_the_limit_becomes_a_job(admin_client, catalog, small_limit):
    ids = [str(p.pk) for p in catalog]
    response = admin_client.post(
        reverse(CHANGELIST) + "?inventory__lt=8",
        {
            "action": "export_selected_xlsx",
            "_selected_action": ids,
            "select_across": "1",
            "index": "0",
        },
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert job.scope == "selected"
    assert job.filters == "inventory__lt=8"
    sheet = load_workbook(storages["private"].open(job.file.name, "rb")).active
    assert sheet.max_row == 1 + 8


def test_xlsx_export_job_and_bom_csv(admin_client, catalog, small_limit):
    admin_client.get(reverse(EXPORT), {"format": "csv", "bom": "1"})
    job = ExportJob.objects.get()
    assert storages["private"].open(job.file.name, "rb").read().startswith("\ufeffsku,title".encode())


def test_running_page_refreshes_and_offers_cancel(admin_client, admin_user):
    job = ExportJob.objects.create(
        requested_by=admin_user,
        model_label="store.product",
        file_format="csv",
        state=JobState.RUNNING,
        rows_done=500,
        rows_total=2000,
        started_at=timezone.now() - timedelta(seconds=10),
        heartbeat_at=timezone.now(),
    )
    html = admin_client.get(reverse("admin:store_exportjob_change", args=[job.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "500 / 2000 (25%)" in html
    assert "Cancel job" in html
    assert "Time left (estimate)" in html
    response = admin_client.post(reverse("admin:store_exportjob_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert response.status_code == 302
    assert job.state == JobState.CANCELLED
    # The worker notices at its next chunk and stops.
    with pytest.raises(JobCancelled):
        job_progress(job=job, rows_done=1000)


def test_a_cancelled_queued_job_never_runs(admin_user, catalog):
    job = ExportJob.objects.create(requested_by=admin_user, model_label="store.product", file_format="csv")
    ExportJob.objects.filter(pk=job.pk).update(state=JobState.CANCELLED)
    export_job_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    assert not job.file


def test_a_job_runs_once_and_stale_attempts_do_nothing(admin_user, catalog):
    job = ExportJob.objects.create(requested_by=admin_user, model_label="store.product", file_format="csv")
    export_job_run(job_id=job.pk, attempt=1)
    export_job_run(job_id=job.pk, attempt=1)  # delivered twice
    export_job_run(job_id=job.pk, attempt=0)
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.rows_done == 12
    assert len(mail.outbox) == 1


def test_worker_lost_then_retry(admin_client, admin_user, catalog, settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 60
    job = ExportJob.objects.create(requested_by=admin_user, model_label="store.product", file_format="csv")
    assert job_start(job=job, attempt=1)
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    page = reverse("admin:store_exportjob_change", args=[job.pk])
    html = admin_client.get(page).content.decode()
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == WORKER_LOST
    assert "failed: worker lost" in html
    assert "Retry" in html
    # The lost worker wakes up: it may not write anymore.
    with pytest.raises(JobCancelled):
        job_progress(job=job, rows_done=10)
    response = admin_client.post(reverse("admin:store_exportjob_retry", args=[job.pk]), follow=True)
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.attempt == 2
    assert job.rows_done == 12
    assert "is queued again." in response.content.decode()
    assert admin_client.post(reverse("admin:store_exportjob_retry", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.attempt == 2  # a done job is not retried


def test_a_failed_job_says_why_and_emails(client, catalog, small_limit):
    user = staff(client, "ops", "store.view_product")
    job = ExportJob.objects.create(requested_by=user, model_label="store.product", file_format="csv")
    user.user_permissions.clear()
    export_job_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == ERROR_NO_PERMISSION
    [email] = mail.outbox
    assert email.subject == f"Your export #{job.pk} failed"
    assert ERROR_NO_PERMISSION in email.body


def test_export_source_uses_the_admins_own_filters(admin_user, catalog):
    job = ExportJob(
        requested_by=admin_user, model_label="store.product", file_format="csv", filters="inventory_status=out"
    )
    _, queryset = export_source(job=job)
    assert list(queryset.values_list("sku", flat=True)) == ["S-000"]


def test_housekeeping_removes_expired_files(admin_user, catalog):
    job = ExportJob.objects.create(requested_by=admin_user, model_label="store.product", file_format="csv")
    export_job_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    name = job.file.name
    assert storages["private"].exists(name)
    assert housekeeping()["expired_exports"] == 0
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    out = io.StringIO()
    call_command("housekeeping", stdout=out)
    job.refresh_from_db()
    assert not storages["private"].exists(name)
    assert not job.file
    assert "1 expired export file(s) removed" in out.getvalue()


def test_job_pages_are_listed_for_their_owner(client, catalog, small_limit):
    staff(client, "ops", "store.view_product")
    assert "Export jobs" not in client.get(reverse("admin:index")).content.decode()
    client.get(reverse(EXPORT), {"format": "csv"})
    assert "Export jobs" in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse("admin:store_exportjob_changelist")).status_code == 200


def test_the_end_of_a_job_shows_once_in_the_admin_messages(client, catalog, small_limit):
    staff(client, "ops", "store.view_product")
    client.get(reverse(EXPORT), {"format": "csv"})  # queued (and, immediate backend, done)
    job = ExportJob.objects.get()
    html = client.get(reverse(CHANGELIST)).content.decode()
    download = reverse("admin:store_exportjob_download", args=[job.pk])
    assert f'Export #{job.pk} is ready: 12 rows. <a href="{download}">Download</a>' in html
    assert f"Export #{job.pk} is ready" not in client.get(reverse(CHANGELIST)).content.decode()


def test_a_failed_job_is_announced_with_its_reason(client, catalog):
    user = staff(client, "ops", "store.view_product")
    job = ExportJob.objects.create(
        requested_by=user, model_label="store.product", file_format="csv", state=JobState.FAILED, error=WORKER_LOST
    )
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert f"Export #{job.pk} failed: worker lost." in html
    assert "Details and Retry" in html


def test_a_crash_in_the_worker_ends_the_job_failed_and_keeps_no_file(admin_user, catalog, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_jobs, "write_stream", crash)
    job = ExportJob.objects.create(requested_by=admin_user, model_label="store.product", file_format="csv")
    export_job_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert (job.state, job.error, job.file.name) == (JobState.FAILED, "RuntimeError: disk full", "")
    assert mail.outbox[0].subject == f"Your export #{job.pk} failed"


def test_a_job_records_its_progress_each_chunk_and_stops_when_cancelled_mid_stream(admin_user, catalog, monkeypatch):
    monkeypatch.setattr(resources, "EXPORT_CHUNK_SIZE", 5)  # chunks of 5, 5 and 2 products
    job = ExportJob.objects.create(requested_by=admin_user, model_label="store.product", file_format="csv")
    seen: list[int] = []
    rows_of = resources.ProductResource.export_rows

    def cancel_after_the_first_chunk(self, items, **kwargs):
        if seen:
            ExportJob.objects.filter(pk=job.pk).update(state=JobState.CANCELLED)
        seen.append(ExportJob.objects.get(pk=job.pk).rows_done)
        return rows_of(self, items, **kwargs)

    monkeypatch.setattr(resources.ProductResource, "export_rows", cancel_after_the_first_chunk)
    export_job_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert seen == [0, 5]  # the first chunk's rows were recorded before the second was read
    assert (job.state, job.rows_done) == (JobState.CANCELLED, 5)  # stopped at the second chunk's progress
    assert not job.file
