"""What the product forms share: the model's rules of one row (``Product.clean``) shown where the
form can show them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class ProductRulesFormMixin(forms.ModelForm):
    """``Product.clean`` names the field a rule is about. On a form without that field (the list
    edits price and stock, the variants inline has no compare-at price) Django would raise
    ValueError (a 500): the message goes next to ``rules_fallback_fields``' first field the form
    has (else above the form). A field that has the form's own error already ("This field is
    required.") keeps that one alone: the same fault is not said twice."""

    #: where a rule about a field this form lacks is shown, first present wins
    rules_fallback_fields: tuple[str, ...] = ("unit_price", "inventory")

    def add_error(self, field: str | None, error: Any) -> None:
        if field is None and isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            placed: dict[str, list[ValidationError]] = {}
            for name, errors in error.error_dict.items():
                said = getattr(self, "_errors", None) or {}  # the form's errors so far (set by full_clean)
                if name != NON_FIELD_ERRORS and name in self.fields and name in said:
                    continue  # said already by the form
                target = name
                if name != NON_FIELD_ERRORS and name not in self.fields:
                    target = next(
                        (other for other in self.rules_fallback_fields if other in self.fields), NON_FIELD_ERRORS
                    )
                placed.setdefault(target, []).extend(errors)
            if not placed:
                return
            error = ValidationError(placed)
        super().add_error(field, error)
