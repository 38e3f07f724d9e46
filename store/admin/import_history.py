"""The import history: every import (admin and CLI), read-only, with failed rows and Revert."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from store.admin.revert import ImportRevertMixin
from store.audit import audit_event
from store.images.fetch import image_fetches_retry, import_image_report
from store.importing.service import (
    import_jobs_recover,
    import_jobs_visible_to,
    import_mapping_describe,
    import_options_describe,
    import_preset_label,
    product_import_expire_previews,
)
from store.models import ImportJob


class ImportPresetFilter(admin.SimpleListFilter):
    """The imports of one file format, named as the upload form names it."""

    title = "format"
    parameter_name = "preset"

    def lookups(self, request, model_admin):
        presets = model_admin.get_queryset(request).order_by("preset").values_list("preset", flat=True).distinct()
        return [(preset, import_preset_label(preset)) for preset in presets if preset]

    def queryset(self, request, queryset):
        return queryset if self.value() is None else queryset.filter(preset=self.value())


@admin.register(ImportJob)
class ImportJobAdmin(ImportRevertMixin, admin.ModelAdmin):
    """Read-only; each user sees their own imports (all of them with ``store.manage_others_imports``)."""

    # Five narrow columns (Revert is the mixin's), so that a 1,366 px screen shows the status, the
    # counts and Revert beside the menu and the filters; the rest is on each job's page.
    list_display = ("id", "import_file", "status_label", "counts")
    list_filter = ("status", "source", ImportPresetFilter)
    search_fields = ("file_name", "user__username")
    list_select_related = ("user", "confirmed_by")
    date_hierarchy = "created_at"
    # The history's own order (ImportJob's job-engine fields come from BackgroundJob, declared first).
    fields = (
        "user",
        "confirmed_by",
        "finished_at",
        "source",
        "file_name",
        "preset_display",
        "status",
        "settings_display",
        "rows_total",
        "created_count",
        "updated_count",
        "unchanged_count",
        "skipped_count",
        "error_count",
        "duration",
        "message",
        "upload",
        "attempt",
        "started_at",
        "heartbeat_at",
        "rows_done",
        "mapping_display",
        "profile",
        "failed_rows_link",
        "revert_link",
    )
    readonly_fields = ("preset_display", "settings_display", "mapping_display", "failed_rows_link")
    # The images fetched for the import, with Retry for the failed ones, below the fields.
    change_form_template = "admin/store/importjob/change_form.html"

    class Media:
        css = {"all": ("store/admin/import_history.css",)}

    def get_queryset(self, request):
        return import_jobs_visible_to(user=request.user)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm("store.import_product")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        product_import_expire_previews()
        import_jobs_recover()  # imports a dead process left "writing" say what they wrote
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        import_jobs_recover()
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:job_id>/failed-rows/",
                self.admin_site.admin_view(self.failed_rows_view),
                name="store_importjob_failed_rows",
            ),
            path(
                "<int:job_id>/retry-images/",
                self.admin_site.admin_view(require_POST(self.retry_images_view)),
                name="store_importjob_retry_images",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="import", ordering="created_at")
    def import_file(self, job: ImportJob):
        """The file (cut short; whole in the tooltip), then when, where from, the format and who."""
        who = str(job.user) if job.user_id else "the command line" if job.source == ImportJob.SOURCE_CLI else "—"
        if job.confirmed_by_id and job.confirmed_by_id != job.user_id:
            who += f", confirmed by {job.confirmed_by}"
        meta = " · ".join(
            part
            for part in (
                date_format(timezone.localtime(job.created_at), "SHORT_DATETIME_FORMAT"),
                job.get_source_display(),
                import_preset_label(job.preset) if job.preset else "",
                who,
                f"{job.duration:,.1f} s" if job.duration else "",
            )
            if part
        )
        return format_html(
            '<span class="import-file" title="{}">{}</span><span class="import-meta">{}</span>',
            job.file_name,
            job.file_name,
            meta,
        )

    @admin.display(description="status", ordering="status")
    def status_label(self, job: ImportJob):
        return format_html(
            '<span class="import-status import-status-{}">{}</span>', job.status, job.get_status_display()
        )

    @admin.display(description="rows")
    def counts(self, job: ImportJob):
        """Rows, new, updated, unchanged, skipped and errors, one a line (only those not zero); the failed rows."""
        parts = [
            (job.rows_total, "rows"),
            (job.created_count, "new"),
            (job.updated_count, "updated"),
            (job.unchanged_count, "unchanged"),
            (job.skipped_count, "skipped"),
        ]
        lines = [
            format_html("{} {}", f"{count:,}", "row" if label == "rows" and count == 1 else label)
            for count, label in parts
            if count or label == "rows"
        ]
        if job.error_count:
            lines.append(format_html("{} {}", f"{job.error_count:,}", "error" if job.error_count == 1 else "errors"))
        if job.failed_rows:
            lines.append(self.failed_rows_link(job))
        return format_html_join("", '<span class="import-count">{}</span>', ((line,) for line in lines))

    @admin.display(description="format")
    def preset_display(self, job: ImportJob):
        return import_preset_label(job.preset) if job.preset else "—"

    @admin.display(description="settings")
    def settings_display(self, job: ImportJob):
        """The job's options (a JSON record the code reads back) in words, one a line."""
        return format_html_join("", "<div>{}</div>", ((line,) for line in import_options_describe(job=job)))

    @admin.display(description="column mapping")
    def mapping_display(self, job: ImportJob):
        """Which file column became which product column (a mapped supplier file), else a dash."""
        pairs = import_mapping_describe(job=job)
        if not pairs:
            return "—"
        return format_html_join("", "<div>{} → {}</div>", pairs)

    @admin.display(description="failed rows")
    def failed_rows_link(self, job: ImportJob):
        if not job.failed_rows:
            return "—"
        url = reverse("admin:store_importjob_failed_rows", args=[job.pk], current_app=self.admin_site.name)
        return format_html('<a href="{}">Download the failed rows</a>', url)

    def has_image_retry_permission(self, request: HttpRequest, job: ImportJob) -> bool:
        """Whoever may import may fetch again the images of an import they can see."""
        return request.user.has_perm("store.import_product") and self.has_view_permission(request, job)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            report = import_image_report(job_id=obj.pk)
            context["image_report"] = report
            context["image_retry_url"] = (
                reverse("admin:store_importjob_retry_images", args=[obj.pk], current_app=self.admin_site.name)
                if report["failed_count"] and self.has_image_retry_permission(request, obj)
                else ""
            )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def retry_images_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """POST: the failed image fetches of this import go back in the queue; says how many."""
        job = get_object_or_404(self.get_queryset(request), pk=job_id)  # another's import: 404
        if not self.has_image_retry_permission(request, job):
            raise PermissionDenied
        count = image_fetches_retry(import_job_id=job.pk)
        audit_event("import.images_retry", user=request.user, job_id=job.pk, images=count)
        if count:
            text = ngettext(
                "%(count)d image of import #%(job)d will be fetched again.",
                "%(count)d images of import #%(job)d will be fetched again.",
                count,
            ) % {"count": count, "job": job.pk}
            self.message_user(request, text, messages.SUCCESS)
        else:
            self.message_user(request, f"Import #{job.pk} has no failed images to fetch again.", messages.WARNING)
        change = reverse("admin:store_importjob_change", args=[job.pk], current_app=self.admin_site.name)
        return HttpResponseRedirect(f"{change}#images")

    def failed_rows_view(self, request: HttpRequest, job_id: int) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if not job.failed_rows:
            raise Http404("This import has no failed rows.")
        audit_event("import.failed_rows_download", user=request.user, job_id=job.pk)
        return FileResponse(
            job.failed_rows.open("rb"),
            as_attachment=True,
            filename=f"import-{job.pk}-failed-rows.csv",
            content_type="text/csv; charset=utf-8",
        )
