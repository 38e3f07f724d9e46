"""The import plan: what a file will create and change, and its row errors.

A planned product carries its values as a tuple in the order of ``ImportPlan.fields``
(compact: a 500k-row plan is held and pickled); read one by name with ``plan.value``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from store.importing.modes import MODE_CREATE_UPDATE, ImportMode

ProgressCallback = Callable[[str, int], None]


def no_progress(_stage: str, _advance: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    value: str
    reason: str


_FIELD_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _field_getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    if cls not in _FIELD_GETTERS:
        _FIELD_GETTERS[cls] = attrgetter(*(item.name for item in fields(cls)))
    return _FIELD_GETTERS[cls]


@dataclass(slots=True)
class PlannedProduct:
    """A valid row, with the values to write: ``values[i]`` is column ``ImportPlan.fields[i]``.

    Columns stored on the product row hold the complete product (a create's, or an
    update's current values merged with the file's); other columns hold ``None`` to
    leave the product's value as it is.
    """

    row: int
    sku: str
    values: tuple[Any, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        # Previews are pickled; positional tuples pickle ~3x faster than slotted state.
        return self.__class__, _field_getter(self.__class__)(self)


@dataclass(slots=True)
class NewProduct(PlannedProduct):
    """A row whose SKU is not in the catalog."""

    #: standalone, parent or variant (``Product.Structure``); "" in a file without variant columns
    structure: str = ""


@dataclass(slots=True)
class ProductUpdate(PlannedProduct):
    """A row that changes an existing product: its fields merged into the current values."""

    product_id: int = 0
    version: int = 0  # as read when planning; the UPDATE is conditional on it
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (old, new), for the preview
    #: the product's structure after the update ("" in a file without variant columns: as it is)
    structure: str = ""


#: a planned row: a create or an update
Planned = NewProduct | ProductUpdate


@dataclass
class ImportPlan:
    file_name: str
    preset: str
    header: list[str]
    columns: list[str]
    rows_total: int = 0
    creates: list[NewProduct] = field(default_factory=list)
    updates: list[ProductUpdate] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_collections: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # original cells of every row with an error, for the failed-rows file
    failed_cells: dict[int, list[str] | None] = field(default_factory=dict)
    #: the column names of each planned product's ``values``, in order
    fields: tuple[str, ...] = ()
    #: the saved ImportProfile that mapped the file (mapping.py), if any
    profile_id: int | None = None
    profile_name: str = ""
    #: the import mode the plan was made with (modes.py)
    mode: str = MODE_CREATE_UPDATE
    keep_blank: bool = False
    mode_source: str = ""
    #: the file has variant columns (product, options): the writing sets each row's structure
    variants: bool = False

    @property
    def mode_text(self) -> str:
        """ "Mode: …; …": what the preview and the command line say about the mode."""
        mode = ImportMode(mode=self.mode, keep_blank=self.keep_blank, source=self.mode_source)
        return mode.describe(profile_name=self.profile_name)

    @property
    def error_rows(self) -> int:
        return len({error.row for error in self.errors})

    def add_error(self, row: int, column: str, value: str, reason: str, cells: list[str] | None = None) -> None:
        """Record an error; without ``cells`` the row's cells are read again from the file at the end."""
        self.errors.append(RowError(row, column, value, reason))
        if self.failed_cells.get(row) is None:
            self.failed_cells[row] = cells

    def planned(self) -> list[Planned]:
        """The creates, then the updates."""
        return [*self.creates, *self.updates]

    def position(self, name: str) -> int:
        """The index of column ``name`` in the planned products' ``values``."""
        return self.fields.index(name)

    def value(self, product: PlannedProduct, name: str) -> Any:
        """A planned product's value of column ``name``."""
        return product.values[self.fields.index(name)]

    def values_of(self, product: PlannedProduct) -> dict[str, Any]:
        """A planned product's values by column name (the preview; not for hot loops)."""
        return dict(zip(self.fields, product.values, strict=True))
