"""Bulk edit actions on the product list, each with an intermediate page.

The registered ``store.bulk`` actions become admin actions ("bulk_<name>") for users
with change permission on products. The page posts back to the changelist (with its
filters, so "Select all N matching" keeps its meaning) in three steps: the action's
parameters, a preview (counts, old → new for the first 20, why any are refused), confirm.
Above BULK_INLINE_MAX products, the preview covers the first 1,000 (PREVIEW_SAMPLE) and Confirm
queues a ``BulkEditJob`` (``store.bulk_jobs``) whose page shows progress, Cancel and the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import ngettext

from store.admin.jobs import NOT_QUEUED_MESSAGE, JobAdminMixin, JobRow, filters_link
from store.bulk.actions import BulkAction, BulkEditConflict, bulk_actions
from store.bulk.apply import (
    BATCH,
    BulkEditRefused,
    BulkReport,
    Seen,
    bulk_edit_apply,
    bulk_edit_preview,
    bulk_edit_preview_sample,
    bulk_edits_recover,
    bulk_inline_max,
    bulk_selection_count,
    edit_changed_since_note,
)
from store.bulk.jobs import (
    STEP_CHECKING,
    STEP_WRITING,
    bulk_edit_job_create,
    bulk_edit_job_retry,
    bulk_edit_jobs_mark_lost,
)
from store.filters import BulkActionFilter
from store.jobs.models import JobState
from store.jobs.services import job_not_queued
from store.models import BulkEdit, BulkEditJob, Product

# Confirm carries what the preview showed: its moment and the versions of the products listed.
PREVIEW_AT_FIELD = "_preview_at"
PREVIEW_VERSION_FIELD = "_preview_version"
STEP_FIELD = "_bulk_step"
STEP_EDIT, STEP_PREVIEW, STEP_APPLY = "edit", "preview", "apply"
ACTION_PREFIX = "bulk_"


def _action_function(action: BulkAction) -> Callable[..., Any]:
    @admin.action(permissions=[action.permission], description=action.label)
    def run(modeladmin: BulkEditMixin, request: HttpRequest, queryset: QuerySet[Product]) -> HttpResponse | None:
        return modeladmin.bulk_edit_view(request, queryset, action)

    run.__name__ = ACTION_PREFIX + action.name
    return run


def _seen(request: HttpRequest) -> Seen | None:
    """What the confirmed preview showed, from the form (None without a preview moment)."""
    try:
        moment = datetime.fromisoformat(request.POST.get(PREVIEW_AT_FIELD, ""))
    except ValueError:
        return None
    if not timezone.is_aware(moment):
        return None
    versions = {}
    for value in request.POST.getlist(PREVIEW_VERSION_FIELD):
        pk, _, version = value.partition(":")
        if pk.isdigit() and version.isdigit() and len(pk) < 19 and len(version) < 19:
            versions[int(pk)] = int(version)
    return Seen(moment=moment, versions=versions)


def _preview_context(report: BulkReport, moment: datetime) -> dict[str, Any]:
    shown = [*report.sample, *report.refusals]
    return {
        "preview_at": moment.isoformat(),
        "preview_versions": [f"{o.product.pk}:{o.product.version}" for o in shown],
    }


def _done_message(edit: BulkEdit) -> str:
    message = ngettext(
        "Bulk edit #%(id)d (%(what)s): %(count)d product was changed.",
        "Bulk edit #%(id)d (%(what)s): %(count)d products were changed.",
        edit.changed_count,
    ) % {"id": edit.pk, "what": edit.description, "count": edit.changed_count}
    if edit.unchanged_count:
        message += f" {edit.unchanged_count} already in that state."
    if edit.refused_count:
        message += f" {edit.refused_count} refused and left unchanged."
    return message + edit_changed_since_note(edit)


if TYPE_CHECKING:
    _ProductAdmin = admin.ModelAdmin[Product]
else:
    _ProductAdmin = object


class BulkEditMixin(_ProductAdmin):
    """Adds the registered bulk edit actions to a product ModelAdmin."""

    bulk_edit_template = "admin/store/product/bulk_edit.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.actions is None or IS_POPUP_VAR in request.GET:
            return actions
        for action in bulk_actions():
            if self.has_bulk_edit_permission(request, action=action):
                name = ACTION_PREFIX + action.name
                actions[name] = (_action_function(action), name, action.label)
        return actions

    def has_bulk_edit_permission(self, request: HttpRequest, action: BulkAction) -> bool:
        """May the user run ``action`` on products (its admin permission and its extra permissions)?"""
        return getattr(self, f"has_{action.permission}_permission")(request) and request.user.has_perms(
            action.required_perms
        )

    def bulk_edit_view(self, request, queryset, action: BulkAction):
        if not self.has_bulk_edit_permission(request, action=action):
            raise PermissionDenied
        limit = bulk_inline_max()
        selected = bulk_selection_count(products=queryset, limit=limit)
        as_job = selected > limit
        if as_job:
            selected = queryset.order_by().count()
        step = request.POST.get(STEP_FIELD, "")
        form = action.form_class(request.POST if step else None, admin_site=self.admin_site, prefix="bulk")
        context = {
            "action": action,
            "form": form,
            "selected": selected,
            "as_job": as_job,
            "limit": limit,
            "batch": f"{BATCH:,}",
            "report": None,
            "skip_refused": request.POST.get("skip_refused") == "1",
        }
        if step in (STEP_PREVIEW, STEP_APPLY) and form.is_valid():
            parameters = action.parameters(form.cleaned_data)
            context["description"] = action.describe(parameters)
            if as_job and step == STEP_APPLY:
                # "Select all": the list's query string only; ticked rows: their ids (already
                # narrowed by Django to the ticked rows of this list, as integers).
                across = request.POST.get("select_across") == "1"
                job = bulk_edit_job_create(
                    user=request.user,
                    action=action,
                    parameters=parameters,
                    filters=request.GET.urlencode(),
                    selected_ids=None if across else list(queryset.order_by("pk").values_list("pk", flat=True)),
                    skip_refused=context["skip_refused"],
                    seen=_seen(request),
                )
                if job_not_queued(job):
                    self.message_user(request, NOT_QUEUED_MESSAGE.format(job=job), messages.ERROR)
                else:
                    self.message_user(request, f"{job} is queued ({selected:,} products).", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:store_bulkeditjob_change", args=[job.pk], current_app=self.admin_site.name)
                )
            # The moment the preview is made; Confirm carries it back (and the versions it lists).
            moment = timezone.now()
            if as_job:
                context["report"] = bulk_edit_preview_sample(action=action, products=queryset, parameters=parameters)
            elif step == STEP_APPLY:
                try:
                    edit = bulk_edit_apply(
                        action=action,
                        products=queryset,
                        parameters=parameters,
                        user=request.user,
                        skip_refused=context["skip_refused"],
                        seen=_seen(request),
                    )
                except BulkEditRefused as refused:
                    context["error"] = refused.messages[0]
                    context["report"] = refused.report
                except BulkEditConflict as conflict:
                    context["error"] = conflict.messages[0] + " Check the preview again."
                    context["report"] = bulk_edit_preview(action=action, products=queryset, parameters=parameters)
                else:
                    level = messages.WARNING if edit_changed_since_note(edit) else messages.SUCCESS
                    self.message_user(request, _done_message(edit), level)
                    return None  # back to the changelist, with its filters
            else:
                context["report"] = bulk_edit_preview(action=action, products=queryset, parameters=parameters)
            context.update(_preview_context(context["report"], moment))
        return self._bulk_response(request, context)

    def _bulk_response(self, request, context):
        opts = self.model._meta
        context.update(
            {
                **self.admin_site.each_context(request),
                "title": f"{context['action'].label.rstrip('…')}",
                "opts": opts,
                "app_label": opts.app_label,
                "media": self.media + context["form"].media,
                "action_name": ACTION_PREFIX + context["action"].name,
                "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "step_field": STEP_FIELD,
            }
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.bulk_edit_template, context)


# --- Bulk edit history ----------------------------------------------------------------------
@admin.register(BulkEdit)
class BulkEditAdmin(admin.ModelAdmin):
    """Read-only: who ran which bulk edit, when, with what parameters and counts."""

    list_display = (
        "id",
        "created_at",
        "user",
        "description",
        "state",
        "selected_count",
        "changed_count",
        "unchanged_count",
        "refused_count",
    )
    list_filter = ("state", BulkActionFilter)
    list_select_related = ("user",)
    search_fields = ("description", "user__username")
    date_hierarchy = "created_at"
    # The description says what the edit did in words; the action's internal name and its
    # parameters (JSON) are for the code.
    exclude = ("action", "parameters")

    def changelist_view(self, request, extra_context=None):
        bulk_edits_recover()  # edits a dead web process left "running" say what they wrote
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        bulk_edits_recover()
        return super().change_view(request, object_id, form_url, extra_context)

    def has_view_permission(self, request, obj=None):
        # Whoever may bulk edit products may see the bulk edits.
        return super().has_view_permission(request, obj) or request.user.has_perm("store.change_product")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Bulk edit jobs (above BULK_INLINE_MAX) --------------------------------------------------
@admin.register(BulkEditJob)
class BulkEditJobAdmin(JobAdminMixin[BulkEditJob]):
    """Each job's page: progress (checking, then writing), Cancel, and what was written."""

    list_display = ("__str__", "state_display", "progress_display", "changed_count", "requested_by", "created_at")
    list_select_related = ("requested_by", "bulk_edit")

    @admin.display(description="changed", ordering="bulk_edit__changed_count")
    def changed_count(self, job: BulkEditJob) -> int:
        return job.changed_count

    def mark_lost_jobs(self) -> None:
        bulk_edit_jobs_mark_lost()

    def job_context(self, request: HttpRequest, job: BulkEditJob) -> dict[str, Any]:
        selection = (
            "all products matching the list's filters"
            if job.selected_ids is None
            else f"{len(job.selected_ids):,} ticked products"
        )
        rows = [
            JobRow("Bulk edit", job.description),
            JobRow("Selection", selection),
            JobRow(
                "Filters",
                filters_link(
                    changelist=reverse("admin:store_product_changelist", current_app=self.admin_site.name),
                    filters=job.filters,
                ),
            ),
            JobRow("Changed", f"{job.changed_count:,}"),
            JobRow("Already in that state", f"{job.unchanged_count:,}"),
            JobRow("Refused", f"{job.refused_count:,}" + (" (left as they were)" if job.skip_refused else "")),
        ]
        if job.state == JobState.RUNNING:
            step = STEP_WRITING.format(batch=BATCH) if job.bulk_edit_id else STEP_CHECKING
            rows.insert(0, JobRow("Step", step))
        elif job.message and job.message != job.error:  # the error row says it already
            rows.insert(0, JobRow("Outcome", job.message))
        if job.bulk_edit_id:
            url = reverse("admin:store_bulkedit_change", args=[job.bulk_edit_id], current_app=self.admin_site.name)
            rows.append(
                JobRow(
                    "History",
                    format_html(
                        '<a href="{}">Bulk edit #{}</a> (the reason of every history row it wrote)',
                        url,
                        job.bulk_edit_id,
                    ),
                )
            )
        # A retry would apply the edit a second time to the products already changed.
        can_retry = job.state in (JobState.FAILED, JobState.CANCELLED) and not job.changed_count
        return {"job_rows": rows, "can_retry": can_retry}

    def retry_job(self, job: BulkEditJob) -> bool:
        return bulk_edit_job_retry(job=job)
