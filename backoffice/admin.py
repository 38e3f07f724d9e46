"""The project's admin site: Django's, plus a guard against forged action selections."""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect

INVALID_SELECTION = "The selection was not valid (unknown item ids). Nothing was changed."


def selection_is_valid(model_admin: admin.ModelAdmin, values: list[str]) -> bool:
    """Whether every posted `_selected_action` value is a possible primary key."""
    pk = model_admin.model._meta.pk
    try:
        for value in values:
            pk.run_validators(pk.to_python(value))
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    return True


class BackOfficeAdminSite(admin.AdminSite):
    """Django's ModelAdmin filters an action's queryset with `pk__in=<posted ids>` and
    crashes (500) on ids that are not numbers or out of range. Every changelist POST is
    checked here first, so the ModelAdmins of every area are covered without a mixin."""

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        if not isinstance(model_admin, admin.ModelAdmin) or view.__name__ != "changelist_view":
            return inner

        def guarded(request: HttpRequest, *args, **kwargs):
            if request.method == "POST" and not selection_is_valid(
                model_admin, request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            ):
                if not self.has_permission(request):  # anonymous: let the login redirect happen
                    return inner(request, *args, **kwargs)
                model_admin.message_user(request, INVALID_SELECTION, messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
            return inner(request, *args, **kwargs)

        return guarded
