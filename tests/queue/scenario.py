"""Run inside `manage.py shell -c` by the worker tests: sets up and inspects an export job
in the shared process database (tests/queue/processes.py)."""
from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.core.files.storage import storages

from store.export_jobs import export_job_create
from store.models import Collection, ExportJob, Product


def enqueue_export(*, products: int, file_format: str = "csv") -> None:
    user, _ = User.objects.get_or_create(username="ops", defaults={"is_staff": True, "is_superuser": True,
                                                                   "email": "ops@example.com"})
    if Product.objects.count() < products:
        collection, _ = Collection.objects.get_or_create(title="Worker test")
        start = Product.objects.count()
        Product.objects.bulk_create(
            Product(sku=f"W-{n:05}", title=f"Worker {n}", slug=f"worker-{n}", unit_price="5.00", inventory=n,
                    collection=collection)
            for n in range(start, products)
        )
    job = export_job_create(user=user, model_label="store.product", file_format=file_format, filters="inventory__gte=10")
    print(job.pk)


def job_report(job_id: int) -> None:
    job = ExportJob.objects.get(pk=job_id)
    content = storages["private"].open(job.file.name, "rb").read() if job.file else b""
    print(json.dumps({"state": job.state, "rows_done": job.rows_done, "rows_total": job.rows_total,
                      "error": job.error, "lines": content.count(b"\n"), "task_id": job.task_id,
                      "first": content.split(b"\r\n")[1].decode() if content else ""}))
