"""Bulk edits tell the truth when their process dies: the record of what was written is part of the
transaction that wrote it, and an edit found dead is reconciled from its history rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from store.bulk import apply as bulk_apply
from store.bulk import jobs as bulk_jobs
from store.bulk.actions import get_bulk_action
from store.housekeeping import housekeeping
from store.jobs.models import JobState
from store.models import BulkEdit, BulkEditJob, Product
from store.services import product_history_insert
from store.tests.crash import ProcessKilled, die_after_commit
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

LOWER_1 = {"mode": "lower_pct", "amount": "1", "ending": ""}


@pytest.fixture
def held(settings):
    """Tasks wait in the queue until the test runs them."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def products(monkeypatch):
    monkeypatch.setattr(bulk_apply, "BATCH", 2)
    return [ProductFactory(sku=f"C-{n}", unit_price=Decimal("10.00")) for n in range(5)]


def prices(products):
    return [Product.objects.get(pk=p.pk).unit_price for p in products]


def long_ago(model, pk, **fields):
    """As if the clock had moved on past the timeouts."""
    past = timezone.now() - timedelta(
        seconds=max(settings.JOB_HEARTBEAT_TIMEOUT, getattr(settings, "INLINE_STEP_TIMEOUT", 0)) + 1
    )
    model.objects.filter(pk=pk).update(**dict.fromkeys(fields, past))


def test_a_job_killed_after_a_batch_commits_says_what_it_wrote_and_offers_no_retry(
    admin_client, admin_user, products, held, monkeypatch
):
    """Issue 19 item 1: the batch's commit and its count are one transaction."""
    job = bulk_jobs.bulk_edit_job_create(
        user=admin_user,
        action=get_bulk_action("change_price"),
        parameters=LOWER_1,
        filters="",
        selected_ids=[p.pk for p in products],
    )
    die_after_commit(monkeypatch, bulk_apply, "_record_history")  # the first batch's transaction

    with pytest.raises(ProcessKilled):
        bulk_jobs.bulk_edit_job_run(job_id=job.pk, attempt=job.attempt)

    # The next process: the worker is silent; housekeeping gives it up.
    long_ago(BulkEditJob, job.pk, heartbeat_at=True)
    assert housekeeping()["lost_jobs"] == 1
    job = BulkEditJob.objects.select_related("bulk_edit").get(pk=job.pk)
    edit = job.bulk_edit
    assert (job.state, job.error) == (JobState.FAILED, "worker lost")
    assert job.changed_count == 2
    assert not bulk_jobs.bulk_edit_job_retry(job=job)
    assert (edit.changed_count, edit.last_id) == (2, products[1].pk)
    assert edit.state == BulkEdit.STATE_STOPPED
    assert edit.message == (
        f"The worker was lost. Stopped after 2 product(s) were changed (the selected products with id up to "
        f'{products[1].pk}); the others were not touched. The history rows "Bulk edit #{edit.pk}" list every change.'
    )
    assert prices(products) == [Decimal("9.90")] * 2 + [Decimal("10.00")] * 3

    page = admin_client.get(reverse("admin:store_bulkeditjob_change", args=[job.pk])).content.decode()
    assert "Stopped after 2 product(s) were changed" in page
    assert 'value="Retry"' not in page
    admin_client.post(reverse("admin:store_bulkeditjob_retry", args=[job.pk]))
    assert prices(products) == [Decimal("9.90")] * 2 + [Decimal("10.00")] * 3  # never twice


def test_a_lost_job_is_reconciled_from_its_history_rows_before_retry_is_offered(admin_client, admin_user, products):
    """A job whose count never made it (an older version's record): its history rows say what was written."""
    edit = bulk_apply.bulk_edit_create(action=get_bulk_action("change_price"), parameters=LOWER_1, user=admin_user)
    product_history_insert(products=products[:2], user=admin_user, reason=str(edit), history_type="~")
    job = BulkEditJob.objects.create(
        requested_by=admin_user,
        action="change_price",
        description=edit.description,
        parameters=LOWER_1,
        state=JobState.RUNNING,
        bulk_edit=edit,
        heartbeat_at=timezone.now(),
    )
    long_ago(BulkEditJob, job.pk, heartbeat_at=True)

    page = admin_client.get(reverse("admin:store_bulkeditjob_change", args=[job.pk])).content.decode()

    edit.refresh_from_db()
    assert (edit.state, edit.changed_count, edit.last_id) == (BulkEdit.STATE_STOPPED, 2, products[1].pk)
    assert "Stopped before anything was written" not in page
    assert 'value="Retry"' not in page


