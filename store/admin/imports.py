"""The product import in the admin: upload -> (mapping) -> preview -> confirm.

``ProductImportMixin`` goes through ``store.importing.service`` (inline) and
``store.importing.jobs`` (files over IMPORT_INLINE_MAX_ROWS rows, run by a worker). Needs
``store.import_product``. The mapping step lives in ``store.admin.mapping``; the import
history in ``store.admin.import_history``.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import overload

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import ngettext

from store.admin.jobs import JOB_PAGE_TEMPLATE, NOT_QUEUED_MESSAGE, JobButton, JobPage, JobRow
from store.admin.mapping import ImportModeFields, ProductImportMappingMixin
from store.fileformat.cells import fold
from store.fileformat.columns import product_columns
from store.importing.jobs import (
    import_job_can_retry,
    import_job_cancel,
    import_job_confirm,
    import_job_retry,
    import_job_submit,
    import_jobs_mark_lost,
    import_needs_job,
)
from store.importing.mapping_jobs import import_job_can_remap, import_job_remap
from store.importing.parsing import ERROR_TOO_LARGE, check_encoding
from store.importing.plan import ImportPlan, Planned, ProductUpdate
from store.importing.presets import PRESET_AUTO, PRESET_CHOICES
from store.importing.service import (
    import_jobs_visible_to,
    product_import_cancel,
    product_import_confirm,
    product_import_expire_previews,
    product_import_load_preview,
    product_import_preview,
    release_memory,
)
from store.jobs.services import job_not_queued
from store.models import ImportJob, Product

CHANGES_PER_PAGE = 100
SKIPPED_SHOWN = 1000
CELL_SHOWN = 120
# multipart framing and the other form fields around the uploaded file
UPLOAD_OVERHEAD_BYTES = 64 * 1024


class ProductImportForm(ImportModeFields):
    field_order = ("file", "preset", "mode", "blank_cells", "skip_invalid", "encoding")

    file = forms.FileField(help_text="CSV (UTF-8 or Windows-1252, comma or semicolon) or XLSX.")
    preset = forms.ChoiceField(choices=PRESET_CHOICES, initial=PRESET_AUTO, label="Format")
    skip_invalid = forms.BooleanField(
        required=False,
        label="Import valid rows, skip invalid ones",
        help_text="By default nothing is written when any row has an error.",
    )
    encoding = forms.CharField(required=False, max_length=40, help_text="Leave blank to detect.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_FILE_BYTES
        if upload.size > limit:
            raise ValidationError(ERROR_TOO_LARGE.format(size=upload.size, limit=limit), code="too_large")
        return upload

    def clean_encoding(self):
        encoding = self.cleaned_data["encoding"].strip()
        return check_encoding(encoding) if encoding else ""


def _save_upload(upload) -> Path:
    """A local copy for this request only (the inline flow parses it here and deletes it)."""
    handle, name = tempfile.mkstemp(prefix="import-", suffix=Path(upload.name).suffix[:10])
    with open(handle, "wb") as target:
        for chunk in upload.chunks():
            target.write(chunk)
    return Path(name)


#: a changed row of the preview: (row, SKU, is new, [(column, old, new)], the SKU of its product for a variant)
ChangeRow = tuple[int, str, bool, list[tuple[str, str, str]], str]


class _ChangeRows:
    """The preview's changed rows in file order, built one page at a time.

    Creates and updates are each already in row order; merging them lazily keeps
    a 100k-row preview from building 100k display rows per page view.
    """

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan

    def __len__(self) -> int:
        return len(self.plan.creates) + len(self.plan.updates)

    def count(self) -> int:
        return len(self)

    @overload
    def __getitem__(self, index: int) -> ChangeRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[ChangeRow]: ...

    def __getitem__(self, index: int | slice) -> ChangeRow | list[ChangeRow]:
        if isinstance(index, int):
            return self[index : index + 1 or None][0]
        start, stop, _step = index.indices(len(self))
        return [self._display(change) for change in islice(self._merged(), start, stop)]

    def __iter__(self) -> Iterator[ChangeRow]:
        return (self._display(change) for change in self._merged())

    def _merged(self) -> Iterator[Planned]:
        creates: list[Planned] = list(self.plan.creates)
        merged = heapq.merge(creates, self.plan.updates, key=lambda change: change.row)
        if not self.plan.variants:
            return merged
        return iter(_grouped(list(merged), self.plan.position("product")))

    def _display(self, change: Planned) -> ChangeRow:
        """(row, SKU, is new, [(column, old, new)]), the columns in the table's order."""
        columns = [column for column in product_columns() if column.name in self.plan.fields]
        if isinstance(change, ProductUpdate):
            fields = [
                (column.name, _short(change.changes[column.name][0]), _short(change.changes[column.name][1]))
                for column in columns
                if column.name in change.changes
            ]
            return (change.row, change.sku, False, fields, self._product_of(change))
        values = self.plan.values_of(change)
        fields = []
        for column in columns:
            if column.preview and (text := column.render(values[column.name])):
                fields.append((column.name, "", _short(text)))
        return (change.row, change.sku, True, fields, self._product_of(change))

    def _product_of(self, change: Planned) -> str:
        if change.structure != Product.Structure.VARIANT:
            return ""
        return str(self.plan.value(change, "product"))


