"""The import history: every import (admin and CLI), read-only, with failed rows and Revert."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html

from store.admin.revert import ImportRevertMixin
from store.audit import audit_event
from store.images.fetch import import_image_report
from store.importing.service import (
    import_jobs_visible_to,
    product_import_expire_previews,
)
from store.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(ImportRevertMixin, admin.ModelAdmin):
    """Read-only; each user sees their own imports (all of them with ``store.manage_others_imports``)."""

    list_display = (
        "id",
        "created_at",
        "user",
        "confirmed_by",
        "source",
        "file_name",
        "preset",
        "status",
        "rows_total",
        "created_count",
        "updated_count",
        "unchanged_count",
        "skipped_count",
        "error_count",
        "duration",
        "failed_rows_link",
    )
    list_filter = ("status", "source", "preset")
    search_fields = ("file_name", "user__username")
    list_select_related = ("user", "confirmed_by")
    date_hierarchy = "created_at"
    readonly_fields = ("failed_rows_link", "image_fetch_report")
    exclude = ("failed_rows",)

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
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:job_id>/failed-rows/",
                self.admin_site.admin_view(self.failed_rows_view),
                name="store_importjob_failed_rows",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="failed rows")
    def failed_rows_link(self, job: ImportJob):
        if not job.failed_rows:
            return "—"
        url = reverse("admin:store_importjob_failed_rows", args=[job.pk], current_app=self.admin_site.name)
        return format_html('<a href="{}">Download ({} rows)</a>', url, job.error_count)

    @admin.display(description="images")
    def image_fetch_report(self, job: ImportJob):
        """The image URLs this import listed: fetched, waiting, and the failing ones with the reason."""
        return render_to_string(
            "admin/store/importjob/image_fetch_report.html", {"report": import_image_report(job_id=job.pk)}
        )

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
