"""The product page of a product with variants: the options editor's field and the variants inline.

Every write goes through ``store.variants.services`` and ``store.services`` (versions, history);
``ProductAdmin`` (store/admin/catalog.py) hands them the form's data.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet

from store import services
from store.admin.forms import ProductRulesFormMixin
from store.models import OPTION_COUNT, Product, ProductImage
from store.variants import services as variant_services

OPTIONS_HELP = (
    'Up to three options and their values: "Colour: Green, Blue; Size: S, M, L". Saving makes a variant '
    "for each combination the product does not have yet (SKU, the product's price, no stock); adding a "
    "value adds its variants. Existing variants are kept."
)
ERROR_OPTION_VALUE_REQUIRED = "required: the product's option {name}"
ERROR_VARIANT_TWICE = "{label} is there twice"


class OptionsField(forms.CharField):
    """The options editor's text, cleaned to a list of ``Option``."""

    def clean(self, value: Any) -> list[variant_services.Option]:
        return variant_services.options_parse(super().clean(value) or "")


class VariantForm(ProductRulesFormMixin):
    """One variant row: its option values, SKU, price, stock, barcode, image; version-checked."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Product
        fields = ("option1", "option2", "option3", "sku", "unit_price", "inventory", "barcode", "variant_image")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            # A new row is a variant: the model's rules for one apply to it.
            self.instance.structure = Product.Structure.VARIANT
            self.instance.slug = self.instance.collection = self.instance.status = None
            self.instance.inventory = 0
        else:
            self.initial["loaded_version"] = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        parent = self.instance.parent if self.instance.parent_id else None
        if parent is not None:
            for index, name in enumerate(parent.option_names, start=1):
                if not cleaned.get(f"option{index}"):
                    self.add_error(f"option{index}", ERROR_OPTION_VALUE_REQUIRED.format(name=name))
        values = [cleaned.get(f"option{index}") or "" for index in range(1, OPTION_COUNT + 1)]
        self.instance.title = " / ".join(value for value in values if value) or self.instance.title or ""
        if (
            self.instance.pk is not None
            and self.has_changed()
            and any(name != "loaded_version" for name in self.changed_data)
            and cleaned.get("loaded_version") != self.instance.version
        ):
            self.add_error(None, services.product_version_conflict(product_id=self.instance.pk))
        return cleaned


class VariantFormSet(BaseInlineFormSet):
    """Refuses to remove a variant that orders refer to, with the reason, and two rows of one combination."""

    def clean(self) -> None:
        # First, and not over ``deleted_forms``: the admin's own check of protected objects makes
        # the form invalid (naming the order line, not the order), which empties ``deleted_forms``
        # and raises from ``super().clean()``.
        refusals = [
            refusal
            for form in self.forms
            if form.instance.pk is not None
            and getattr(form, "cleaned_data", {}).get(DELETION_FIELD_NAME)
            and (refusal := variant_services.variant_delete_refusal(variant=form.instance)) is not None
        ]
        if refusals:
            raise ValidationError(refusals)
        super().clean()
        seen: set[tuple[str, ...]] = set()
        for form in self.forms:
            if form in self.deleted_forms or not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            key = tuple((form.cleaned_data.get(f"option{i}") or "").casefold() for i in range(1, OPTION_COUNT + 1))
            if key in seen:
                raise ValidationError(ERROR_VARIANT_TWICE.format(label=form.instance.title))
            seen.add(key)


class VariantInline(admin.TabularInline):
    """The variants of a product with variants: each a sellable unit, its price and stock edited here."""

    model = Product
    fk_name = "parent"
    form = VariantForm
    formset = VariantFormSet
    fields = (
        "option1",
        "option2",
        "option3",
        "sku",
        "unit_price",
        "inventory",
        "barcode",
        "variant_image",
        "loaded_version",
    )
    extra = 0
    verbose_name = "variant"
    verbose_name_plural = "variants"
    show_change_link = True

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).order_by("pk")

    def get_fields(self, request: Any, obj: Any = None) -> Any:
        """The option columns the product has (a product with two options shows no third): the
        inline fits a 1,366 px screen (store/admin/catalog.css narrows its inputs)."""
        fields = super().get_fields(request, obj)
        used = len(obj.option_names) if obj is not None and obj.option_names else OPTION_COUNT
        unused = {f"option{index}" for index in range(used + 1, OPTION_COUNT + 1)}
        return [name for name in fields if name not in unused]

    def get_formset(self, request: Any, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            # Each option column is headed by the product's option ("Colour"), not "Option 1 value".
            # The form class is made for this request (modelform_factory): its fields are its own.
            for index, name in enumerate(obj.option_names, start=1):
                if f"option{index}" in formset.form.base_fields:
                    formset.form.base_fields[f"option{index}"].label = name
        return formset

    def formfield_for_foreignkey(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        if db_field.name == "variant_image":
            # One of this product's images.
            object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            images = ProductImage.objects.all()
            kwargs["queryset"] = images.filter(product_id=object_id) if object_id else images.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def variant_formset_save(*, formset: Any, user: Any) -> None:
    """Save the variants inline: each changed row version-checked (history), new rows created, removed rows deleted."""
    for variant in formset.save(commit=False):
        if variant.pk is None:
            services.product_create(product=variant, user=user)
        else:
            form = next(form for form in formset.forms if form.instance is variant)
            services.product_update(
                product=variant, expected_version=form.cleaned_data.get("loaded_version"), user=user
            )
    for variant in formset.deleted_objects:
        variant_services.variant_delete(variant=variant)
