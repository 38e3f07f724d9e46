"""Bulk edits above BULK_INLINE_MAX run as jobs (store.bulk_jobs; the immediate backend runs
them inside the request here): bounded preview, preflight, per-batch commits, cancel, email."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from store.bulk import actions as bulk_actions
from store.bulk import apply as bulk_apply
from store.bulk import jobs as bulk_jobs
from store.housekeeping import housekeeping
from store.jobs import runner
from store.jobs.models import JobState
from store.jobs.services import job_cancel
from store.models import BulkEdit, BulkEditJob, Product
from store.roles import IMPORTER, MERCHANDISER, VIEWER, role_sync_all
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")
RAISE_5 = {"bulk-mode": "raise_pct", "bulk-amount": "5", "bulk-ending": ""}


@pytest.fixture
def big(settings, monkeypatch):
    """More than BULK_INLINE_MAX (2) products, written in batches of 2."""
    settings.BULK_INLINE_MAX = 2
    monkeypatch.setattr(bulk_apply, "BATCH", 2)
    return [ProductFactory(sku=f"B-{n}", unit_price=Decimal("10.00"), inventory=5) for n in range(5)]


def post(client, products, step, url=PRODUCTS, action="bulk_change_price", data=RAISE_5, **extra):
    return client.post(
        url, {"action": action, ACTION_CHECKBOX_NAME: [p.pk for p in products], "_bulk_step": step, **data, **extra}
    )


def prices(products):
    return [Product.objects.get(pk=p.pk).unit_price for p in products]


def merchandiser(username="merch"):
    role_sync_all()
    user = User.objects.create_user(username, f"{username}@example.com", "x", is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANDISER))
    return user


def test_preview_of_a_big_selection_counts_by_sql_and_evaluates_only_the_first_batch(admin_client, big):
    response = post(admin_client, big, "preview")

    assert response.status_code == 200
    report = response.context["report"]
    assert (report.total, report.selected, report.changed) == (5, 2, 2)
    page = response.content.decode()
    assert "5 products selected." in page
    assert 'id="bulk-as-job"' in page
    assert "the first 2 of\n        5 products" in page
    assert "Confirm: queue the job" in page
    assert not BulkEditJob.objects.exists()
    assert prices(big) == [Decimal("10.00")] * 5


@pytest.mark.parametrize("count", [5, 40])
def test_big_preview_queries_do_not_grow_with_the_selection(
    admin_client, settings, count, django_assert_max_num_queries
):
    settings.BULK_INLINE_MAX = 2
    products = [ProductFactory() for _ in range(count)]
    with django_assert_max_num_queries(20):
        response = post(admin_client, products, "preview")
    assert response.context["report"].total == count


def test_confirm_queues_a_job_that_edits_every_product_with_history_versions_and_email(client, big):
    user = merchandiser()
    client.force_login(user)
    versions = [p.version for p in big]

    response = post(client, big, "apply")

    job = BulkEditJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:store_bulkeditjob_change", args=[job.pk])
    assert job.state == JobState.DONE
    assert job.requested_by == user
    assert (job.rows_done, job.rows_total, job.changed_count) == (5, 5, 5)
    assert prices(big) == [Decimal("10.50")] * 5
    assert [Product.objects.get(pk=p.pk).version for p in big] == [v + 1 for v in versions]
    edit = job.bulk_edit
    assert edit.state == BulkEdit.STATE_DONE
    assert edit.changed_count == 5
    assert edit.user == user
    reason = f"Bulk edit #{edit.pk}: raise price 5%"
    assert Product.history.filter(history_change_reason=reason, history_user=user).count() == 5
    [email] = mail.outbox
    assert email.to == ["merch@example.com"]
    assert email.subject == f"{reason} is done (5 products changed)"
    assert f"/admin/store/bulkeditjob/{job.pk}/change/" in email.body

    page = client.get(response["Location"]).content.decode()
    assert "raise price 5%" in page
    assert f"Bulk edit #{edit.pk}</a>" in page
    assert 'value="Retry"' not in page


def test_select_all_stores_the_changelist_query_and_edits_the_filtered_products(admin_client, big):
    other = CollectionFactory(title="Mugs")
    mugs = [ProductFactory(collection=other, unit_price=Decimal("10.00")) for _ in range(3)]
    url = f"{PRODUCTS}?collection__pk__exact={other.pk}"

    post(admin_client, mugs[:1], "apply", url=url, select_across="1")

    job = BulkEditJob.objects.get()
    assert job.selected_ids is None
    assert job.filters == f"collection__pk__exact={other.pk}"
    assert prices(mugs) == [Decimal("10.50")] * 3
    assert prices(big) == [Decimal("10.00")] * 5


def test_ticked_ids_are_kept_when_not_selecting_all(admin_client, big):
    post(admin_client, big[:3], "apply")
    assert BulkEditJob.objects.get().selected_ids == [p.pk for p in big[:3]]
    assert prices(big) == [Decimal("10.50")] * 3 + [Decimal("10.00")] * 2


def test_a_refusal_found_by_the_preflight_writes_nothing_and_emails_why(admin_client, admin_user, big):
    admin_user.email = "admin@example.com"
    admin_user.save()
    Product.objects.filter(pk=big[4].pk).update(inventory=1)

    post(admin_client, big, "apply", action="bulk_adjust_inventory", data={"bulk-delta": "-3"})

    job = BulkEditJob.objects.get()
    assert job.state == JobState.FAILED
    assert job.bulk_edit is None
    assert job.refused_count == 1
    assert job.error == "1 product(s) would be refused, so nothing was changed. B-4: inventory 1 -3 would be below 0"
    assert [p.inventory for p in Product.objects.order_by("pk")] == [5, 5, 5, 5, 1]
    assert "failed" in mail.outbox[0].subject
    assert "Nothing was written." in mail.outbox[0].body
    page = admin_client.get(reverse("admin:store_bulkeditjob_change", args=[job.pk])).content.decode()
    assert 'value="Retry"' in page  # nothing was written: a retry is safe


def test_skip_refused_changes_the_others(admin_client, big):
    Product.objects.filter(pk=big[4].pk).update(inventory=1)
    post(admin_client, big, "apply", action="bulk_adjust_inventory", data={"bulk-delta": "-3"}, skip_refused="1")
    job = BulkEditJob.objects.get()
    assert job.state == JobState.DONE
    assert (job.changed_count, job.refused_count) == (4, 1)
    assert [p.inventory for p in Product.objects.order_by("pk")] == [2, 2, 2, 2, 1]


def test_a_product_saved_after_the_preflight_stops_the_job_saying_what_was_written(admin_client, big, monkeypatch):
    real_progress = runner.job_progress

    def someone_saves_after_the_first_batch(*, job, rows_done, rows_total=None):
        if job.bulk_edit_id and rows_done == 2:  # the first batch is committed
            late = Product.objects.get(pk=big[3].pk)
            late.title = "Edited meanwhile"
            late.save()
        real_progress(job=job, rows_done=rows_done, rows_total=rows_total)

    monkeypatch.setattr(runner, "job_progress", someone_saves_after_the_first_batch)

    post(admin_client, big, "apply")

    job = BulkEditJob.objects.get()
    edit = job.bulk_edit
    assert job.state == JobState.FAILED
    assert job.changed_count == 2
    assert prices(big) == [Decimal("10.50")] * 2 + [Decimal("10.00")] * 3
    assert edit.state == BulkEdit.STATE_STOPPED
    assert edit.changed_count == 2
    assert job.error == (
        "1 product(s) were changed by someone else since the check before writing (first: B-3); this batch was "
        f"not written. Stopped after 2 product(s) were changed (the selected products with id up to {big[1].pk}); "
        f'the others were not touched. The history rows "Bulk edit #{edit.pk}" list every change.'
    )
    assert Product.history.filter(history_change_reason=str(edit)).count() == 2
    page = admin_client.get(reverse("admin:store_bulkeditjob_change", args=[job.pk])).content.decode()
    assert 'value="Retry"' not in page  # a retry would raise the first two prices twice
    assert not bulk_jobs.bulk_edit_job_retry(job=job)


def test_cancel_between_batches_keeps_the_committed_batches_and_says_so(admin_client, admin_user, big, monkeypatch):
    real_progress = runner.job_progress

    def cancel_after_the_first_batch(*, job, rows_done, rows_total=None):
        if job.bulk_edit_id and rows_done == 2:  # the first batch is committed
            job_cancel(job=BulkEditJob.objects.get(pk=job.pk), user=admin_user)
        real_progress(job=job, rows_done=rows_done, rows_total=rows_total)

    monkeypatch.setattr(runner, "job_progress", cancel_after_the_first_batch)

    post(admin_client, big, "apply")

    job = BulkEditJob.objects.get()
    assert job.state == JobState.CANCELLED
    assert job.changed_count == 2
    assert prices(big) == [Decimal("10.50")] * 2 + [Decimal("10.00")] * 3
    assert job.bulk_edit.state == BulkEdit.STATE_CANCELLED
    assert (
        job.message
        == job.bulk_edit.message
        == (
            f"Cancelled. Stopped after 2 product(s) were changed (the selected products with id up to {big[1].pk}); "
            f'the others were not touched. The history rows "Bulk edit #{job.bulk_edit.pk}" list every change.'
        )
    )
    assert not mail.outbox  # the user cancelled it themselves


def test_cancel_during_the_preflight_writes_nothing(admin_client, admin_user, big, monkeypatch):
    real_progress = runner.job_progress

    def cancel_while_checking(*, job, rows_done, rows_total=None):
        if rows_done == 2 and job.bulk_edit_id is None:
            job_cancel(job=BulkEditJob.objects.get(pk=job.pk), user=admin_user)
        real_progress(job=job, rows_done=rows_done, rows_total=rows_total)

    monkeypatch.setattr(runner, "job_progress", cancel_while_checking)

    post(admin_client, big, "apply")

    job = BulkEditJob.objects.get()
    assert job.state == JobState.CANCELLED
    assert job.message == "Cancelled. Stopped before anything was written."
    assert prices(big) == [Decimal("10.00")] * 5
    assert not BulkEdit.objects.exists()


def test_the_worker_refuses_a_user_who_lost_the_permission(client, big):
    user = merchandiser()
    client.force_login(user)
    job = BulkEditJob.objects.create(
        requested_by=user,
        action="change_price",
        description="raise price 5%",
        parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
    )
    user.groups.clear()

    bulk_jobs.bulk_edit_job_run(job_id=job.pk, attempt=1)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == bulk_jobs.ERROR_NO_PERMISSION
    assert prices(big) == [Decimal("10.00")] * 5


@pytest.mark.parametrize(
    ("who", "page", "cancel", "retry"),
    [
        ("owner", 200, 302, 302),
        ("superuser", 200, 302, 302),
        ("other merchandiser", 404, 404, 404),
        (IMPORTER, 404, 404, 404),
        (VIEWER, 404, 404, 404),
        ("anonymous", 302, 302, 302),
    ],
)
def test_job_pages_by_role(client, django_user_model, who, page, cancel, retry):
    owner = merchandiser("owner")
    job = BulkEditJob.objects.create(
        requested_by=owner, action="change_price", description="raise price 5%", state=JobState.QUEUED
    )
    if who == "owner":
        client.force_login(owner)
    elif who == "superuser":
        client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "x"))
    elif who == "other merchandiser":
        client.force_login(merchandiser("other"))
    elif who != "anonymous":
        user = User.objects.create_user(who.lower(), password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=who))
        client.force_login(user)
    urls = [reverse(f"admin:store_bulkeditjob_{view}", args=[job.pk]) for view in ("change", "cancel", "retry")]

    assert client.get(urls[0]).status_code == page
    assert client.post(urls[1]).status_code == cancel
    job.refresh_from_db()
    assert (job.state == JobState.CANCELLED) is (cancel == 302 and who != "anonymous")
    assert client.post(urls[2]).status_code == retry


def test_set_status_is_a_bulk_edit_and_publish_still_works(admin_client):
    drafts = [ProductFactory(status=Product.Status.DRAFT) for _ in range(2)]

    preview = post(admin_client, drafts, "preview", action="bulk_set_status", data={"bulk-value": "archived"})
    assert preview.context["report"].changed == 2
    done = post(admin_client, drafts, "apply", action="bulk_set_status", data={"bulk-value": "archived"})

    assert done.status_code == 302
    edit = BulkEdit.objects.get()
    assert edit.description == "set status to Archived"
    assert {p.status for p in Product.objects.all()} == {"archived"}
    assert Product.history.filter(history_change_reason=f"Bulk edit #{edit.pk}: set status to Archived").count() == 2
    published = admin_client.post(PRODUCTS, {"action": "publish", ACTION_CHECKBOX_NAME: [drafts[0].pk]})
    assert published.status_code == 302
    assert Product.objects.get(pk=drafts[0].pk).status == "active"


@pytest.mark.parametrize("via", ["housekeeping", "page"])
def test_a_lost_worker_leaves_the_bulk_edit_stopped_part_way_not_running(admin_client, big, settings, via):
    """SIGKILL between batches: the job fails "worker lost" after the heartbeat timeout, and the
    bulk edit in the history says how far it got instead of "running" forever."""
    user = User.objects.get(username="admin")
    edit = bulk_apply.bulk_edit_create(
        action=bulk_actions.get_bulk_action("change_price"), parameters={"mode": "raise_pct", "amount": "5"}, user=user
    )
    BulkEdit.objects.filter(pk=edit.pk).update(changed_count=2)  # its batches so far
    job = BulkEditJob.objects.create(
        requested_by=user,
        action="change_price",
        description="Raise prices 5%",
        parameters={},
        filters="",
        state=JobState.RUNNING,
        bulk_edit=edit,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT + 1),
    )

    if via == "page":  # the job's page marks it too, for a deployment whose scheduler is late
        response = admin_client.get(reverse("admin:store_bulkeditjob_change", args=[job.pk]))
        assert response.status_code == 200
    else:
        assert housekeeping()["lost_jobs"] == 1

    job.refresh_from_db()
    edit.refresh_from_db()
    assert (job.state, job.error) == (JobState.FAILED, "worker lost")
    assert edit.state == BulkEdit.STATE_STOPPED
    assert edit.changed_count == 2
    assert edit.finished_at is not None
    assert edit.message.startswith("The worker was lost. Stopped after at least 2 product(s) were changed")
    assert f"Bulk edit #{edit.pk}" in edit.message
