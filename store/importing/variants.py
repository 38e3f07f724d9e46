"""Products with variants in an import file (docs/guide/imports.md, "Products with variants").

A **variant row** names its product in ``product`` (the product's SKU) and gives its option values
(``option1``..``option3``); a **product row with variants** (a parent) gives its option names
(``option1_name``..``option3_name``) or is named by variant rows. Planning (``planning.py``) asks
``VariantRules`` what each row is and whether its cells fit it, row by row and without queries;
``plan_variants`` then checks, over the whole plan at once (a few set-based queries), what needs
every row: that each variant's product exists (in the file, in any order, or in the catalog),
that its option values match its product's options, that no two variants of a product share
their values, that a product that gets variants was never sold, and that a variant's image is one
of its product's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from store.fileformat.cells import fold
from store.fileformat.columns import BOTH, SHARED, VARIANT, ProductColumn, images_column
from store.importing.plan import ImportPlan, Planned, ProductUpdate
from store.models import MIN_UNIT_PRICE, OPTION_COUNT, OrderItem, Product
from store.sql import select_in
from store.variants.services import ERROR_OPTIONS_RENAMED, ERROR_OPTIONS_SOLD

STANDALONE, PARENT = Product.Structure.STANDALONE.value, Product.Structure.PARENT.value
VARIANT_ROW = Product.Structure.VARIANT.value
#: the columns that make a file one with products with variants
STRUCTURE_COLUMNS = (
    "product",
    *(f"option{n}_name" for n in range(1, OPTION_COUNT + 1)),
    *(f"option{n}" for n in range(1, OPTION_COUNT + 1)),
    "variant_image",
)

ERROR_SHARED_ON_VARIANT = "a variant takes this from its product: leave it blank on a variant row"
ERROR_UNIT_ON_PARENT = (
    "a product with variants is not sold itself (its variants have their price, stock and codes): "
    "leave it blank on its row"
)
ERROR_VARIANT_ONLY = "only a variant row has this: name the variant's product in the product column"
ERROR_NOT_A_VARIANT = "SKU {sku!r} is a product in the catalog, not a variant: it cannot become a variant of another"
ERROR_VARIANT_MOVED = "this variant belongs to {parent!r}: a variant cannot move to another product"
ERROR_VARIANT_OF_VARIANT = "this row is a variant (its product is {parent!r}): variant rows name it as their product"
ERROR_PARENT_NO_OPTIONS = (
    "a product with variants needs its option names (option1_name, option2_name, option3_name): "
    "its variant rows name it"
)
ERROR_PARENT_UNKNOWN = "no product with SKU {sku!r} in the file or in the catalog"
ERROR_PARENT_IS_VARIANT = "SKU {sku!r} is a variant: a variant's product is a product with variants"
ERROR_PARENT_STANDALONE = (
    "product {sku!r} has no options: give its row in the file with its option names (option1_name…) "
    "to make it a product with variants"
)
ERROR_PARENT_FAILED = "its product {sku!r} (row {row}) is not imported: see that row's errors"
ERROR_OPTION_VALUES = "its product {sku!r} has {count} option(s) ({names}): give one value for each, and none beyond"
ERROR_OPTION_NAMES_GAP = "option names fill option1_name, option2_name, option3_name in order, without a gap"
ERROR_COMBINATION_TAKEN = "{label} is already the variant {sku!r} of product {parent!r}"
ERROR_VARIANT_IMAGE = "not one of the images of product {sku!r}: give the URL of one of its images, or leave it blank"


def blank(value: Any) -> bool:
    """Whether a parsed cell says nothing (absent, blank text, no promotions, no images)."""
    return value is None or value == "" or value == ()


class VariantRules:
    """What each row of one plan is (standalone, product with variants, variant) and whether its cells fit."""

    def __init__(self, *, fields: tuple[str, ...], columns: Iterable[ProductColumn], source: Mapping[str, str]) -> None:
        position = {name: index for index, name in enumerate(fields)}
        self.position = position
        #: the file has variant columns
        self.in_file = any(name in source for name in STRUCTURE_COLUMNS)
        self.source = source
        self.product_at = position["product"]
        self.names_at = [position[f"option{n}_name"] for n in range(1, OPTION_COUNT + 1)]
        self.values_at = [position[f"option{n}"] for n in range(1, OPTION_COUNT + 1)]
        self.title_at, self.slug_at = position["title"], position["slug"]
        self.collection_at, self.status_at = position["collection"], position["status"]
        self.price_at, self.inventory_at = position["unit_price"], position["inventory"]
        self.track_at, self.image_at, self.images_at = (
            position["track_inventory"],
            position["variant_image"],
            position["images"],
        )
        columns = [column for column in columns if column.name in position]
        #: (position, column name) of the columns a variant row leaves blank, and a parent row
        self.shared = [(position[c.name], c.name) for c in columns if c.holder == SHARED]
        self.unit = [(position[c.name], c.name) for c in columns if c.holder not in (SHARED, BOTH)]
        self.variant_only = [(position[c.name], c.name) for c in columns if c.holder == VARIANT]

    def named(self, rows: Iterable[Any]) -> set[str]:
        """The folded SKUs variant rows name as their product."""
        at = self.product_at
        return {fold(row.values[at]) for row in rows if row.values[at]}

    def classify(
        self, values: tuple[Any, ...], sku: str, current: Any, parent_sku: str, named: set[str]
    ) -> tuple[str, tuple[Any, ...], list[tuple[str, str, str]]]:
        """(structure, values as planned, errors (column, value, reason)) of one row; ``current`` is the
        catalog's product of its SKU (or None), ``parent_sku`` the SKU of that product's product."""
        errors: list[tuple[str, str, str]] = []
        given = values[self.product_at]
        now = current.structure if current is not None else ""
        if given:
            structure = VARIANT_ROW
            if now and now != VARIANT_ROW:
                errors.append(("product", given, ERROR_NOT_A_VARIANT.format(sku=sku)))
            elif now and fold(given) != fold(parent_sku):
                errors.append(("product", given, ERROR_VARIANT_MOVED.format(parent=parent_sku)))
            if fold(sku) in named:
                errors.append(("sku", sku, ERROR_VARIANT_OF_VARIANT.format(parent=given)))
        elif now == VARIANT_ROW:
            structure = VARIANT_ROW
        elif fold(sku) in named or now == PARENT or any(values[at] for at in self.names_at):
            structure = PARENT
        else:
            structure = STANDALONE
        if structure == VARIANT_ROW:
            wrong = [(at, name, ERROR_SHARED_ON_VARIANT) for at, name in self.shared]
        elif structure == PARENT:
            wrong = [(at, name, ERROR_UNIT_ON_PARENT) for at, name in self.unit]
        else:
            wrong = [(at, name, ERROR_VARIANT_ONLY) for at, name in self.variant_only]
        for at, name, reason in wrong:
            if not blank(values[at]):
                errors.append((self.source.get(name, name), _text(values[at]), reason))
        if structure == PARENT:
            values, names_error = self._parent_names(values, current)
            errors.extend(names_error)
            if current is not None:
                # Its blank unit cells (price, stock, barcode…) are its variants' to hold: they leave
                # what it has as it is (a barcode from before it had variants), never clear it.
                unit = {at for at, _name in self.unit}
                values = tuple(None if index in unit else value for index, value in enumerate(values))
        return structure, values, errors

    def _parent_names(
        self, values: tuple[Any, ...], current: Any
    ) -> tuple[tuple[Any, ...], list[tuple[str, str, str]]]:
        names = [values[at] or "" for at in self.names_at]
        if not any(names):
            if current is None or current.structure != PARENT:
                return values, [("option1_name", "", ERROR_PARENT_NO_OPTIONS)]
            # blank names on a product with variants: its options are kept
            return tuple(None if index in self.names_at else v for index, v in enumerate(values)), []
        filled = [bool(name) for name in names]
        if filled != sorted(filled, reverse=True):
            return values, [("option1_name", " / ".join(names), ERROR_OPTION_NAMES_GAP)]
        if current is not None and current.structure == PARENT:
            old = [getattr(current, f"option{n}_name") or "" for n in range(1, OPTION_COUNT + 1)]
            if [name.casefold() for name in names] != [name.casefold() for name in old]:
                shown = ", ".join(name for name in old if name)
                return values, [
                    ("option1_name", " / ".join(n for n in names if n), ERROR_OPTIONS_RENAMED.format(names=shown))
                ]
        return values, []

    def defaults_for(self, structure: str, defaults: dict[int, Any]) -> dict[int, Any]:
        """The preset's values for a new product's blank cells that this kind of row holds."""
        if structure == VARIANT_ROW:
            skip = {at for at, _name in self.shared}
        elif structure == PARENT:
            skip = {at for at, _name in self.unit}
        else:
            return defaults
        return {at: value for at, value in defaults.items() if at not in skip}

    def shape_create(self, values: tuple[Any, ...], structure: str) -> tuple[Any, ...]:
        """A new row's values as written: a variant's title defaults to its option label and it has no
        slug, collection or status; a parent has no stock (its price is set by ``plan_variants``)."""
        shaped = list(values)
        if structure == VARIANT_ROW:
            if not shaped[self.title_at]:
                shaped[self.title_at] = " / ".join(shaped[at] for at in self.values_at if shaped[at])
            shaped[self.slug_at] = shaped[self.collection_at] = shaped[self.status_at] = None
        elif structure == PARENT:
            shaped[self.inventory_at], shaped[self.track_at] = 0, False
            shaped[self.price_at] = MIN_UNIT_PRICE
        return tuple(shaped)

    def required_skipped(self, structure: str) -> set[int]:
        """Positions of ``required_new`` columns this kind of new row does not need."""
        if structure == VARIANT_ROW:
            return {self.title_at, self.collection_at}
        if structure == PARENT:
            return {self.price_at, self.inventory_at}
        return set()


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return "|".join(map(str, value))[:80]
    return str(value)[:80]


def _label(values: tuple[Any, ...], rules: VariantRules) -> str:
    return " / ".join(values[at] for at in rules.values_at if values[at])


def plan_variants(plan: ImportPlan, rules: VariantRules, *, named_rows: dict[str, int], sku_column: str) -> None:
    """The checks that need the whole plan, set-based; rows that fail leave the plan."""
    failed: set[int] = set()
    _check_conversions(plan, rules, failed)
    variants = [row for row in plan.planned() if row.structure == VARIANT_ROW]
    parents = {fold(row.sku): row for row in plan.planned() if row.structure == PARENT and row.row not in failed}
    if variants:
        wanted = {row.values[rules.product_at] for row in variants if fold(row.values[rules.product_at]) not in parents}
        catalog = {
            found.sku.casefold(): found
            for found in select_in(
                Product,
                ("id", "sku", "structure", *(f"option{n}_name" for n in range(1, OPTION_COUNT + 1))),
                "sku",
                sorted(wanted),
            )
        }
        _check_variants(plan, rules, variants, parents, catalog, named_rows, failed)
    if failed:
        plan.creates = [row for row in plan.creates if row.row not in failed]
        plan.updates = [row for row in plan.updates if row.row not in failed]
    # A new product with variants is listed at its lowest variant's price (it is not sold itself).
    lowest: dict[str, Decimal] = {}
    for row in plan.planned():
        if row.structure == VARIANT_ROW:
            key, price = fold(row.values[rules.product_at]), row.values[rules.price_at]
            if price is not None and (key not in lowest or price < lowest[key]):
                lowest[key] = price
    for create in plan.creates:
        if create.structure == PARENT and fold(create.sku) in lowest:
            values = list(create.values)
            values[rules.price_at] = lowest[fold(create.sku)]
            create.values = tuple(values)


def _check_conversions(plan: ImportPlan, rules: VariantRules, failed: set[int]) -> None:
    """A product without variants that gets options must never have been sold (as the product page)."""
    converting = {row.product_id: row for row in plan.updates if row.structure == PARENT and "structure" in row.changes}
    if not converting:
        return
    sold: dict[int, int] = {}
    for found in select_in(OrderItem, ("product_id", "order_id"), "product_id", sorted(converting)):
        sold.setdefault(found.product_id, found.order_id)
    for product_id, order in sold.items():
        row = converting[product_id]
        names = " / ".join(row.values[at] for at in rules.names_at if row.values[at])
        plan.add_error(
            row.row, rules.source.get("option1_name", "option1_name"), names, ERROR_OPTIONS_SOLD.format(order=order)
        )
        failed.add(row.row)


def _check_variants(
    plan: ImportPlan,
    rules: VariantRules,
    variants: list[Planned],
    parents: dict[str, Planned],
    catalog: dict[str, Any],
    named_rows: dict[str, int],
    failed: set[int],
) -> None:
    product_column = rules.source.get("product", "product")
    options: dict[str, list[str]] = {
        key: [row.values[at] or "" for at in rules.names_at] for key, row in parents.items()
    }
    parent_ids: dict[str, int] = {}
    for key, row in parents.items():
        if isinstance(row, ProductUpdate):
            parent_ids[key] = row.product_id
    ok: list[Planned] = []
    for row in variants:
        parent_sku = row.values[rules.product_at]
        key = fold(parent_sku)
        reason = ""
        if key in parents:  # planned values are complete: an update's are merged with the catalog's
            names = options[key]
        elif named_rows.get(key) in plan.failed_cells or named_rows.get(key) in failed:
            reason = ERROR_PARENT_FAILED.format(sku=parent_sku, row=named_rows[key])
        elif key in catalog:
            found = catalog[key]
            if found.structure == VARIANT_ROW:
                reason = ERROR_PARENT_IS_VARIANT.format(sku=parent_sku)
            elif found.structure == STANDALONE:
                reason = ERROR_PARENT_STANDALONE.format(sku=parent_sku)
            else:
                names = [getattr(found, f"option{n}_name") or "" for n in range(1, OPTION_COUNT + 1)]
                parent_ids[key] = found.id
        else:
            reason = ERROR_PARENT_UNKNOWN.format(sku=parent_sku)
        if reason:
            plan.add_error(row.row, product_column, parent_sku, reason)
            failed.add(row.row)
            continue
        count = sum(1 for name in names if name)
        given = [row.values[at] or "" for at in rules.values_at]
        if [bool(value) for value in given] != [index < count for index in range(OPTION_COUNT)]:
            shown = " / ".join(value for value in given if value)
            plan.add_error(
                row.row,
                rules.source.get("option1", "option1"),
                shown,
                ERROR_OPTION_VALUES.format(sku=parent_sku, count=count, names=", ".join(n for n in names if n)),
            )
            failed.add(row.row)
            continue
        ok.append(row)
    _check_combinations(plan, rules, ok, parent_ids, failed)
    _check_images(plan, rules, ok, parents, parent_ids, failed)


def _check_combinations(
    plan: ImportPlan, rules: VariantRules, variants: list[Planned], parent_ids: dict[str, int], failed: set[int]
) -> None:
    """No two variants of a product with the same option values: the file's and the catalog's others."""
    updated = {row.product_id for row in variants if isinstance(row, ProductUpdate)}
    taken: dict[tuple[str, tuple[str, ...]], str] = {}
    by_id = {pk: key for key, pk in parent_ids.items()}
    for found in select_in(
        Product, ("id", "sku", "parent_id", "option1", "option2", "option3"), "parent_id", sorted(by_id)
    ):
        if found.id not in updated:
            combination = tuple(fold(value or "") for value in (found.option1, found.option2, found.option3))
            taken[(by_id[found.parent_id], combination)] = found.sku
    for row in variants:
        key = fold(row.values[rules.product_at])
        combination = tuple(fold(row.values[at] or "") for at in rules.values_at)
        owner = taken.setdefault((key, combination), row.sku)
        if owner != row.sku:
            plan.add_error(
                row.row,
                rules.source.get("option1", "option1"),
                _label(row.values, rules),
                ERROR_COMBINATION_TAKEN.format(
                    label=_label(row.values, rules), sku=owner, parent=row.values[rules.product_at]
                ),
            )
            failed.add(row.row)


def _check_images(
    plan: ImportPlan,
    rules: VariantRules,
    variants: list[Planned],
    parents: dict[str, Planned],
    parent_ids: dict[str, int],
    failed: set[int],
) -> None:
    """A variant's image is one of its product's: in the product's row, or already the product's."""
    with_image = [row for row in variants if row.values[rules.image_at] and row.row not in failed]
    if not with_image:
        return
    keys = {fold(row.values[rules.product_at]) for row in with_image}
    current = images_column.current([parent_ids[key] for key in keys if key in parent_ids])
    urls: dict[str, set[str]] = {}
    for key in keys:
        found = set(current.get(parent_ids[key], ())) if key in parent_ids else set()
        planned = parents.get(key)
        if planned is not None and planned.values[rules.images_at]:
            found |= set(planned.values[rules.images_at])
        urls[key] = found
    for row in with_image:
        key = fold(row.values[rules.product_at])
        if row.values[rules.image_at] not in urls[key]:
            plan.add_error(
                row.row,
                rules.source.get("variant_image", "variant_image"),
                row.values[rules.image_at][:80],
                ERROR_VARIANT_IMAGE.format(sku=row.values[rules.product_at]),
            )
            failed.add(row.row)
