"""The column-mapping step of the product import, and saved import profiles.

Upload -> (a header no preset and no profile knows) mapping page -> preview -> confirm. The
mapping page lists each file column with a guessed product column, the file's conventions and
"save as profile". ``ImportProfileAdmin`` lists, edits and deletes profiles (one choice per file
column). The rules live in ``store.importing.mapping`` and ``store.importing.mapping_jobs``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from store.admin.history import HistoryPageMixin
from store.admin.jobs import NOT_QUEUED_MESSAGE
from store.importing.jobs import import_job_cancel
from store.importing.mapping import (
    IGNORE,
    ColumnMapping,
    check_header_width,
    first_rows,
    guess_convention,
    guess_mapping,
    import_profile_can_change,
    import_profile_delete,
    import_profile_save,
    normalise_column,
    profile_for_header,
    target_columns,
)
from store.importing.mapping_jobs import (
    import_job_await_mapping,
    import_job_map,
    import_job_mapping_header,
)
from store.importing.modes import MODE_CHOICES, MODE_CREATE_UPDATE, ModeChoice, mode_from_options
from store.importing.parsing import read_header
from store.importing.presets import PRESET_AUTO, detect_preset
from store.importing.service import import_jobs_visible_to
from store.jobs.services import job_not_queued
from store.models import ImportJob, ImportProfile

PROFILE_ADD_PERMISSION = "store.add_importprofile"
DECIMAL_CHOICES = ImportProfile.DECIMAL_CHOICES
# Form tokens for the thousands separator (a space or nothing do not travel well as <option> values).
THOUSANDS = {"comma": ",", "point": ".", "space": " ", "none": ""}
THOUSANDS_CHOICES = [
    ("comma", "Comma: 1,234"),
    ("point", "Point: 1.234"),
    ("space", "Space: 1 234"),
    ("none", "None: 1234"),
]
THOUSANDS_TOKENS = {value: token for token, value in THOUSANDS.items()}
COLUMN_FIELD = "column_{}"
MODE_FIELDS = ("mode", "keep_blank")


def _target_choices() -> list[tuple[str, str]]:
    return [(IGNORE, "— ignore —"), *((name, name) for name in target_columns())]


BLANK_KEEP, BLANK_CLEAR = "keep", "clear"
BLANK_CHOICES = [
    ("", "Default: a blank description, tags or promotions cell clears it (or as the saved profile says)"),
    (BLANK_KEEP, "A blank cell keeps the product's current value"),
    (BLANK_CLEAR, "A blank description, tags or promotions cell clears it"),
]


class ImportModeFields(forms.Form):
    """The import mode (store.importing.modes): shared by the upload form and the mapping step."""

    mode = forms.ChoiceField(
        choices=[("", "Default: create and update (or as the saved profile says)"), *MODE_CHOICES],
        required=False,
        label="Mode",
    )
    blank_cells = forms.ChoiceField(choices=BLANK_CHOICES, required=False, label="Blank cells")

    def import_mode(self) -> ModeChoice:
        """The mode as chosen; None where the default (or the profile's) applies."""
        blank = self.cleaned_data.get("blank_cells") or ""
        return ModeChoice(self.cleaned_data.get("mode") or None, {BLANK_KEEP: True, BLANK_CLEAR: False}.get(blank))

    def mode_fields(self) -> list[forms.BoundField]:
        return [self["mode"], self["blank_cells"]]


def import_mode_initial(options: dict[str, Any]) -> dict[str, str]:
    """The mode fields' initial values from a job's options (what was chosen on upload)."""
    chosen = mode_from_options(options)
    blank = "" if chosen.keep_blank is None else BLANK_KEEP if chosen.keep_blank else BLANK_CLEAR
    return {"mode": chosen.mode or "", "blank_cells": blank}


class ConventionFields(forms.Form):
    """The file's conventions: shared by the mapping step and the profile form."""

    decimal = forms.ChoiceField(choices=DECIMAL_CHOICES, initial=".", label="Decimal mark")
    thousands = forms.ChoiceField(choices=THOUSANDS_CHOICES, initial="comma", label="Thousands separator")
    collection_separator = forms.CharField(
        required=False,
        max_length=5,
        label="Collection path separator",
        help_text='Between category levels, e.g. "/" or ">" or "|": "Home/Kitchen" becomes the collection '
        '"Home > Kitchen". Blank: the category is one title.',
    )


class ColumnMappingForm(ImportModeFields, ConventionFields):
    """One choice per file column (guessed), the conventions, the import mode, and "save as profile"."""

    save_profile = forms.BooleanField(required=False, label="Save as profile")
    profile_name = forms.CharField(
        required=False,
        max_length=100,
        label="Profile name",
        help_text="The next file with the same columns is mapped with this profile, without this step.",
    )

    def __init__(
        self,
        *args: Any,
        header: list[str],
        samples: list[list[str]],
        can_save: bool,
        previous: ColumnMapping | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.header = header
        values = first_rows(samples, len(header))
        if previous is not None and len(previous.targets) == len(header):
            # Back from the preview: the choices made before, not new guesses.
            guesses = list(previous.targets)
            decimal, thousands = previous.decimal, previous.thousands
            self.fields["collection_separator"].initial = previous.collection_separator
        else:
            guesses = guess_mapping(header)
            decimal, thousands = guess_convention(guesses, samples)
            if decimal == ",":
                prices = [row[guesses.index("unit_price")] for row in samples if len(row) > guesses.index("unit_price")]
                self.fields["decimal"].help_text = "Read from the first prices: " + ", ".join(prices[:3]) + "."
        self.fields["decimal"].initial = decimal
        self.fields["thousands"].initial = THOUSANDS_TOKENS.get(thousands, "comma")
        for position, (name, guess) in enumerate(zip(header, guesses, strict=True)):
            shown = ", ".join(value for value in values[position] if value)
            self.fields[COLUMN_FIELD.format(position)] = forms.ChoiceField(
                choices=_target_choices(),
                required=False,
                initial=guess,
                label=name or f"(column {position + 1}, no name)",
                help_text=f"e.g. {shown}" if shown else "",
            )
        if not can_save:
            del self.fields["save_profile"], self.fields["profile_name"]

    def column_fields(self) -> list[forms.BoundField]:
        return [self[COLUMN_FIELD.format(position)] for position in range(len(self.header))]

    def convention_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("decimal", "thousands", "collection_separator")]

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("save_profile", "profile_name") if name in self.fields]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        mapping = self.mapping()
        for error in mapping.errors():
            self.add_error(None, error)
        if cleaned.get("save_profile") and not cleaned.get("profile_name", "").strip():
            self.add_error("profile_name", "Give the profile a name, or untick “Save as profile”.")
        return cleaned

    def mapping(self) -> ColumnMapping:
        return _form_mapping(self.cleaned_data, self.header, decimal=self.cleaned_data["decimal"])


