"""Map any supplier file onto the product columns: a mapping chosen once, reusable as a profile.

A file whose header matches no preset (native, WooCommerce, Shopify) is read through a
``ColumnMapping``: for each file column, the product column it feeds (or nothing), plus the
file's conventions (decimal mark, thousands separator, collection path separator).

    mapping = ColumnMapping(header=("Supplier Code", "Price"), targets=("sku", "unit_price"), decimal=",")
    preset = apply_mapping(parsed, mapping)  # a Preset of MappedRows with native names

Prices and inventory are never rewritten here: the ``NumberConvention`` travels on the Preset
to planning, whose ``parse_price``/``parse_inventory`` refuse what is ambiguous. A mapping saved
as an ``ImportProfile`` is found again by the signature of the file's normalised header.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from store.fileformat.cells import POINT, NumberConvention
from store.fileformat.columns import product_columns
from store.importing.modes import MODE_CREATE_UPDATE, check_mode
from store.importing.parsing import ParsedFile
from store.importing.presets import PRESET_AUTO, MappedRow, Preset, cells_error, detect_preset, map_rows
from store.models import ImportProfile

PRESET_MAPPED = "mapped"
# Whoever supervises imports (store.importing.service.MANAGE_OTHERS_PERMISSION) also changes anyone's profiles.
PROFILE_MANAGE_PERMISSION = "store.manage_others_imports"
IGNORE = ""
SAMPLE_ROWS = 3
DECIMAL_MARKS = (".", ",")
THOUSANDS_SEPARATORS = (",", ".", " ", "")
# What a collection path becomes: the form the WooCommerce preset produces ("Home > Kitchen").
COLLECTION_PATH_JOIN = " > "


ERROR_DUPLICATE_TARGET = "{target} is chosen for more than one file column ({columns}): choose it once."
ERROR_NO_SKU = "No file column is mapped to sku: products are matched on SKU, so choose the column that holds it."
ERROR_UNKNOWN_TARGET = "Unknown product column {target!r} for file column {column!r}; the product columns are: {known}."
ERROR_UNKNOWN_COLUMN = "The file has no column {column!r}; its columns are: {found}."
ERROR_AMBIGUOUS_COLUMN = "The file has more than one column named {column!r}: it cannot be mapped by name."
ERROR_DECIMAL = "Unknown decimal mark {mark!r}: use '.' or ','."
ERROR_THOUSANDS = "Unknown thousands separator {mark!r}: use ',', '.', a space or none."
ERROR_SAME_MARKS = "The decimal mark and the thousands separator must differ."
ERROR_SEPARATOR = "The collection path separator must be 1 to 5 characters, not letters, digits or spaces only."
ERROR_HEADER_CHANGED = "This mapping was made for the columns {expected}; the file has {found}."
ERROR_MAP_SYNTAX = "Each --map entry is FILE COLUMN=product column; {entry!r} has no '='."
ERROR_MAP_REPEATED = "The file column {column!r} is given more than once in --map (first as {first!r}): give it once."
ERROR_PROFILE_MISSING = "No import profile named {name!r}. Saved profiles: {names}."
ERROR_PROFILE_COLUMN = (
    "Profile {name!r} maps the column {column!r}, which this file does not have; its columns: {found}."
)
ERROR_PROFILE_NAME_TAKEN = "A profile named {name!r} already exists: choose another name."
ERROR_PROFILE_HEADER_TAKEN = "The profile {name!r} is already saved for this header: edit that one."
ERROR_PROFILE_NAME = "Give the profile a name."
ERROR_PROFILE_NOT_YOURS = (
    "Only the owner of the profile {name!r} ({owner}) or a manager can change it: it maps their files."
)
ERROR_PROFILE_SAME_NAMES = (
    "The file has more than one column named {column!r} (case and punctuation aside): a profile, which maps "
    "columns by name, cannot tell them apart. Map this file without saving a profile, or rename a column."
)
ERROR_TOO_MANY_COLUMNS = (
    "The file has {count:,} columns; the mapping page maps at most {limit:,}, one choice each. Delete the columns "
    "you do not import and upload the file again, or import it on the command line with --map."
)
NOTE_PROFILE = "Mapped with profile «{name}»."
NOTE_MAPPED = "Columns mapped: {pairs}."

_PUNCTUATION_RE = re.compile(r"[\W_]+")


def target_columns() -> list[str]:
    """The product columns a file column can feed: every column of the table (columns.py)."""
    return [column.name for column in product_columns()]


def normalise_column(name: str) -> str:
    """ "Unit_Price", " unit-price ", "UNIT PRICE" -> "unit price"."""
    return _PUNCTUATION_RE.sub(" ", name.replace("\ufeff", "").casefold()).strip()


def header_signature(header: Sequence[str]) -> str:
    """The key a profile is found by: the normalised column names, in order."""
    return hashlib.sha256("\x1f".join(normalise_column(name) for name in header).encode("utf-8")).hexdigest()


def compact_column(name: str) -> str:
    """A column name without case, spaces or punctuation: "Supplier Code", "supplier_code" and
    "SUPPLIERCODE" are one ("suppliercode"). How guesses and ``--map`` compare names."""
    return normalise_column(name).replace(" ", "")


def _synonym_index(targets: Sequence[str], *, fallback: bool = False) -> dict[str, str]:
    """Compacted name -> product column: each column's own name and synonyms (or its fallback synonyms)."""
    index: dict[str, str] = {}
    if not fallback:
        # A supplier's "Product" column is the product's name, not the native format's variant
        # column ``product`` (a parent's SKU), which a mapping picks by choice only.
        if "title" in targets:
            index[compact_column("product")] = "title"
        for target in targets:
            index.setdefault(compact_column(target), target)
    for column in product_columns():  # the names suppliers give each column (columns.py)
        if column.name in targets:
            for name in column.fallback_synonyms if fallback else column.synonyms:
                index.setdefault(compact_column(name), column.name)
    return index


