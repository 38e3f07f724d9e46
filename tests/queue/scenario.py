"""Run inside `manage.py shell -c` by the worker tests: sets up and inspects an export job
in the shared process database (tests/queue/processes.py)."""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.core.files.storage import storages

from store.bulk import actions as bulk_actions
from store.bulk.jobs import bulk_edit_job_create
from store.exports.jobs import export_job_create
from store.models import BulkEditJob, Collection, ExportJob, Product


def enqueue_export(*, products: int, file_format: str = "csv") -> None:
    user = enqueue_export_products(products=products)
    job = export_job_create(
        user=user, model_label="store.product", file_format=file_format, filters="inventory__gte=10"
    )
    print(job.pk)


def enqueue_export_products(*, products: int) -> User:
    """The user "ops" (superuser) and products W-00000… (inventory = n, price 5.00)."""
    user, _ = User.objects.get_or_create(
        username="ops", defaults={"is_staff": True, "is_superuser": True, "email": "ops@example.com"}
    )
    if Product.objects.count() < products:
        collection, _ = Collection.objects.get_or_create(title="Worker test")
        start = Product.objects.count()
        Product.objects.bulk_create(
            Product(
                sku=f"W-{n:05}",
                title=f"Worker {n}",
                slug=f"worker-{n}",
                unit_price="5.00",
                inventory=n,
                collection=collection,
            )
            for n in range(start, products)
        )
    return user


def job_report(job_id: int) -> None:
    job = ExportJob.objects.get(pk=job_id)
    content = storages["private"].open(job.file.name, "rb").read() if job.file else b""
    print(
        json.dumps(
            {
                "state": job.state,
                "rows_done": job.rows_done,
                "rows_total": job.rows_total,
                "error": job.error,
                "lines": content.count(b"\n"),
                "task_id": job.task_id,
                "first": content.split(b"\r\n")[1].decode() if content else "",
            }
        )
    )


def enqueue_bulk_edit(*, products: int) -> None:
    """ "Raise price 5%" on every product with inventory >= 10, as "Select all N matching" queues it."""
    enqueue_export_products(products=products)
    user = User.objects.get(username="ops")
    job = bulk_edit_job_create(
        user=user,
        action=bulk_actions.get_bulk_action("change_price"),
        parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
        filters="inventory__gte=10",
        selected_ids=None,
    )
    print(job.pk)


def bulk_edit_report(job_id: int) -> None:
    job = BulkEditJob.objects.get(pk=job_id)
    reason = str(job.bulk_edit) if job.bulk_edit_id else "-"
    print(
        json.dumps(
            {
                "state": job.state,
                "rows_done": job.rows_done,
                "rows_total": job.rows_total,
                "changed": job.changed_count,
                "error": job.error,
                "task_id": job.task_id,
                "history": Product.history.filter(history_change_reason=reason).count(),
                "prices": sorted(
                    {str(p) for p in Product.objects.filter(inventory__gte=10).values_list("unit_price", flat=True)}
                ),
                "untouched": sorted(
                    {str(p) for p in Product.objects.filter(inventory__lt=10).values_list("unit_price", flat=True)}
                ),
            }
        )
    )
