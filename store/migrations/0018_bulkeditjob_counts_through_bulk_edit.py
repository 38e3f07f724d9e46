"""A bulk edit job stops copying its BulkEdit's counts and message: it reads them through it.

The check before writing keeps its counts in ``checked`` (nothing is written by then). Data
moves both ways without loss: a job's counts go to its bulk edit where the bulk edit had not
recorded them yet (a job still running, or lost), and the check's counts to ``checked``."""

from django.db import migrations, models


def counts_to_bulk_edit(apps, schema_editor):
    BulkEditJob = apps.get_model("store", "BulkEditJob")
    BulkEdit = apps.get_model("store", "BulkEdit")
    for job in BulkEditJob.objects.select_related("bulk_edit").iterator(chunk_size=1000):
        edit = job.bulk_edit
        if edit is None:
            job.checked = {"changed": 0, "unchanged": job.unchanged_count, "refused": job.refused_count}
            BulkEditJob.objects.filter(pk=job.pk).update(checked=job.checked)
            continue
        counts = (job.changed_count, job.unchanged_count, job.refused_count)
        if counts > (edit.changed_count, edit.unchanged_count, edit.refused_count):
            BulkEdit.objects.filter(pk=edit.pk).update(
                changed_count=job.changed_count,
                unchanged_count=job.unchanged_count,
                refused_count=job.refused_count,
                selected_count=max(edit.selected_count, sum(counts)),
            )
        if job.message and not edit.message and edit.state != "running":
            BulkEdit.objects.filter(pk=edit.pk).update(message=job.message)


def counts_from_bulk_edit(apps, schema_editor):
    BulkEditJob = apps.get_model("store", "BulkEditJob")
    for job in BulkEditJob.objects.select_related("bulk_edit").iterator(chunk_size=1000):
        edit = job.bulk_edit
        if edit is None:
            message = "Cancelled. Stopped before anything was written." if job.state == "cancelled" else ""
            fields = {
                "unchanged_count": job.checked.get("unchanged", 0),
                "refused_count": job.checked.get("refused", 0),
                "message": message,
            }
        else:
            fields = {
                "changed_count": edit.changed_count,
                "unchanged_count": edit.unchanged_count,
                "refused_count": edit.refused_count,
                "message": edit.message if edit.state != "running" else "",
            }
        BulkEditJob.objects.filter(pk=job.pk).update(**fields)


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0017_product_track_inventory"),
    ]

    operations = [
        migrations.AddField(
            model_name="bulkeditjob",
            name="checked",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(counts_to_bulk_edit, counts_from_bulk_edit, elidable=False),
        migrations.RemoveField(model_name="bulkeditjob", name="changed_count"),
        migrations.RemoveField(model_name="bulkeditjob", name="message"),
        migrations.RemoveField(model_name="bulkeditjob", name="refused_count"),
        migrations.RemoveField(model_name="bulkeditjob", name="unchanged_count"),
    ]
