""" "Revert this import" on the import history: a preview page, then confirm.

Mixed into ImportJobAdmin. Whoever may import (store.import_product) may revert an
import they can see; the service refuses imports that wrote nothing or were reverted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from store.importing.revert import REVERTIBLE, RevertRefused, import_revert, import_revert_preview
from store.models import ImportJob

if TYPE_CHECKING:
    _ImportJobAdmin = admin.ModelAdmin[ImportJob]
else:
    _ImportJobAdmin = object


class ImportRevertMixin(_ImportJobAdmin):
    revert_template = "admin/store/importjob/revert.html"

    def get_list_select_related(self, request):
        related = super().get_list_select_related(request)
        # ImportJobAdmin names its relations; True (follow every foreign key) would not reach the
        # reverse one-to-one "revert" either, so the names are "revert" alone then.
        return (*(() if isinstance(related, bool) else related), "revert")

    def get_list_display(self, request):
        return (*super().get_list_display(request), "revert_link")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "revert_link")

    def get_urls(self):
        return [
            path("<int:job_id>/revert/", self.admin_site.admin_view(self.revert_view), name="store_importjob_revert"),
            *super().get_urls(),
        ]

    def has_revert_permission(self, request: HttpRequest, job: ImportJob | None = None) -> bool:
        return request.user.has_perm("store.import_product") and self.has_view_permission(request, job)

    @admin.display(description="revert")
    def revert_link(self, job: ImportJob):
        reverted = getattr(job, "revert", None)  # the reverse one-to-one raises AttributeError when unset
        if reverted is not None:
            return format_html("reverted by import #{}", reverted.revert_job_id)
        if job.status not in REVERTIBLE:
            return "—"
        url = reverse("admin:store_importjob_revert", args=[job.pk], current_app=self.admin_site.name)
        return format_html('<a href="{}" class="revert-link" title="Revert this import">Revert</a>', url)

    def revert_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        # The admin's own queryset: an import the user may not see answers 404 here too.
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if not self.has_revert_permission(request, job):
            raise PermissionDenied
        skip_changed = request.POST.get("skip_changed") == "1"
        context: dict[str, Any] = {"job": job, "report": None, "error": None, "skip_changed": skip_changed}
        try:
            if request.method == "POST" and "_confirm" in request.POST:
                try:
                    outcome = import_revert(
                        job=job, user=request.user, skip_changed=skip_changed, source=ImportJob.SOURCE_ADMIN
                    )
                except RevertRefused as refused:
                    context["error"], context["report"] = refused.messages[0], refused.report
                else:
                    self.message_user(
                        request,
                        f"Import #{job.pk} reverted: {outcome.job.message} Recorded as import #{outcome.job.pk}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:store_importjob_change", args=[outcome.job.pk], current_app=self.admin_site.name)
                    )
            else:
                context["report"] = import_revert_preview(job=job)
        except ValidationError as error:
            context["error"] = error.messages[0]
        opts = self.model._meta
        context.update(
            {
                **self.admin_site.each_context(request),
                "opts": opts,
                "app_label": opts.app_label,
                "title": f"Revert import #{job.pk}",
                "original": job,
            }
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.revert_template, context)
