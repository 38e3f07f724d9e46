"""Background jobs in the admin: the one job page every job kind shares, and the private job pages.

``JobPage`` builds what ``admin/jobs/job_page.html`` shows of any ``BackgroundJob``
(state, rows, progress, rate, elapsed, time left, who, when) plus the kind's own rows,
buttons and links; the page refreshes itself while the job is active. Export and bulk edit
jobs use it through ``JobAdminMixin``; import jobs through their own page
(``store.admin.imports``), which adds the import's rows.

A private job (``PrivateJob``) is seen only by the user who asked for it, or a superuser:
its page, its file, Cancel and Retry. Anyone else gets 404, as for a job that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.views.decorators.http import require_POST
from django_tasks_db.models import DBTaskResult

from store.audit import audit_event
from store.jobs.models import BackgroundJob, JobState, PrivateJob
from store.jobs.services import format_duration, job_cancel, job_not_queued, jobs_mark_lost

# Seconds between refreshes of a running job's page.
JOB_PAGE_REFRESH_SECONDS = 2
JOB_PAGE_TEMPLATE = "admin/jobs/job_page.html"
NOT_QUEUED_MESSAGE = (
    "{job} could not be queued: the task queue could not be reached, so nothing ran. "
    "Retry it from its page once the queue is back."
)

_JobT = TypeVar("_JobT", bound=PrivateJob)


def filters_link(*, changelist: str, filters: str) -> str | SafeString:
    """A job's saved list query ("status__exact=active&q=mug") as a link to that list, not the raw
    parameters; "none" when the job covered the whole list."""
    if not filters:
        return "none"
    return format_html('<a href="{}?{}">the list as it was filtered</a>', changelist, filters)


@dataclass(frozen=True)
class JobRow:
    """A row of the job page's table: a label and a value (auto-escaped unless marked safe)."""

    label: str
    value: Any
    id: str = ""
    css: str = ""


@dataclass(frozen=True)
class JobButton:
    """A POST button of the job page (Cancel, Retry): to ``url``, with ``name`` as the pressed field."""

    label: str
    url: str
    name: str = ""
    css: str = ""


@dataclass(frozen=True)
class JobPage:
    """One job's page: what every job shows (state, rows, progress, rate, elapsed, time left, who,
    when; built by ``context()``) and the kind's own rows after the progress (``progress_rows``)
    and after who and when (``job_rows``), its buttons and links. ``show_eta``: the "Time left"
    row (default: while a worker holds the job). The page refreshes itself while the job is active."""

    job: BackgroundJob
    title: str
    state_label: str
    started_by: str
    breadcrumbs: Sequence[tuple[str, str]]
    current: str
    created_label: str = "Queued at"
    progress_rows: Sequence[JobRow] = ()
    job_rows: Sequence[JobRow] = ()
    buttons: Sequence[JobButton] = ()
    links: Sequence[tuple[str, str]] = ()
    show_eta: bool | None = None
    page_class: str = ""

    def context(self) -> dict[str, Any]:
        """The template context of ``admin/jobs/job_page.html``."""
        job = self.job
        rate = job.rate
        return {
            "title": self.title,
            "job": job,
            "state": job.job_state,
            "state_label": self.state_label,
            "rows_done": job.rows_done,
            "rows_total": job.progress_total,
            "percent": job.percent,
            "rate": f"{rate:,.0f} rows/s" if rate else "-",
            "elapsed": format_duration(job.elapsed_seconds),
            "eta": format_duration(job.eta_seconds),
            "show_eta": job.is_running if self.show_eta is None else self.show_eta,
            "refresh_seconds": JOB_PAGE_REFRESH_SECONDS if job.is_active else None,
            "started_by": self.started_by,
            "created_label": self.created_label,
            "breadcrumbs": self.breadcrumbs,
            "breadcrumb_current": self.current,
            "progress_rows": self.progress_rows,
            "job_rows": self.job_rows,
            "buttons": self.buttons,
            "links": self.links,
            "page_class": self.page_class,
        }


