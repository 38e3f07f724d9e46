"""The change-history pages (django-simple-history) of the product and import profile admins,
said in words: choices by their label ("Draft", not "draft"), no user or reason as "—" (never
"None"), and, for products, what a change did to tags, images and promotions (store.history)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simple_history.models import ModelChange, ModelChangeValue
from simple_history.template_utils import HistoricalRecordContextHelper


class ChoiceLabelsContextHelper(HistoricalRecordContextHelper):
    """A field with choices shows its values' labels."""

    def prepare_delta_change_value(self, change: ModelChange, value: ModelChangeValue) -> Any:
        field = self.model._meta.get_field(change.field)
        if getattr(field, "choices", None) and not isinstance(value, list):
            return dict(field.flatchoices).get(value, value)
        return super().prepare_delta_change_value(change, value)


class HistoryPageMixin:
    """For a SimpleHistoryAdmin: the history table of templates/admin/includes/object_history_list.html."""

    object_history_list_template = "admin/includes/object_history_list.html"

    def get_historical_record_context_helper(self, request, historical_record) -> HistoricalRecordContextHelper:
        return ChoiceLabelsContextHelper(self.model, historical_record)  # type: ignore[attr-defined]

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True) -> None:
        super().set_history_delta_changes(  # type: ignore[misc]
            request, historical_records, foreign_keys_are_objs=foreign_keys_are_objs
        )
        records = list(historical_records)
        related = self.history_related_changes(request, records)
        for record in records:
            # Rows compared with the one before them ("no field changed" is true only of those).
            record.history_compared = hasattr(record, "history_delta_changes")
            extra = related.get(record.history_id, ())
            if extra:
                record.history_delta_changes = [*getattr(record, "history_delta_changes", []), *extra]

    def history_related_changes(self, request, records: Sequence[Any]) -> dict[int, list[dict[str, str]]]:
        """{history_id: more lines of its Changes ({"field", "old", "new"})}; none by default."""
        return {}