def _form_mapping(data: dict[str, Any], header: list[str], *, decimal: str) -> ColumnMapping:
    """The mapping a form's cleaned data describes: a column field per file column, the conventions."""
    return ColumnMapping(
        header=tuple(header),
        targets=tuple(data.get(COLUMN_FIELD.format(position), IGNORE) for position in range(len(header))),
        decimal=decimal,
        thousands=THOUSANDS[data["thousands"]],
        collection_separator=data.get("collection_separator", ""),
    )


if TYPE_CHECKING:
    # Mixed into a ModelAdmin (through ProductImportMixin): type-check it as one.
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class ProductImportMappingMixin(_AdminBase):
    """The mapping step of ``ProductImportMixin`` (store/admin/imports.py)."""

    def import_mapping_start(
        self,
        request: HttpRequest,
        *,
        path: Path,
        file_name: str,
        cleaned: dict[str, Any],
        mode: ModeChoice,
    ) -> ImportJob | None:
        """A job waiting for its mapping when the file needs one; None when a preset or a profile reads it.

        Only the header and a few rows are read here. A file that cannot be read goes on to the
        usual preview, which names the problem; a header too wide to map raises ValidationError.
        """
        if cleaned["preset"] != PRESET_AUTO:
            return None
        try:
            header, samples = read_header(path, encoding=cleaned["encoding"] or None)
        except ValidationError:
            return None
        if not header or detect_preset(header) is not None or profile_for_header(header) is not None:
            return None
        check_header_width(header)
        return import_job_await_mapping(
            path=path,
            file_name=file_name,
            user=request.user,
            header=header,
            samples=samples,
            preset=cleaned["preset"],
            encoding=cleaned["encoding"] or None,
            skip_invalid=cleaned["skip_invalid"],
            mode=mode,
        )

    def import_mapping_url(self, job: ImportJob) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_import_mapping",
            args=[job.pk],
            current_app=self.admin_site.name,
        )

    def import_mapping_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        if not request.user.has_perm("store.import_product"):
            raise PermissionDenied
        job = get_object_or_404(import_jobs_visible_to(user=request.user), pk=job_id)
        preview_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_import_preview",
            args=[job.pk],
            current_app=self.admin_site.name,
        )
        if job.status != ImportJob.STATUS_MAPPING:
            return HttpResponseRedirect(preview_url)
        header, samples = import_job_mapping_header(job)
        can_save = request.user.has_perm(PROFILE_ADD_PERMISSION)
        form = ColumnMappingForm(
            request.POST if request.method == "POST" else None,
            header=header,
            samples=samples,
            can_save=can_save,
            initial=import_mode_initial(job.options),
            previous=ColumnMapping.from_json(job.column_mapping) if job.column_mapping else None,
        )
        if request.method == "POST" and "_cancel" in request.POST:
            try:
                import_job_cancel(job=job, user=request.user)  # the stored upload goes with it
            except ValidationError as error:
                self.message_user(request, error.messages[0], messages.ERROR)
                return HttpResponseRedirect(preview_url)
            self.message_user(request, "Import cancelled; nothing was written.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:store_product_import", current_app=self.admin_site.name))
        if form.is_bound and form.is_valid():
            mapping = form.mapping()
            mode = form.import_mode()
            if form.cleaned_data.get("save_profile"):
                try:
                    profile = import_profile_save(
                        name=form.cleaned_data["profile_name"],
                        mapping=mapping,
                        user=request.user,
                        mode=mode.mode or MODE_CREATE_UPDATE,
                        keep_blank=bool(mode.keep_blank),
                    )
                except ValidationError as error:
                    form.add_error("profile_name", error.message_dict.get("name", error.messages))
                else:
                    mapping = replace(mapping, profile_id=profile.pk, profile_name=profile.name)
            if form.is_valid():
                try:
                    job = import_job_map(job=job, mapping=mapping, user=request.user, mode=mode)
                except ValidationError as error:
                    self.message_user(request, error.messages[0], messages.ERROR)
                    return HttpResponseRedirect(preview_url)
                if job_not_queued(job):  # its page offers Retry
                    self.message_user(request, NOT_QUEUED_MESSAGE.format(job=f"Import #{job.pk}"), messages.ERROR)
                    return HttpResponseRedirect(preview_url)
                if job.status == ImportJob.STATUS_FAILED:
                    self.message_user(request, job.message, messages.ERROR)
                    return HttpResponseRedirect(reverse("admin:store_product_import", current_app=self.admin_site.name))
                return HttpResponseRedirect(preview_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": f"Map the columns of {job.file_name}",
            "job": job,
            "form": form,
            "can_save": can_save,
        }
        return TemplateResponse(request, "admin/store/product/import_mapping.html", context)


