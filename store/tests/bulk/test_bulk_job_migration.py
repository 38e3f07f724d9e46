"""Migration 0018: a bulk edit job's copied counts move to its BulkEdit (and back), losing nothing."""

from __future__ import annotations

import pytest

from store.tests.migrating import migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("store", "0017_product_track_inventory")]
AFTER = [("store", "0018_bulkeditjob_counts_through_bulk_edit")]


@pytest.fixture
def back_to_latest():
    yield
    migrate_to_latest()


def test_counts_move_to_the_bulk_edit_and_back(back_to_latest):
    apps = migrate_to(BEFORE)
    BulkEdit, BulkEditJob = apps.get_model("store", "BulkEdit"), apps.get_model("store", "BulkEditJob")
    common = {"action": "change_price", "description": "raise price 5%"}
    done_edit = BulkEdit.objects.create(
        **common, state="done", selected_count=6, changed_count=5, unchanged_count=1, message="5 changed."
    )
    done = BulkEditJob.objects.create(
        **common, state="done", bulk_edit=done_edit, changed_count=5, unchanged_count=1, message="5 changed."
    )
    # A job still writing: its counts were on the job only (the bulk edit got them at its end).
    running_edit = BulkEdit.objects.create(**common, state="running")
    running = BulkEditJob.objects.create(
        **common, state="running", bulk_edit=running_edit, changed_count=2000, unchanged_count=3, refused_count=1
    )
    # Refused by the check before writing: no bulk edit, the check's counts on the job.
    refused = BulkEditJob.objects.create(
        **common, state="failed", unchanged_count=4, refused_count=2, error="2 product(s) would be refused"
    )
    cancelled = BulkEditJob.objects.create(
        **common, state="cancelled", message="Cancelled. Stopped before anything was written."
    )

    apps = migrate_to(AFTER)
    BulkEdit, BulkEditJob = apps.get_model("store", "BulkEdit"), apps.get_model("store", "BulkEditJob")
    edit = BulkEdit.objects.get(pk=running_edit.pk)
    assert (edit.changed_count, edit.unchanged_count, edit.refused_count, edit.selected_count) == (2000, 3, 1, 2004)
    edit = BulkEdit.objects.get(pk=done_edit.pk)
    assert (edit.changed_count, edit.unchanged_count, edit.message) == (5, 1, "5 changed.")
    assert BulkEditJob.objects.get(pk=refused.pk).checked == {"changed": 0, "unchanged": 4, "refused": 2}

    apps = migrate_to(BEFORE)
    BulkEditJob = apps.get_model("store", "BulkEditJob")
    rows = {
        job.pk: (job.changed_count, job.unchanged_count, job.refused_count, job.message)
        for job in BulkEditJob.objects.all()
    }
    assert rows == {
        done.pk: (5, 1, 0, "5 changed."),
        running.pk: (2000, 3, 1, ""),
        refused.pk: (0, 4, 2, ""),
        cancelled.pk: (0, 0, 0, "Cancelled. Stopped before anything was written."),
    }