def guess_mapping(header: Sequence[str]) -> list[str]:
    """A product column (or IGNORE) for each file column; each product column is guessed once.

    Names are compared without case, spaces or punctuation ("Article No." is "article no").
    The first file column with a column's name or synonym gets it; a fallback synonym (EAN for
    the SKU) is used only when no file column has one.
    """
    targets = target_columns()
    guesses: list[str] = [IGNORE] * len(header)
    used: set[str] = set()
    # A column's own name that is another column's fallback ("Barcode", "EAN": the barcode, and
    # the SKU when the file has no code) is guessed after the fallbacks.
    fallbacks = set(_synonym_index(targets, fallback=True))
    primary = _synonym_index(targets)
    first = {name: target for name, target in primary.items() if name not in fallbacks}
    last = {name: target for name, target in primary.items() if name in fallbacks}
    for index in (first, _synonym_index(targets, fallback=True), last):
        for position, name in enumerate(header):
            target = index.get(compact_column(name), IGNORE)
            if target and target not in used and not guesses[position]:
                guesses[position] = target
                used.add(target)
    return guesses


# A price written with a decimal comma: "12,50", "1.299,00", "1 299,00" (thousands: a point or a space).
_DECIMAL_COMMA_RE = re.compile(r"^\d{1,3}(?:([. \u00a0])\d{3})*,\d{1,2}$|^\d+,\d{1,2}$")
# A price written with a decimal point: "12.50", "1,299.00".
_DECIMAL_POINT_RE = re.compile(r"^\d{1,3}(?:([, \u00a0])\d{3})*\.\d{1,2}$|^\d+\.\d{1,2}$")


