"""The project's admin site: Django's, plus guards for inputs Django's admin crashes on
(HTTP 500) instead of refusing: forged ids, junk date drill-downs and year lookups, searches
of a thousand words, junk history version ids."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.views.main import ERROR_FLAG, SEARCH_VAR
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, SuspiciousOperation, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponseRedirect, JsonResponse, QueryDict
from django.urls import reverse

from backoffice.search import admin_search_terms, search_terms_error

INVALID_SELECTION = "The selection was not valid (unknown item ids). Nothing was changed."
INVALID_POSTED_IDS = "Posted ids that cannot exist: {names}."
# ExportMixin's export view carries the changelist's query string in this parameter.
EXPORT_FILTERS_VAR = "filters"

# The date drill-down turns ?<field>__year=&__month=&__day= into a datetime and adds a
# day, a month or a year to it: outside these bounds Python raises OverflowError/ValueError.
DATE_PART_RANGES = {"year": (1, 9998), "month": (1, 12), "day": (1, 31)}


def selection_is_valid(model_admin: admin.ModelAdmin, values: list[str]) -> bool:
    """Whether every posted `_selected_action` value is a possible primary key.

    Django filters the action's queryset with `pk__in=<posted values>`, which raises on
    values that are not numbers, or are out of the column's range.
    """
    pk = model_admin.model._meta.pk
    return all(_is_possible_key(pk, value) for value in values)


def date_drilldown_is_valid(model_admin: admin.ModelAdmin, query: QueryDict) -> bool:
    if not model_admin.date_hierarchy:
        return True
    for part, (low, high) in DATE_PART_RANGES.items():
        for value in query.getlist(f"{model_admin.date_hierarchy}__{part}"):
            try:
                number = int(value)
            except (ValueError, OverflowError):
                return False
            if not low <= number <= high:
                return False
    return True


# A year lookup on a date (``?placed_at__year=``, ``__year__gte=``, ``__iso_year=``, through a
# transform as ``__date__year=``) is compiled into a range of dates only when the query runs,
# after the changelist's own check of its filters: a year outside DATE_PART_RANGES raises there.
YEAR_LOOKUP = re.compile(r"^(?P<path>.+?)__(?:iso_)?year(?:__(?:exact|gt|gte|lt|lte))?$")


def _is_date_path(model: type[models.Model], path: str) -> bool:
    """Whether ``path`` (before ``__year``) ends on a date: a date field, or a transform of one."""
    try:
        fields = get_fields_from_path(model, path)
    except (FieldDoesNotExist, NotRelationField):
        return True  # a transform of a field (created_at__date) or no field at all: judged by its value
    return isinstance(fields[-1], models.DateField)


def year_lookups_are_valid(model_admin: admin.ModelAdmin, query: QueryDict) -> bool:
    """Whether every year lookup on a date field asks for a year a date can have."""
    low, high = DATE_PART_RANGES["year"]
    for key in query:
        match = YEAR_LOOKUP.match(key)
        if not match or not _is_date_path(model_admin.model, match["path"]):
            continue
        for value in query.getlist(key):
            try:
                number = int(value)
            except (ValueError, OverflowError):
                continue  # not a number: Django's own "?e=1"
            if not low <= number <= high:
                return False
    return True


def forged_list_edit_ids(model_admin: admin.ModelAdmin, data: QueryDict) -> list[str]:
    """Row ids of a list-edit POST that cannot be primary keys.

    Django narrows the edited rows with ``pk__in=<posted ids>`` once they parse as
    numbers; one beyond BIGINT raises OverflowError on SQLite (the ``__in`` lookup has
    no range check, unlike ``exact``).
    """
    if not model_admin.list_editable:
        return []
    pk = model_admin.model._meta.pk
    pattern = re.compile(rf"form-\d+-{re.escape(pk.name)}$")
    return [key for key, value in data.items() if pattern.match(key) and _is_out_of_range(pk, value)]


def forged_many_to_many_ids(model_admin: admin.ModelAdmin, data: QueryDict) -> list[str]:
    """Many-to-many form fields posted with numbers beyond the related model's key range.

    ModelMultipleChoiceField checks them with ``pk__in``: the same OverflowError. (Values
    that are not numbers at all are the form's own "not a valid value" error.)
    """
    fields = [field for field in model_admin.model._meta.many_to_many if field.name in data]
    return [
        field.name
        for field in fields
        if any(_is_out_of_range(field.target_field, value) for value in data.getlist(field.name))
    ]


def history_ids_are_valid(model_admin: admin.ModelAdmin, object_id: str, version_id: str) -> bool:
    """simple-history looks a version up by (object id, history_id) without parsing them."""
    history_model = model_admin.model._meta.simple_history_manager_attribute
    opts = getattr(model_admin.model, history_model).model._meta
    return _is_possible_key(opts.get_field(model_admin.model._meta.pk.attname), object_id) and _is_possible_key(
        opts.get_field("history_id"), version_id
    )


def search_error(query: QueryDict) -> str | None:
    return search_terms_error(admin_search_terms(query.get(SEARCH_VAR, "")))


def _without_search(query: QueryDict) -> str:
    remaining = query.copy()
    remaining.pop(SEARCH_VAR, None)
    return remaining.urlencode()


class BackOfficeAdminSite(admin.AdminSite):
    """Every changelist, change form, history and export view of every area passes through
    these checks first, so no ModelAdmin needs a mixin: forged action ids and searches of
    too many words get a message and a redirect, junk date drill-downs and year lookups the "?e=1" page
    Django shows for other bad filter values, row or related ids beyond the key's range
    a 400, junk history version ids a 404."""

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        guard = {
            "changelist_view": self._changelist_guard,
            "add_view": self._change_form_guard,
            "change_view": self._change_form_guard,
            "history_form_view": self._history_form_guard,
            "export_view": self._export_guard,
        }.get(getattr(view, "__name__", ""))
        if not isinstance(model_admin, admin.ModelAdmin) or guard is None:
            return inner

        def guarded(request: HttpRequest, *args, **kwargs):
            if not self.has_permission(request):  # anonymous: the usual login redirect
                return inner(request, *args, **kwargs)
            return guard(model_admin, request, *args, **kwargs) or inner(request, *args, **kwargs)

        return guarded

    def _changelist_guard(self, model_admin: admin.ModelAdmin, request: HttpRequest, *args, **kwargs):
        if not date_drilldown_is_valid(model_admin, request.GET) or not year_lookups_are_valid(
            model_admin, request.GET
        ):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        error = search_error(request.GET)
        if error:
            model_admin.message_user(request, error, messages.ERROR)
            return HttpResponseRedirect(f"{request.path}?{_without_search(request.GET)}")
        if request.method == "POST":
            if not selection_is_valid(model_admin, request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
                model_admin.message_user(request, INVALID_SELECTION, messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
            forged = forged_list_edit_ids(model_admin, request.POST)
            if forged:
                raise SuspiciousOperation(INVALID_POSTED_IDS.format(names=", ".join(forged)))
        return None

    def _change_form_guard(self, model_admin: admin.ModelAdmin, request: HttpRequest, *args, **kwargs):
        forged = forged_many_to_many_ids(model_admin, request.POST) if request.method == "POST" else []
        if forged:
            raise SuspiciousOperation(INVALID_POSTED_IDS.format(names=", ".join(forged)))
        return None

    def _history_form_guard(
        self, model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str, version_id: str, *args, **kwargs
    ):
        if not history_ids_are_valid(model_admin, object_id, version_id):
            raise Http404
        return None

    def _export_guard(self, model_admin: admin.ModelAdmin, request: HttpRequest, *args, **kwargs):
        filters = QueryDict(request.GET.get(EXPORT_FILTERS_VAR, ""))
        opts = model_admin.model._meta
        changelist = reverse(f"{self.name}:{opts.app_label}_{opts.model_name}_changelist")
        if not date_drilldown_is_valid(model_admin, filters) or not year_lookups_are_valid(model_admin, filters):
            return HttpResponseRedirect(f"{changelist}?{ERROR_FLAG}=1")
        error = search_error(filters)
        if error:
            model_admin.message_user(request, error, messages.ERROR)
            return HttpResponseRedirect(f"{changelist}?{_without_search(filters)}")
        return None

    def autocomplete_view(self, request: HttpRequest):
        """The admin's autocomplete searches the target ModelAdmin's search_fields: same cap."""
        error = search_terms_error(admin_search_terms(request.GET.get("term", "")))
        if error:
            return JsonResponse({"error": error}, status=400)
        return PickerAutocompleteJsonView.as_view(admin_site=self)(request)

    def declares_autocomplete(self, model: type[models.Model], field_name: str) -> bool:
        """A registered ModelAdmin of ``model``, or an inline of ``model`` in one, lists
        ``field_name`` in its ``autocomplete_fields``: the admin offers that picker."""
        for model_admin in self._registry.values():
            if model_admin.model is model and field_name in model_admin.autocomplete_fields:
                return True
            for inline in model_admin.inlines:
                if inline.model is model and field_name in inline.autocomplete_fields:
                    return True
        return False


class PickerAutocompleteJsonView(AutocompleteJsonView):
    """Django's autocomplete asks for the view permission on the model it searches. A picker the
    admin offers on a form (``autocomplete_fields``) also answers whoever may add or change that
    form's rows: Support changes an order line's product without the catalog's view permission,
    and the picker shows each product's name and nothing more. A foreign key that no form offers
    as a picker keeps Django's rule."""

    admin_site: BackOfficeAdminSite
    source_field: models.Field  # set by AutocompleteJsonView.get() from the request

    def has_perm(self, request, obj=None):
        if super().has_perm(request, obj):
            return True
        source = self.source_field.model
        if not self.admin_site.declares_autocomplete(source, self.source_field.name):
            return False
        opts = source._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("add", "change")
        )


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget re-renders a bound form by looking the posted value up
    with ``pk__in``; a forged value that is not an id ("abc", 30 digits) raises there, a
    500 instead of the form's own "Select a valid choice" error. Drop such values first."""

    def optgroups(self, name, value, attr=None):
        target = self.field.target_field
        return super().optgroups(name, [v for v in value if _is_possible_key(target, v)], attr)


def _is_out_of_range(field, value) -> bool:
    """Whether ``value`` parses as a value of ``field`` but lies outside its column's range."""
    try:
        parsed = field.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    try:
        field.run_validators(parsed)
    except (ValidationError, OverflowError):
        return True
    return False


def _is_possible_key(field, value) -> bool:
    """Whether ``value`` parses as a value of ``field`` within its column's range."""
    try:
        field.run_validators(field.to_python(value))
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    return True


if TYPE_CHECKING:
    # Mixed into ModelAdmins and inlines: type-check it as their common base.
    _BaseAdmin = admin.options.BaseModelAdmin[Any]
else:
    _BaseAdmin = object


class SafeAutocompleteMixin(_BaseAdmin):
    """For ModelAdmins and inlines with ``autocomplete_fields`` on foreign keys."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
