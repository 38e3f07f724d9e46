"""Extra import/export columns owned by other apps.

store knows products, not tags. An app that wants a column of its own in the
product import and export (store_custom's ``tags``) registers a handler here;
the import service calls it in bulk, inside the import transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class ExtraColumn(Protocol):
    #: the column's name in the native format (lowercase)
    column: str

    def parse(self, raw: str) -> Any:
        """The normalised, comparable value of one cell; raise ValidationError when invalid."""

    def current(self, product_ids: Sequence[int]) -> dict[int, Any]:
        """The current values of these products (missing ids mean "empty")."""

    def empty(self) -> Any:
        """The value of a product that has none."""

    def render(self, value: Any) -> str:
        """The cell text of a value (export and preview)."""

    def notes(self, values: Iterable[Any]) -> list[str]:
        """Preview lines about what writing these values will create."""

    def write(self, values: dict[int, Any]) -> None:
        """Set each product's value (a full replacement); called inside the import transaction."""


_registry: dict[str, ExtraColumn] = {}


def register_extra_column(handler: ExtraColumn) -> None:
    _registry[handler.column] = handler


def unregister_extra_column(column: str) -> None:
    _registry.pop(column, None)


def extra_columns() -> list[ExtraColumn]:
    return list(_registry.values())
