"""Exports in the admin: the export mixin of the area ModelAdmins, and the export jobs' pages.

- ``ExportMixin``: CSV / XLSX / JSON of the changelist as filtered, and export actions on
  selected rows. Needs view permission (``has_export_permission``). Above
  EXPORT_INLINE_MAX_ROWS rows the export runs as a job (``store.exports.jobs``).
- ``ExportJobAdmin``: each export job's page (progress, Cancel, Retry, Download), private to
  the user who asked.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR, IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst

from store.admin.jobs import NOT_QUEUED_MESSAGE, JobAdminMixin, JobRow, filters_link
from store.audit import audit_event
from store.exports.formats import FORMAT_CSV, FORMAT_JSON, FORMAT_SHOPIFY, FORMAT_XLSX, FORMATS, render
from store.exports.jobs import export_job_create, export_job_retry, export_name_suffix, export_needs_job
from store.exports.resources import ChunkedExportResource
from store.jobs.models import JobState
from store.jobs.services import job_not_queued, jobs_to_announce
from store.models import ExportJob

if TYPE_CHECKING:
    # The mixins are mixed into ModelAdmins: type-check them as one.
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class ExportMixin(_AdminBase):
    """Export the changelist (as filtered) or the selected rows; needs view permission."""

    export_resource_class: type[ChunkedExportResource] | None = None
    #: the export actions, each offered when the resource offers its format
    export_actions = {
        FORMAT_CSV: "export_selected_csv",
        FORMAT_XLSX: "export_selected_xlsx",
        FORMAT_JSON: "export_selected_json",
        FORMAT_SHOPIFY: "export_selected_shopify",
    }

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_actions(self, request: HttpRequest):
        # Added here rather than through ``actions`` so the area admins keep their own list.
        actions = super().get_actions(request)
        if self.actions is not None and IS_POPUP_VAR not in request.GET and self.has_export_permission(request):
            offered = self.export_resource_class.export_formats if self.export_resource_class else ()
            for file_format, name in self.export_actions.items():
                if file_format not in offered:
                    continue
                found = self.get_action(name)
                if found is not None:
                    func, action, description = found
                    actions[action] = (func, action, description)
        return actions

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name="{}_{}_export".format(*info)),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = extra_context or {}
        announce_export_jobs(request)
        if self.has_export_permission(request):
            info = self.opts.app_label, self.opts.model_name
            filters = request.GET.urlencode()
            base = reverse("admin:{}_{}_export".format(*info), current_app=self.admin_site.name)
            offered = self.export_resource_class.export_formats if self.export_resource_class else ()
            extra_context["export_links"] = [
                (label, f"{base}?{_export_query(key, bom, filters)}")
                for key, bom, label in EXPORT_LINKS
                if key in offered
            ]
        return super().changelist_view(request, extra_context=extra_context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_export_permission(request):
            raise PermissionDenied
        file_format = request.GET.get("format", FORMAT_CSV)
        if self.export_resource_class is None or file_format not in self.export_resource_class.export_formats:
            file_format = FORMAT_CSV
        # The changelist's own filtering (search, filters, ordering) on its own query string.
        changelist_request = copy.copy(request)
        changelist_request.GET = QueryDict(request.GET.get("filters", ""))
        try:
            changelist = self.get_changelist_instance(changelist_request)
        except IncorrectLookupParameters:
            # The changelist answers junk filters with ?e=1; so does its export.
            info = self.opts.app_label, self.opts.model_name
            return HttpResponseRedirect(
                reverse("admin:{}_{}_changelist".format(*info), current_app=self.admin_site.name)
                + "?"
                + ERROR_FLAG
                + "=1"
            )
        return self._export_response(
            request,
            changelist.queryset,
            file_format=file_format,
            excel_bom=request.GET.get("bom") == "1",
            scope="changelist",
            filters=changelist_request.GET.urlencode(),
        )

    def _export_response(
        self,
        request: HttpRequest,
        queryset,
        *,
        file_format: str,
        excel_bom: bool = False,
        scope: str,
        filters: str | None = None,
    ) -> HttpResponse:
        if self.export_resource_class is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs an export_resource_class.")
        resource = self.export_resource_class.for_format(file_format)
        # Large exports of the changelist as filtered (or of all its rows selected) run as jobs.
        if filters is not None and export_needs_job(queryset=queryset, resource=resource):
            job = export_job_create(
                user=request.user,
                model_label=self.opts.label_lower,
                file_format=file_format,
                filters=filters,
                excel_bom=excel_bom,
                scope=scope,
            )
            url = reverse("admin:store_exportjob_change", args=[job.pk], current_app=self.admin_site.name)
            if job_not_queued(job):
                self.message_user(request, NOT_QUEUED_MESSAGE.format(job=f"Export #{job.pk}"), messages.ERROR)
                return HttpResponseRedirect(url)
            self.message_user(
                request,
                format_html(
                    'More than {} rows: the export runs in the background as <a href="{}">export #{}</a>. '
                    "Its page shows the progress and the download link; you will also get an email.",
                    f"{settings.EXPORT_INLINE_MAX_ROWS:,}",
                    url,
                    job.pk,
                ),
                messages.INFO,
            )
            return HttpResponseRedirect(url)
        dataset = resource.export(queryset=queryset, force_native_type=file_format == "xlsx")
        content = render(dataset, file_format=file_format, excel_bom=excel_bom)
        spec = FORMATS[file_format]
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        name = f"{self.opts.model_name}s{export_name_suffix(file_format)}-{stamp}.{spec.extension}"
        response = HttpResponse(content, content_type=spec.content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        audit_event(
            "export",
            user=request.user,
            model=self.opts.label,
            rows=dataset.height,
            file_format=file_format,
            scope=scope,
        )
        return response

    def _export_selected(self, request: HttpRequest, queryset, file_format: str) -> HttpResponse:
        # "Select all N" hands over the whole filtered changelist: that one may become a job.
        across = request.POST.get("select_across") == "1"
        return self._export_response(
            request,
            queryset,
            file_format=file_format,
            scope="selected",
            filters=_changelist_filters(request.GET) if across else None,
        )

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_selected_csv(self, request, queryset):
        return self._export_selected(request, queryset, "csv")

    @admin.action(description="Export selected as XLSX", permissions=["view"])
    def export_selected_xlsx(self, request, queryset):
        return self._export_selected(request, queryset, "xlsx")

    @admin.action(description="Export selected as JSON", permissions=["view"])
    def export_selected_json(self, request, queryset):
        return self._export_selected(request, queryset, "json")

    @admin.action(description="Export selected as Shopify CSV", permissions=["view"])
    def export_selected_shopify(self, request, queryset):
        return self._export_selected(request, queryset, FORMAT_SHOPIFY)


#: the export links of a changelist (format, UTF-8 BOM, label), each shown when its resource offers the format
EXPORT_LINKS = (
    (FORMAT_CSV, False, "Export CSV"),
    (FORMAT_CSV, True, "CSV for Excel"),
    (FORMAT_XLSX, False, "Export XLSX"),
    (FORMAT_JSON, False, "Export JSON"),
    (FORMAT_SHOPIFY, False, "Shopify CSV"),
)


def _changelist_filters(query: QueryDict) -> str:
    query = query.copy()
    query.pop(ERROR_FLAG, None)
    return query.urlencode()


def _export_query(file_format: str, excel_bom: bool, filters: str) -> str:
    query = QueryDict(mutable=True)
    query["format"] = file_format
    if excel_bom:
        query["bom"] = "1"
    if filters:
        query["filters"] = filters
    return query.urlencode()


@admin.register(ExportJob)
class ExportJobAdmin(JobAdminMixin[ExportJob]):
    list_display = (
        "__str__",
        "state_display",
        "progress_display",
        "format_display",
        "requested_by",
        "created_at",
        "expires_at",
    )
    list_filter = ("state",)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<int:job_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="{}_{}_download".format(*info),
            ),
            *super().get_urls(),
        ]

    def job_context(self, request: HttpRequest, job: ExportJob) -> dict[str, Any]:
        rows = [
            JobRow("Export of", capfirst(job.model_name_plural)),
            JobRow("Format", FORMATS[job.file_format].label + (" for Excel" if job.excel_bom else "")),
            JobRow("Filters", filters_link(changelist=self._changelist_url(job), filters=job.filters)),
        ]
        download = None
        if job.state == JobState.DONE and job.file:
            download = reverse("admin:store_exportjob_download", args=[job.pk], current_app=self.admin_site.name)
            rows.append(JobRow("File size", f"{job.file_size or 0:,} bytes"))
            rows.append(JobRow("Available until", timezone.localtime(job.expires_at).strftime("%Y-%m-%d %H:%M")))
        elif job.state == JobState.DONE:
            rows.append(JobRow("File", "expired and deleted"))
        return {"job_rows": rows, "download_url": download}

    def retry_job(self, job: ExportJob) -> bool:
        return export_job_retry(job=job)

    def _changelist_url(self, job: ExportJob) -> str:
        app_label, _, model_name = job.model_label.partition(".")
        return reverse(f"admin:{app_label}_{model_name}_changelist", current_app=self.admin_site.name)

    @admin.display(description="format", ordering="file_format")
    def format_display(self, job: ExportJob) -> str:
        return job.format_name

    def download_view(self, request: HttpRequest, job_id: int) -> FileResponse:
        job = self.get_job(request, job_id)
        if job.state != JobState.DONE or not job.file or not job.file.storage.exists(job.file.name):
            raise Http404("This export has no file (not finished, or expired).")
        audit_event("export.download", user=request.user, job_id=job.pk, model=job.model_label)
        spec = FORMATS[job.file_format]
        return FileResponse(
            job.file.storage.open(job.file.name, "rb"),
            as_attachment=True,
            filename=job.file.name.rsplit("/", 1)[-1],
            content_type=spec.content_type,
        )


def announce_export_jobs(request: HttpRequest) -> None:
    """Tell the user, in the admin's messages, which of their export jobs ended since last time."""
    for job in jobs_to_announce(model=ExportJob, user=request.user):
        if job.state == JobState.DONE and job.file:
            url = reverse("admin:store_exportjob_download", args=[job.pk])
            messages.success(
                request,
                format_html(
                    'Export #{} is ready: {} rows. <a href="{}">Download</a>', job.pk, f"{job.rows_done:,}", url
                ),
            )
        elif job.state == JobState.FAILED:
            url = reverse("admin:store_exportjob_change", args=[job.pk])
            messages.error(
                request,
                format_html('Export #{} failed: {}. <a href="{}">Details and Retry</a>', job.pk, job.error, url),
            )