def test_an_inline_edit_killed_after_its_commit_is_recorded_done(admin_client, admin_user, monkeypatch):
    """Issue 19 item 2 (inline bulk edit): the end is written by the writes' own transaction."""
    products = [ProductFactory(unit_price=Decimal("10.00")) for _ in range(3)]
    die_after_commit(monkeypatch, bulk_apply, "_record_history")

    with pytest.raises(ProcessKilled):
        bulk_apply.bulk_edit_apply(
            action=get_bulk_action("change_price"),
            products=Product.objects.filter(pk__in=[p.pk for p in products]),
            parameters=LOWER_1,
            user=admin_user,
        )

    edit = BulkEdit.objects.get()
    assert (edit.state, edit.changed_count, edit.selected_count) == (BulkEdit.STATE_DONE, 3, 3)
    assert edit.message == "3 changed, 0 unchanged."
    assert housekeeping()["recovered_bulk_edits"] == 0
    assert prices(products) == [Decimal("9.90")] * 3


def test_housekeeping_recovers_inline_edits_left_running_by_a_dead_web_process(admin_user):
    """Edits an older version left "running": what their history rows hold becomes their end."""
    written = [ProductFactory() for _ in range(2)]
    action = get_bulk_action("change_price")
    committed = bulk_apply.bulk_edit_create(action=action, parameters=LOWER_1, user=admin_user)
    product_history_insert(products=written, user=admin_user, reason=str(committed), history_type="~")
    rolled_back = bulk_apply.bulk_edit_create(action=action, parameters=LOWER_1, user=admin_user)
    recent = bulk_apply.bulk_edit_create(action=action, parameters=LOWER_1, user=admin_user)
    long_ago(BulkEdit, committed.pk, created_at=True)
    long_ago(BulkEdit, rolled_back.pk, created_at=True)

    assert housekeeping()["recovered_bulk_edits"] == 2

    committed.refresh_from_db()
    rolled_back.refresh_from_db()
    recent.refresh_from_db()
    assert (committed.state, committed.changed_count) == (BulkEdit.STATE_DONE, 2)
    assert committed.message.startswith("2 changed. The web process stopped before recording the end")
    assert (rolled_back.state, rolled_back.changed_count) == (BulkEdit.STATE_FAILED, 0)
    assert rolled_back.message == bulk_apply.RECOVERED_NOTHING
    assert recent.state == BulkEdit.STATE_RUNNING  # its request may still be running


def test_an_unexpected_error_ends_an_inline_edit_failed_with_nothing_written(admin_user, monkeypatch):
    """Issue 20 §1: not "Running" forever."""
    products = [ProductFactory(unit_price=Decimal("10.00")) for _ in range(3)]

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk_apply, "_record_history", broken)

    with pytest.raises(RuntimeError):
        bulk_apply.bulk_edit_apply(
            action=get_bulk_action("change_price"),
            products=Product.objects.all(),
            parameters=LOWER_1,
            user=admin_user,
        )

    edit = BulkEdit.objects.get()
    assert (edit.state, edit.changed_count, edit.message) == (BulkEdit.STATE_FAILED, 0, bulk_apply.ERROR_INTERRUPTED)
    assert edit.finished_at is not None
    assert prices(products) == [Decimal("10.00")] * 3


def test_an_unexpected_error_in_a_batch_stops_the_jobs_edit_saying_what_was_written(
    admin_user, products, held, monkeypatch
):
    job = bulk_jobs.bulk_edit_job_create(
        user=admin_user,
        action=get_bulk_action("change_price"),
        parameters=LOWER_1,
        filters="",
        selected_ids=[p.pk for p in products],
    )
    real = bulk_apply._record_history
    calls = []

    def breaks_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("deadlock found")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_apply, "_record_history", breaks_on_the_second_batch)

    bulk_jobs.bulk_edit_job_run(job_id=job.pk, attempt=job.attempt)

    job = BulkEditJob.objects.select_related("bulk_edit").get(pk=job.pk)
    assert (job.state, job.error) == (JobState.FAILED, "RuntimeError: deadlock found")
    assert job.bulk_edit.state == BulkEdit.STATE_STOPPED
    assert job.bulk_edit.message.startswith(
        f"Interrupted by an unexpected error. Stopped after 2 product(s) were changed (the selected products with id "
        f"up to {products[1].pk})"
    )
    assert job.changed_count == 2
    assert prices(products) == [Decimal("9.90")] * 2 + [Decimal("10.00")] * 3