def guess_convention(targets: Sequence[str], samples: Sequence[Sequence[str]]) -> tuple[str, str]:
    """(decimal mark, thousands separator) as the sample prices write them (the file columns guessed
    as ``unit_price``): "12,50" or "1.299,00" -> (",", "."); "1 299,00" -> (",", " "). The default
    (".", ",") when the samples show no decimal comma, or disagree."""
    positions = [position for position, target in enumerate(targets) if target == "unit_price"]
    values = [row[position].strip() for row in samples for position in positions if position < len(row)]
    comma = [_DECIMAL_COMMA_RE.match(value) for value in values]
    point = [_DECIMAL_POINT_RE.match(value) for value in values]
    if not any(comma) or any(point):
        return ".", ","
    separators = {match.group(1) for match in comma if match and match.group(1)}
    if len(separators) > 1:
        return ".", ","
    separator = separators.pop() if separators else "."
    return ",", " " if separator.isspace() else separator


def check_header_width(header: Sequence[str]) -> None:
    """Refuse a header too wide to map column by column (``IMPORT_MAX_MAPPING_COLUMNS``): its
    page would render a choice per column (60,001 columns: 48 MB of HTML, 79 s, 602 MB)."""
    limit = settings.IMPORT_MAX_MAPPING_COLUMNS
    if len(header) > limit:
        raise ValidationError(ERROR_TOO_MANY_COLUMNS.format(count=len(header), limit=limit), code="too_many_columns")


def collection_path(text: str, separator: str) -> str:
    """ "Home/Kitchen" with separator "/" -> "Home > Kitchen"; empty levels are dropped."""
    if not separator or separator not in text:
        return text
    return COLLECTION_PATH_JOIN.join(part.strip() for part in text.split(separator) if part.strip())


@dataclass(frozen=True)
class ColumnMapping:
    """Which product column each file column feeds (by position), and the file's conventions."""

    #: the file's column names, as written
    header: tuple[str, ...]
    #: one product column (or IGNORE) per file column
    targets: tuple[str, ...]
    decimal: str = "."
    thousands: str = ","
    collection_separator: str = ""
    profile_id: int | None = None
    profile_name: str = ""
    #: the import mode saved in the profile (modes.py; "" and None: none saved); an explicit choice wins
    mode: str = ""
    keep_blank: bool | None = None

    @property
    def convention(self) -> NumberConvention:
        convention = NumberConvention(decimal=self.decimal, thousands=self.thousands)
        return POINT if convention == POINT else convention

    def pairs(self) -> list[tuple[str, str]]:
        """(file column, product column) of the mapped columns, in file order."""
        return [(name, target) for name, target in zip(self.header, self.targets, strict=False) if target]

    def errors(self) -> list[str]:
        """What makes this mapping unusable; an empty list when it is fine."""
        found: list[str] = []
        known = target_columns()
        if len(self.targets) != len(self.header):
            found.append(ERROR_HEADER_CHANGED.format(expected=len(self.targets), found=len(self.header)))
        by_target: dict[str, list[str]] = {}
        for name, target in self.pairs():
            if target not in known:
                found.append(ERROR_UNKNOWN_TARGET.format(target=target, column=name, known=", ".join(known)))
            by_target.setdefault(target, []).append(name)
        for target, names in by_target.items():
            if len(names) > 1:
                found.append(ERROR_DUPLICATE_TARGET.format(target=target, columns=", ".join(names)))
        if "sku" not in by_target:
            found.append(ERROR_NO_SKU)
        found += convention_errors(
            decimal=self.decimal, thousands=self.thousands, collection_separator=self.collection_separator
        )
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "header": list(self.header),
            "targets": list(self.targets),
            "decimal": self.decimal,
            "thousands": self.thousands,
            "collection_separator": self.collection_separator,
            "profile_id": self.profile_id,
            "profile_name": self.profile_name,
            "mode": self.mode,
            "keep_blank": self.keep_blank,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnMapping:
        return cls(
            header=tuple(str(name) for name in data["header"]),
            targets=tuple(str(target) for target in data["targets"]),
            decimal=str(data.get("decimal", ".")),
            thousands=str(data.get("thousands", ",")),
            collection_separator=str(data.get("collection_separator", "")),
            profile_id=data.get("profile_id"),
            profile_name=str(data.get("profile_name", "")),
            mode=str(data.get("mode") or ""),
            keep_blank=data.get("keep_blank"),
        )