class JobAdminMixin(admin.ModelAdmin, Generic[_JobT]):
    """Private, read-only job pages with Cancel and Retry, for the job model ``_JobT``.

    Subclasses give ``retry_job``: ``class ExportJobAdmin(JobAdminMixin[ExportJob])``.
    """

    list_display: tuple[str, ...] = ("__str__", "state_display", "progress_display", "requested_by", "created_at")
    list_filter: ClassVar[tuple[str, ...]] = ("state",)
    list_select_related: ClassVar[tuple[str, ...]] = ("requested_by",)
    job_template = JOB_PAGE_TEMPLATE

    def get_queryset(self, request: HttpRequest) -> QuerySet[_JobT]:
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(requested_by=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return (
            user.is_active
            and user.is_staff
            and (user.is_superuser or self.model.objects.filter(requested_by=user).exists())
        )

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None:
            return obj.may_view(request.user)
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("<int:job_id>/cancel/", wrap(require_POST(self.cancel_view)), name="{}_{}_cancel".format(*info)),
            path("<int:job_id>/retry/", wrap(require_POST(self.retry_view)), name="{}_{}_retry".format(*info)),
            *super().get_urls(),
        ]

    @admin.display(description="state", ordering="state")
    def state_display(self, job) -> str:
        return job.state_label

    @admin.display(description="progress")
    def progress_display(self, job) -> str:
        total = f"{job.rows_total:,}" if job.rows_total is not None else "?"
        return f"{job.rows_done:,} / {total}"

    def get_job(self, request: HttpRequest, job_id: Any) -> _JobT:
        if not str(job_id).isdigit() or len(str(job_id)) > 18:
            raise Http404("No such job.")
        job = get_object_or_404(self.model.objects.select_related("requested_by"), pk=job_id)
        if not job.may_view(request.user):
            # Someone else's job answers as one that does not exist (import jobs do the same):
            # a 403 would tell which job numbers exist.
            raise Http404("No such job.")
        return job

    def job_url(self, job: _JobT) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_change".format(*info), args=[job.pk], current_app=self.admin_site.name)

    def mark_lost_jobs(self) -> None:
        """Fail the running jobs whose worker went silent (subclasses clean up what they own)."""
        jobs_mark_lost(model=self.model)

    def job_context(self, request: HttpRequest, job: _JobT) -> dict[str, Any]:
        """Extra context for the page (``job_rows``, ``download_url``, ``can_retry``); subclasses add their own."""
        return {}

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None) -> HttpResponse:
        if request.method != "GET":
            raise PermissionDenied
        self.mark_lost_jobs()  # a page nobody refreshes must not say "running" forever
        job = self.get_job(request, object_id)
        if job.state in (JobState.DONE, JobState.FAILED) and job.announced_at is None:
            self.model.objects.filter(pk=job.pk).update(announced_at=timezone.now())
        info = self.opts.app_label, self.opts.model_name
        extra = {"can_retry": job.state in job.job_states.retryable, **self.job_context(request, job)}
        buttons = []
        if job.state in job.job_states.cancellable:
            url = reverse("admin:{}_{}_cancel".format(*info), args=[job.pk], current_app=self.admin_site.name)
            buttons.append(JobButton("Cancel job", url))
        if extra.pop("can_retry"):
            url = reverse("admin:{}_{}_retry".format(*info), args=[job.pk], current_app=self.admin_site.name)
            buttons.append(JobButton("Retry", url))
        rows = [*extra.pop("job_rows", ())]
        if job.error:
            rows.append(JobRow("Error", job.error, css="errornote"))
        site = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            **JobPage(
                job=job,
                title=str(job),
                state_label=job.state_label,
                started_by=str(job.requested_by or "-"),
                breadcrumbs=[
                    (
                        str(self.opts.app_config.verbose_name),
                        reverse("admin:app_list", kwargs={"app_label": self.opts.app_label}, current_app=site),
                    ),
                    (
                        capfirst(str(self.opts.verbose_name_plural)),
                        reverse("admin:{}_{}_changelist".format(*info), current_app=site),
                    ),
                ],
                current=str(job),
                job_rows=rows,
                buttons=buttons,
            ).context(),
            **extra,
        }
        return TemplateResponse(request, self.job_template, context)

    def cancel_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = self.get_job(request, job_id)
        if job_cancel(job=job, user=request.user):
            audit_event("job.cancel", user=request.user, job=str(job))
            self.message_user(request, f"{job} is cancelled.", messages.SUCCESS)
        else:
            self.message_user(request, f"{job} had already ended: {job.state_label}.", messages.WARNING)
        return HttpResponseRedirect(self.job_url(job))

    def retry_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = self.get_job(request, job_id)
        if self.retry_job(job):
            audit_event("job.retry", user=request.user, job=str(job))
            if job_not_queued(job):
                self.message_user(request, NOT_QUEUED_MESSAGE.format(job=job), messages.ERROR)
            else:
                self.message_user(request, f"{job} is queued again.", messages.SUCCESS)
        else:
            self.message_user(
                request, f"Only a failed or cancelled job can be retried; {job} is {job.state_label}.", messages.WARNING
            )
        return HttpResponseRedirect(self.job_url(job))

    def retry_job(self, job: _JobT) -> bool:
        raise NotImplementedError


# The queues' own admin pages (django-tasks-db's table, which crashes on ordinary changelist
# parameters; django-rq's dashboard, which has no changelist) are left out: job pages are the
# interface, and rq's own `rqstats` command shows the queues.
if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)
if apps.is_installed("django_rq"):
    from django_rq.models import Dashboard

    if admin.site.is_registered(Dashboard):
        admin.site.unregister(Dashboard)