def _grouped(changes: list[Planned], product_at: int) -> list[Planned]:
    """Each product's line, then its variants' lines (file order), at the place of the group's first row."""
    first: dict[str, int] = {}
    keys = []
    for change in changes:
        variant = change.structure == Product.Structure.VARIANT
        key = fold(change.values[product_at] if variant else change.sku)
        keys.append((key, variant))
        first.setdefault(key, change.row)
    order = sorted(range(len(changes)), key=lambda i: (first[keys[i][0]], keys[i][0], keys[i][1], changes[i].row))
    return [changes[i] for i in order]


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= CELL_SHOWN else text[:CELL_SHOWN] + "…"


class ProductImportMixin(ProductImportMappingMixin):
    """Upload -> preview -> confirm. The file is parsed once; confirm writes the saved plan."""

    import_permission = "store.import_product"

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.import_permission)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="{}_{}_import".format(*info)),
            path("import/<int:job_id>/", wrap(self.import_preview_view), name="{}_{}_import_preview".format(*info)),
            path(
                "import/<int:job_id>/mapping/",
                wrap(self.import_mapping_view),
                name="{}_{}_import_mapping".format(*info),
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = extra_context or {}
        if self.has_import_permission(request):
            extra_context["import_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_import", current_app=self.admin_site.name
            )
        return super().changelist_view(request, extra_context=extra_context)

    def _context(self, request: HttpRequest, title: str, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "app_label": self.opts.app_label,
            "has_view_permission": self.has_view_permission(request),
            **extra,
        }

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        limit = settings.IMPORT_MAX_FILE_BYTES
        refused = ""
        if request.method == "POST" and length > limit + UPLOAD_OVERHEAD_BYTES:
            # Refuse on the declared length: the file is neither saved nor parsed.
            refused = ERROR_TOO_LARGE.format(size=length, limit=limit)
            form = ProductImportForm()
        else:
            form = ProductImportForm(request.POST or None, request.FILES or None)
        if form.is_bound and form.is_valid():
            upload = form.cleaned_data["file"]
            mode = form.import_mode()
            saved = _save_upload(upload)
            # A header no preset and no saved profile knows: keep the file, map its columns first.
            try:
                waiting = self.import_mapping_start(
                    request,
                    path=saved,
                    file_name=upload.name,
                    cleaned=form.cleaned_data,
                    mode=mode,
                )
            except ValidationError as error:  # a header too wide to map column by column
                saved.unlink(missing_ok=True)
                self.message_user(request, error.messages[0], messages.ERROR)
                return HttpResponseRedirect(self._import_url())
            if waiting is not None:
                saved.unlink(missing_ok=True)
                return HttpResponseRedirect(self.import_mapping_url(waiting))
            if import_needs_job(path=saved):
                # Too large for one request: a worker previews it; the job page follows it.
                try:
                    job = import_job_submit(
                        path=saved,
                        file_name=upload.name,
                        user=request.user,
                        preset=form.cleaned_data["preset"],
                        encoding=form.cleaned_data["encoding"] or None,
                        skip_invalid=form.cleaned_data["skip_invalid"],
                        mode=mode,
                    )
                finally:
                    saved.unlink(missing_ok=True)
                self._tell_if_not_queued(request, job)
                return HttpResponseRedirect(self._job_url(job))
            try:
                outcome = product_import_preview(
                    path=saved,
                    file_name=upload.name,
                    user=request.user,
                    preset=form.cleaned_data["preset"],
                    encoding=form.cleaned_data["encoding"] or None,
                    skip_invalid=form.cleaned_data["skip_invalid"],
                    mode=mode,
                )
            finally:
                saved.unlink(missing_ok=True)
            job, planned = outcome.job, outcome.plan is not None
            del outcome  # the plan is on disk now; a 500k-row plan is a few hundred MB here
            release_memory()
            if not planned:
                form.add_error("file", job.message)
            else:
                return HttpResponseRedirect(
                    reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_import_preview",
                        args=[job.pk],
                        current_app=self.admin_site.name,
                    )
                )
        product_import_expire_previews()
        context = self._context(
            request,
            "Import products",
            form=form,
            max_bytes=limit,
            refused=refused,
            recent_jobs=import_jobs_visible_to(user=request.user).select_related("user")[:5],
        )
        return TemplateResponse(request, "admin/store/product/import.html", context)

    def import_preview_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        # Someone else's job answers 404, like a job that does not exist.
        job = get_object_or_404(import_jobs_visible_to(user=request.user), pk=job_id)
        if job.status == ImportJob.STATUS_MAPPING:
            return HttpResponseRedirect(self.import_mapping_url(job))
        if request.method == "POST":
            return self._import_decide(request, job)
        if job.is_background and job.status != ImportJob.STATUS_PREVIEW:
            return self._import_job_page(request, job)
        return self._import_preview_page(request, job)

    def _import_preview_page(self, request: HttpRequest, job: ImportJob, *, refused: str = "") -> HttpResponse:
        """The preview of a job awaiting confirmation; ``refused``: why its Confirm was just refused
        (rows in error while "skip the invalid rows" was not ticked), said beside the choice."""
        try:
            plan = product_import_load_preview(job=job)
        except ValidationError as error:
            # Expired, cancelled or already confirmed: say so, and show where it stands.
            self.message_user(request, error.messages[0], messages.WARNING)
            return HttpResponseRedirect(self._import_url())
        changes = _ChangeRows(plan)
        page = Paginator(changes, CHANGES_PER_PAGE).get_page(request.GET.get("page"))
        context = self._context(
            request,
            f"Import preview: {job.file_name}",
            job=job,
            plan=plan,
            page=page,
            errors=plan.errors,
            error_rows=plan.error_rows,
            skipped=plan.skipped[:SKIPPED_SHOWN],
            skipped_hidden=max(0, len(plan.skipped) - SKIPPED_SHOWN),
            writable=len(plan.creates) + len(plan.updates),
            skip_invalid=bool(job.options.get("skip_invalid")),
            refused=refused,
            can_remap=import_job_can_remap(job),
            failed_rows_url=reverse(
                "admin:store_importjob_failed_rows", args=[job.pk], current_app=self.admin_site.name
            )
            if job.failed_rows
            else "",
        )
        response = TemplateResponse(request, "admin/store/product/import_preview.html", context)
        # Render now and let go of the plan, so the worker does not keep it after the request.
        response.render()
        response.context_data = None
        del plan, changes, page, context
        release_memory()
        return response

    def _job_url(self, job: ImportJob) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_import_preview",
            args=[job.pk],
            current_app=self.admin_site.name,
        )

    def _import_job_page(self, request: HttpRequest, job: ImportJob) -> HttpResponse:
        """The job page of an import job: state, rows, rate, ETA, errors, who; refreshes while it runs."""
        import_jobs_mark_lost()
        job.refresh_from_db()
        site = self.admin_site.name
        page = self._job_url(job)
        failed_rows = (
            format_html(
                ' (<a href="{}">download the failed rows</a>)',
                reverse("admin:store_importjob_failed_rows", args=[job.pk], current_app=site),
            )
            if job.failed_rows
            else ""
        )
        progress_rows = [JobRow("Rows with errors", format_html("{}{}", job.error_count, failed_rows), id="job-errors")]
        if not job.is_active:
            result = (
                f"{job.created_count} new, {job.updated_count} updated, {job.unchanged_count} unchanged, "
                f"{job.skipped_count} skipped"
            )
            progress_rows.append(JobRow("Result", result, id="job-result"))
        started_by = str(job.user or "-")
        if job.confirmed_by:
            started_by += f"; confirmed by {job.confirmed_by}"
        buttons = []
        if job.is_active:
            buttons.append(JobButton("Cancel import", page, name="_cancel"))
        if import_job_can_retry(job):
            buttons.append(JobButton("Retry", page, name="_retry", css="default"))
        title = f"Import #{job.pk}: {job.file_name}"
        context = {
            **self._context(request, title),
            **JobPage(
                job=job,
                title=title,
                state_label=job.state_label,
                started_by=started_by,
                breadcrumbs=[
                    (
                        capfirst(str(self.opts.verbose_name_plural)),
                        reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist", current_app=site),
                    ),
                    ("Import", self._import_url()),
                ],
                current=f"Import #{job.pk}",
                created_label="Uploaded at",
                progress_rows=progress_rows,
                job_rows=[JobRow("Message", job.message, id="job-message")] if job.message else [],
                buttons=buttons,
                links=[("Import history", reverse("admin:store_importjob_change", args=[job.pk], current_app=site))],
                show_eta=job.is_active,
                page_class="import-job",
            ).context(),
        }
        return TemplateResponse(request, JOB_PAGE_TEMPLATE, context)

    def _tell_if_not_queued(self, request: HttpRequest, job: ImportJob) -> bool:
        """The queue could not be reached: the job failed at once; say so (its page offers Retry)."""
        if not job_not_queued(job):
            return False
        self.message_user(request, NOT_QUEUED_MESSAGE.format(job=f"Import #{job.pk}"), messages.ERROR)
        return True

    def _import_url(self) -> str:
        return reverse("admin:store_product_import", current_app=self.admin_site.name)

    def _import_decide(self, request: HttpRequest, job: ImportJob) -> HttpResponse:
        changelist = reverse("admin:store_product_changelist", current_app=self.admin_site.name)
        try:
            if "_cancel" in request.POST:
                if job.is_background:
                    import_job_cancel(job=job, user=request.user)
                    self.message_user(request, f"Import #{job.pk} cancelled; nothing was written.", messages.INFO)
                    return HttpResponseRedirect(self._job_url(job))
                product_import_cancel(job=job, user=request.user)
                self.message_user(request, "Import cancelled; nothing was written.", messages.INFO)
                return HttpResponseRedirect(changelist)
            if "_remap" in request.POST:
                import_job_remap(job=job, user=request.user)
                return HttpResponseRedirect(self.import_mapping_url(job))
            if "_retry" in request.POST:
                import_job_retry(job=job, user=request.user)
                if not self._tell_if_not_queued(request, job):
                    self.message_user(request, f"Import #{job.pk} queued again.", messages.INFO)
                return HttpResponseRedirect(self._job_url(job))
            if job.is_background:
                import_job_confirm(job=job, user=request.user, skip_invalid=request.POST.get("skip_invalid") == "1")
                if not self._tell_if_not_queued(request, job):
                    self.message_user(request, f"Import #{job.pk} confirmed; a worker is writing it.", messages.INFO)
                return HttpResponseRedirect(self._job_url(job))
            outcome = product_import_confirm(
                job=job, user=request.user, skip_invalid=request.POST.get("skip_invalid") == "1"
            )
        except ValidationError as error:
            if error.code == "rows_invalid":
                # All or nothing with rows in error: nothing happened, the preview stays usable.
                return self._import_preview_page(request, job, refused=error.messages[0])
            # Confirmed or cancelled by another request meanwhile, or expired: nothing was written.
            self.message_user(request, error.messages[0], messages.ERROR)
            return HttpResponseRedirect(self._job_url(job) if job.is_background else self._import_url())
        outcome.plan = None
        release_memory()
        job = outcome.job
        history = reverse("admin:store_importjob_change", args=[job.pk], current_app=self.admin_site.name)
        if outcome.written:
            text = f"Import #{job.pk}: {job.message}"
            if job.error_count:
                text += " " + ngettext(
                    "%(count)d invalid row was skipped.", "%(count)d invalid rows were skipped.", job.error_count
                ) % {"count": job.error_count}
            self.message_user(request, text, messages.WARNING if job.error_count else messages.SUCCESS)
            return HttpResponseRedirect(changelist)
        self.message_user(
            request,
            format_html('Import #{} failed: {} <a href="{}">Details</a>', job.pk, job.message, history),
            messages.ERROR,
        )
        return HttpResponseRedirect(history)