def convention_errors(*, decimal: str, thousands: str, collection_separator: str) -> list[str]:
    found: list[str] = []
    if decimal not in DECIMAL_MARKS:
        found.append(ERROR_DECIMAL.format(mark=decimal))
    if thousands not in THOUSANDS_SEPARATORS:
        found.append(ERROR_THOUSANDS.format(mark=thousands))
    if decimal == thousands:
        found.append(ERROR_SAME_MARKS)
    if collection_separator and (len(collection_separator) > 5 or collection_separator.strip().isalnum()):
        found.append(ERROR_SEPARATOR)
    return found


def check_mapping(mapping: ColumnMapping) -> None:
    errors = mapping.errors()
    if errors:
        raise ValidationError(errors, code="mapping")


# --- Applying a mapping ----------------------------------------------------------------
def apply_mapping(parsed: ParsedFile, mapping: ColumnMapping) -> Preset:
    """The file's rows with native names, ready for ``build_plan``; conventions ride on the Preset."""
    found = [normalise_column(name) for name in parsed.header]
    if found != [normalise_column(name) for name in mapping.header]:
        raise ValidationError(
            ERROR_HEADER_CHANGED.format(expected=", ".join(mapping.header), found=", ".join(parsed.header)),
            code="header_changed",
        )
    check_mapping(mapping)
    positions = {target: position for position, target in enumerate(mapping.targets) if target}
    separator = mapping.collection_separator
    width = len(parsed.header)

    def rows() -> Iterator[MappedRow]:
        for number, cells in parsed.rows:
            values = {target: (cells[pos] if pos < len(cells) else "") for target, pos in positions.items()}
            if separator and "collection" in values:
                values["collection"] = collection_path(values["collection"], separator)
            yield MappedRow(row=number, values=values, cells=cells, errors=cells_error(number, cells, width))

    ignored = [name for name, target in zip(parsed.header, mapping.targets, strict=True) if not target and name.strip()]
    return Preset(
        PRESET_MAPPED,
        {target: parsed.header[pos] for target, pos in positions.items()},
        rows(),
        ignored,
        source=parsed.rows,
        convention=mapping.convention,
        profile_id=mapping.profile_id,
        profile_name=mapping.profile_name,
        profile_mode=mapping.mode,
        profile_keep_blank=mapping.keep_blank,
    )


def mapped_rows(parsed: ParsedFile, *, preset: str = PRESET_AUTO, mapping: ColumnMapping | None = None) -> Preset:
    """``presets.map_rows``, plus mapped files: an explicit mapping, or the saved profile of this header."""
    if mapping is None and preset == PRESET_AUTO and detect_preset(parsed.header) is None:
        profile = profile_for_header(parsed.header)
        if profile is not None:
            mapping = mapping_from_profile(profile, parsed.header)
    elif mapping is not None and mapping.profile_id is not None and not profile_exists(mapping.profile_id):
        mapping = replace(mapping, profile_id=None)  # deleted since the mapping step: the job cannot point at it
    if mapping is not None:
        return apply_mapping(parsed, mapping)
    return map_rows(parsed, preset=preset)


def mapping_note(preset: Preset) -> str:
    """What the preview and the CLI say about how a mapped file was read (its profile is shown apart)."""
    return NOTE_MAPPED.format(pairs=", ".join(f"{name} → {target}" for target, name in preset.source_columns.items()))


