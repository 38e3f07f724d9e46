"""Import modes: what an import does with the SKUs it knows and with blank cells.

- **create and update** (the default): a new SKU creates a product, a known one updates it;
- **update only**: a SKU not in the catalog is a row error (a stock or price feed never creates);
- **create only**: a known SKU is skipped, and listed with the reason;
- **a blank cell keeps the current value** (with any of the three): by default a blank
  description, tags or promotions cell clears it; with ``keep_blank`` every blank cell of an
  existing product leaves its value as it is.

Chosen on the upload form, on the command line (``--mode``, ``--keep-blank``) or saved in an
import profile; an explicit choice wins over the profile's. The plan records the mode it was
made with, and the preview states it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from store.models import ImportProfile

# The values and their labels are the ImportProfile field's (a profile saves a mode).
MODE_CREATE_UPDATE = ImportProfile.MODE_CREATE_UPDATE
MODE_UPDATE_ONLY = ImportProfile.MODE_UPDATE_ONLY
MODE_CREATE_ONLY = ImportProfile.MODE_CREATE_ONLY
MODE_CHOICES = ImportProfile.MODE_CHOICES
MODE_NAMES = {
    MODE_CREATE_UPDATE: "create and update",
    MODE_UPDATE_ONLY: "update only (a SKU not in the catalog is an error)",
    MODE_CREATE_ONLY: "create only (SKUs already in the catalog are skipped)",
}
#: the command line's spelling of each mode
MODE_FLAGS = {mode.replace("_", "-"): mode for mode in MODE_NAMES}

BLANK_KEEPS = "a blank cell keeps the product's current value"
BLANK_CLEARS = "a blank description, tags or promotions cell clears it"

ERROR_UNKNOWN_MODE = "Unknown import mode {mode!r}: use one of {modes}."
ERROR_NOT_IN_CATALOG = "not in the catalog: an update-only import creates no products"
SKIP_IN_CATALOG = "already in the catalog: a create-only import leaves existing products as they are"

SOURCE_DEFAULT = ""
SOURCE_CHOSEN = "chosen"
SOURCE_PROFILE = "profile"


@dataclass(frozen=True)
class ImportMode:
    mode: str = MODE_CREATE_UPDATE
    keep_blank: bool = False
    #: where it came from: the default, an explicit choice, or the profile that mapped the file
    source: str = SOURCE_DEFAULT

    def describe(self, *, profile_name: str = "") -> str:
        """What the preview and the command line say, e.g. "Mode: update only (…); a blank cell keeps …"."""
        text = f"Mode: {MODE_NAMES[self.mode]}; {BLANK_KEEPS if self.keep_blank else BLANK_CLEARS}"
        if self.source == SOURCE_PROFILE and profile_name:
            text += f" (from the profile «{profile_name}»)"
        return text + "."


@dataclass(frozen=True)
class ModeChoice:
    """The import mode as chosen on the upload form or the command line; None where nothing was
    chosen (the profile's, else the default, then applies)."""

    mode: str | None = None
    keep_blank: bool | None = None


NO_CHOICE = ModeChoice()


def check_mode(mode: str) -> str:
    if mode not in MODE_NAMES:
        raise ValidationError(ERROR_UNKNOWN_MODE.format(mode=mode, modes=", ".join(MODE_NAMES)), code="mode")
    return mode


def import_mode_resolve(
    choice: ModeChoice, *, profile_mode: str | None = None, profile_keep_blank: bool | None = None
) -> ImportMode:
    """The mode of one import: each explicit choice (not None, not "") wins over the profile's, then the default."""
    mode, keep_blank = choice.mode, choice.keep_blank
    chosen = bool(mode) or keep_blank is not None
    from_profile = bool(profile_mode) or profile_keep_blank is not None
    resolved_mode = check_mode(mode or profile_mode or MODE_CREATE_UPDATE)
    resolved_blank = keep_blank if keep_blank is not None else bool(profile_keep_blank)
    source = SOURCE_CHOSEN if chosen else SOURCE_PROFILE if from_profile else SOURCE_DEFAULT
    return ImportMode(mode=resolved_mode, keep_blank=resolved_blank, source=source)


def mode_options(choice: ModeChoice) -> dict[str, Any]:
    """The explicit choices as an ImportJob's options record them (a background step reads them back)."""
    return {"mode": check_mode(choice.mode) if choice.mode else "", "keep_blank": choice.keep_blank}


def mode_from_options(options: Mapping[str, Any]) -> ModeChoice:
    """The mode chosen for a job, from its options."""
    keep_blank = options.get("keep_blank")
    return ModeChoice(options.get("mode") or None, None if keep_blank is None else bool(keep_blank))
