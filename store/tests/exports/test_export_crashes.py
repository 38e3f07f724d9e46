"""An export whose worker dies between saving its file and recording it: the job is given up as
lost, the file nobody can download is deleted, and Retry writes exactly one file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from store.exports import jobs as export_jobs
from store.housekeeping import housekeeping
from store.jobs.models import WORKER_LOST, JobState
from store.models import ExportJob
from store.tests.crash import ProcessKilled
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


class DiesAfterSaving:
    """The export storage, but the process dies as soon as the file is saved."""

    def __init__(self, storage):
        self.storage = storage

    def save(self, name, content):
        self.storage.save(name, content)
        raise ProcessKilled

    def __getattr__(self, name):
        return getattr(self.storage, name)


def files(job: ExportJob) -> list[str]:
    try:
        return export_jobs.export_storage().listdir(f"exports/{job.pk}")[1]
    except FileNotFoundError:
        return []


def test_an_export_killed_after_saving_its_file_is_lost_cleaned_and_retried_once(admin_client, admin_user, monkeypatch):
    for n in range(3):
        ProductFactory(sku=f"X-{n}")
    job = ExportJob.objects.create(requested_by=admin_user, model_label="store.product", file_format="csv")
    export_jobs.export_leftovers_drop(job=job)  # files other tests' export #N left in the shared test storage
    real_storage = export_jobs.export_storage
    monkeypatch.setattr(export_jobs, "export_storage", lambda: DiesAfterSaving(real_storage()))

    with pytest.raises(ProcessKilled):
        export_jobs.export_job_run(job_id=job.pk, attempt=1)

    monkeypatch.setattr(export_jobs, "export_storage", real_storage)
    job.refresh_from_db()
    assert (job.state, job.file.name) == (JobState.RUNNING, "")
    assert len(files(job)) == 1  # saved, not recorded
    past = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT + 1)
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=past)

    assert housekeeping()["lost_jobs"] == 1

    job.refresh_from_db()
    assert (job.state, job.error) == (JobState.FAILED, WORKER_LOST)
    assert files(job) == []
    page = admin_client.get(reverse("admin:store_exportjob_change", args=[job.pk])).content.decode()
    assert 'value="Retry"' in page
    admin_client.post(reverse("admin:store_exportjob_retry", args=[job.pk]))
    job.refresh_from_db()
    assert (job.state, job.attempt, job.rows_done) == (JobState.DONE, 2, 3)
    assert files(job) == [job.file.name.rsplit("/", 1)[-1]]
    assert admin_client.get(reverse("admin:store_exportjob_download", args=[job.pk])).status_code == 200