# --- Profiles ----------------------------------------------------------------------------
def profile_for_header(header: Sequence[str]) -> ImportProfile | None:
    """The saved profile made for exactly this header (names compared normalised), if any."""
    return ImportProfile.objects.filter(header_signature=header_signature(header)).first()


def profile_exists(profile_id: int) -> bool:
    return ImportProfile.objects.filter(pk=profile_id).exists()


def profile_get(*, name: str) -> ImportProfile:
    profile = ImportProfile.objects.filter(name=name).first()
    if profile is None:
        names = ", ".join(ImportProfile.objects.values_list("name", flat=True)[:50]) or "(none)"
        raise ValidationError(ERROR_PROFILE_MISSING.format(name=name, names=names), code="profile_missing")
    return profile


def mapping_from_profile(profile: ImportProfile, header: Sequence[str]) -> ColumnMapping:
    """The profile's mapping applied by column name to ``header`` (a file made for it, or one whose
    columns include every column the profile maps)."""
    names = [normalise_column(name) for name in header]
    saved: dict[str, str] = {str(key): str(value) for key, value in dict(profile.mapping).items()}
    missing = [column for column in saved if column not in names]
    if missing:
        raise ValidationError(
            ERROR_PROFILE_COLUMN.format(name=profile.name, column=missing[0], found=", ".join(header)),
            code="profile_column",
        )
    return ColumnMapping(
        header=tuple(header),
        targets=tuple(saved.get(name, IGNORE) for name in names),
        decimal=profile.decimal_mark,
        thousands=profile.thousands_separator,
        collection_separator=profile.collection_separator,
        profile_id=profile.pk,
        profile_name=profile.name,
        mode=profile.mode,
        keep_blank=profile.keep_blank,
    )


def profile_mapping_json(mapping: ColumnMapping) -> dict[str, str]:
    """A profile's ``mapping``: normalised file column -> product column, mapped columns only."""
    return {normalise_column(name): target for name, target in mapping.pairs()}


def import_profile_can_change(*, user: Any, profile: ImportProfile) -> bool:
    """Whether ``user`` may change or delete ``profile``: its owner (who saved it) or a manager
    (``PROFILE_MANAGE_PERMISSION``: superusers, whoever supervises imports). A profile maps its
    owner's next files without asking, so another Importer's edit would silently change what
    their imports write."""
    if user.has_perm(PROFILE_MANAGE_PERMISSION):
        return True
    return profile.created_by_id is not None and profile.created_by_id == user.pk


def _check_can_change(*, user: Any, profile: ImportProfile) -> None:
    if not import_profile_can_change(user=user, profile=profile):
        owner = profile.created_by.get_username() if profile.created_by else "no owner"
        raise PermissionDenied(ERROR_PROFILE_NOT_YOURS.format(name=profile.name, owner=owner))