# --- Saved profiles ---------------------------------------------------------------------
class ImportProfileForm(forms.ModelForm):
    """A profile's name and conventions, and one choice per column of the header it was made for."""

    thousands = forms.ChoiceField(choices=THOUSANDS_CHOICES, label="Thousands separator")

    class Meta:
        model = ImportProfile
        fields = ("name", "decimal_mark", "collection_separator", "mode", "keep_blank")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["thousands"].initial = THOUSANDS_TOKENS.get(self.instance.thousands_separator, "comma")
        if "mode" in self.fields:  # not on a read-only page
            self.fields["mode"].required = False  # a form posted without it keeps the profile's mode

    def clean_mode(self) -> str:
        return self.cleaned_data.get("mode") or self.instance.mode

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        header = [str(name) for name in self.instance.header]
        mapping = self.mapping(header)
        for error in mapping.errors():
            self.add_error(None, error)
        return cleaned

    def mapping(self, header: list[str]) -> ColumnMapping:
        return _form_mapping(self.cleaned_data, header, decimal=self.cleaned_data["decimal_mark"])


def import_profile_form(profile: ImportProfile | None) -> type[ImportProfileForm]:
    """The form of one profile: a column field per column of its header, declared (the admin
    builds its form from declared fields)."""
    header = [str(name) for name in profile.header] if profile is not None else []
    saved = {str(key): str(value) for key, value in dict(profile.mapping).items()} if profile is not None else {}
    fields: dict[str, Any] = {
        COLUMN_FIELD.format(position): forms.ChoiceField(
            choices=_target_choices(), required=False, initial=saved.get(normalise_column(name), IGNORE), label=name
        )
        for position, name in enumerate(header)
    }
    return type("ImportProfileColumnsForm", (ImportProfileForm,), fields)