@transaction.atomic
def import_profile_save(
    *,
    name: str,
    mapping: ColumnMapping,
    user: Any = None,
    profile: ImportProfile | None = None,
    mode: str = MODE_CREATE_UPDATE,
    keep_blank: bool = False,
) -> ImportProfile:
    """Create a profile from a mapping and an import mode (or rewrite ``profile``); refuses clashing
    names and headers.

    ``user`` becomes a new profile's owner and the author of its history entry; rewriting a
    profile needs ``import_profile_can_change`` (``user=None``: code acting on its own).
    """
    if profile is not None and profile.pk is not None and user is not None:
        _check_can_change(user=user, profile=profile)
    name = name.strip()
    check_mode(mode)
    if not name:
        raise ValidationError({"name": ERROR_PROFILE_NAME})
    check_mapping(mapping)
    names = [normalise_column(column) for column in mapping.header]
    mapped = {normalise_column(column) for column, _target in mapping.pairs()}
    repeated = [column for column in mapped if names.count(column) > 1]
    if repeated:
        raise ValidationError({"name": ERROR_PROFILE_SAME_NAMES.format(column=repeated[0])})
    signature = header_signature(mapping.header)
    clash = ImportProfile.objects.all()
    if profile is not None and profile.pk is not None:
        clash = clash.exclude(pk=profile.pk)
    if clash.filter(name=name).exists():
        raise ValidationError({"name": ERROR_PROFILE_NAME_TAKEN.format(name=name)})
    same_header = clash.filter(header_signature=signature).first()
    if same_header is not None:
        raise ValidationError({"name": ERROR_PROFILE_HEADER_TAKEN.format(name=same_header.name)})
    profile = profile or ImportProfile(created_by=user if getattr(user, "pk", None) else None)
    profile.name = name
    profile.header = names
    profile.header_signature = signature
    profile.mapping = profile_mapping_json(mapping)
    profile.decimal_mark = mapping.decimal
    profile.thousands_separator = mapping.thousands
    profile.collection_separator = mapping.collection_separator
    profile.mode, profile.keep_blank = mode, keep_blank
    profile._history_user = user if getattr(user, "pk", None) else None
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError:  # a concurrent save of the same name or header
        raise ValidationError({"name": ERROR_PROFILE_NAME_TAKEN.format(name=name)}) from None
    return profile


def import_profile_delete(*, profile: ImportProfile, user: Any) -> None:
    """Delete ``profile`` (its owner or a manager); the history keeps who did it."""
    _check_can_change(user=user, profile=profile)
    profile._history_user = user
    profile.delete()


# --- The CLI's --map -----------------------------------------------------------------------
def parse_map_option(spec: str, header: Sequence[str]) -> list[str]:
    """ "Supplier Code=sku,Name=title" -> one product column per file column (IGNORE elsewhere).

    File columns are matched ignoring case, spaces and punctuation ("suppliercode" and
    "supplier_code" find "Supplier Code"), and each may be given once; product columns likewise
    ("Unit Price" is unit_price) and are checked against ``target_columns()``. Every problem is
    reported at once.
    """
    names = [compact_column(name) for name in header]
    known = target_columns()
    known_by_name = {compact_column(name): name for name in known}
    targets = [IGNORE] * len(header)
    errors: list[str] = []
    given: dict[str, str] = {}  # compacted file column -> as first written
    for entry in (part for part in spec.split(",") if part.strip()):
        column, equals, target = entry.partition("=")
        if not equals:
            errors.append(ERROR_MAP_SYNTAX.format(entry=entry.strip()))
            continue
        column, target = column.strip(), target.strip()
        target = "ignore" if target.casefold() == "ignore" else known_by_name.get(compact_column(target), target)
        if compact_column(column) in given:  # the later entry would silently win
            errors.append(ERROR_MAP_REPEATED.format(column=column, first=given[compact_column(column)]))
            continue
        given[compact_column(column)] = column
        matches = [position for position, name in enumerate(names) if name == compact_column(column)]
        if not matches:
            errors.append(ERROR_UNKNOWN_COLUMN.format(column=column, found=", ".join(header)))
        elif len(matches) > 1:
            errors.append(ERROR_AMBIGUOUS_COLUMN.format(column=column))
        if target and target != "ignore" and target not in known:
            errors.append(ERROR_UNKNOWN_TARGET.format(target=target, column=column, known=", ".join(known)))
        elif len(matches) == 1:
            targets[matches[0]] = IGNORE if target == "ignore" else target
    if errors:
        raise ValidationError(errors, code="map")
    return targets


def first_rows(rows: Sequence[Sequence[str]], width: int, limit: int = SAMPLE_ROWS) -> list[list[str]]:
    """Each file column's first values, for showing beside its choice (column-major, cut short)."""
    columns: list[list[str]] = [[] for _ in range(width)]
    for cells in islice(rows, limit):
        for position in range(width):
            value = cells[position] if position < len(cells) else ""
            columns[position].append(value[:60])
    return columns