@admin.register(ImportProfile)
class ImportProfileAdmin(HistoryPageMixin, SimpleHistoryAdmin):
    """Saved column mappings. Made on the import's mapping step; here they are edited or deleted,
    by their owner or a manager (others see them read-only); History lists every change."""

    list_display = (
        "name",
        "columns",
        "decimal_mark",
        "thousands",
        "collection_separator",
        "mode",
        "keep_blank",
        "created_by",
        "updated_at",
    )
    search_fields = ("name",)
    list_select_related = ("created_by",)
    readonly_fields = ("file_header", "created_by", "created_at", "updated_at")

    def get_form(
        self, request: HttpRequest, obj: ImportProfile | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = import_profile_form(obj)
        kwargs["fields"] = ("name", "decimal_mark", "collection_separator", "mode", "keep_blank")
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: ImportProfile | None = None) -> Any:
        columns = [COLUMN_FIELD.format(position) for position in range(len(obj.header))] if obj else []
        return [
            (None, {"fields": ("name", "file_header")}),
            ("Conventions", {"fields": ("decimal_mark", "thousands", "collection_separator")}),
            ("How its files import (unless the upload or the command line chooses)", {"fields": MODE_FIELDS}),
            ("Columns: file column → product column", {"fields": columns}),
            ("History", {"fields": ("created_by", "created_at", "updated_at")}),
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a profile needs a file's header: save one from the import's mapping step

    def has_change_permission(self, request: HttpRequest, obj: ImportProfile | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or import_profile_can_change(user=request.user, profile=obj))

    def has_delete_permission(self, request: HttpRequest, obj: ImportProfile | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or import_profile_can_change(user=request.user, profile=obj))

    def revert_disabled(self, request: HttpRequest, obj: ImportProfile | None = None) -> bool:
        return True  # past versions are shown read-only; see history_form_view

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """View a past version; never save from here (simple-history would, with only the view
        permission, and past the owner check and the mapping's checks)."""
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request: HttpRequest, obj: ImportProfile, form: Any, change: bool) -> None:
        import_profile_save(
            name=obj.name,
            mapping=form.mapping([str(name) for name in obj.header]),
            user=request.user,
            profile=obj,
            mode=obj.mode,
            keep_blank=obj.keep_blank,
        )

    def delete_model(self, request: HttpRequest, obj: ImportProfile) -> None:
        import_profile_delete(profile=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for profile in queryset.select_related("created_by"):  # a few rows; each one's owner is checked
                import_profile_delete(profile=profile, user=request.user)

    @admin.display(description="columns")
    def columns(self, profile: ImportProfile) -> str:
        return ", ".join(f"{name} → {target}" for name, target in dict(profile.mapping).items())

    @admin.display(description="thousands separator")
    def thousands(self, profile: ImportProfile) -> str:
        return dict(THOUSANDS_CHOICES)[THOUSANDS_TOKENS.get(profile.thousands_separator, "comma")]

    @admin.display(description="file header (normalised)")
    def file_header(self, profile: ImportProfile) -> str:
        return ", ".join(str(name) for name in profile.header)
