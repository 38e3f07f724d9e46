"""Bulk edits of products: an action registry, a preview and one apply service.

    report = bulk_edit_preview(action=get_bulk_action("change_price"), products=qs, parameters=p)
    edit = bulk_edit_apply(action=..., products=qs, parameters=p, user=request.user)  # BulkEdit

Each action is a ``BulkAction``: a parameters form, ``evaluate`` (what would happen to a
batch of products: change, unchanged or refused, with old → new) and ``write`` (apply the
changes of one batch). The service does the rest, the same for every action: walks the
selection in pk order, ``BATCH`` products at a time (bounded memory at any size), locks
each batch, claims the rows with ``version = version + 1 WHERE id = … AND version = …``
(an open change form on the product is then refused on save), writes, and records one
history row per changed product ("Bulk edit #N: raise price 5%") and one audit line.
All or nothing: the whole run is one transaction, so one refused product (or a product
someone saved meanwhile) rolls everything back, unless ``skip_refused`` is set.

Selections above ``BULK_INLINE_MAX`` run as a job (``store.bulk_jobs``): a read-only
preflight (``bulk_edit_preview``: every refusal counted, nothing written), then
``bulk_edit_apply_in_batches``, which commits batch by batch and stops at the first batch
holding a product written since the preflight began (or a product refused by then), so
what was written is always "every selected product with id up to X" and the message says so.

Other apps add actions in their ``StoreExtension`` (``store.extensions``; store_custom adds
"Add tags" and "Remove tags"; store never imports tags). "Set status" is a ``SetChoiceAction`` on
``Product.status``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Field, QuerySet
from django.utils import timezone

from . import extensions
from .audit import audit_event
from .jobs import JobCancelled
from .models import MIN_UNIT_PRICE, BulkEdit, Collection, Product, Promotion
from .services import UPDATE_BATCH_SIZE, User, _history_baseline, product_history_insert

logger = logging.getLogger(__name__)

BATCH = UPDATE_BATCH_SIZE
SAMPLE_SIZE = 20
REFUSALS_SHOWN = 100
CENT = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")  # DecimalField(max_digits=10, decimal_places=2)
MAX_INVENTORY = 2_147_483_647

CHANGE, UNCHANGED, REFUSED = "change", "unchanged", "refused"

ERROR_REFUSED = "{count} product(s) would be refused, so nothing was changed."
ERROR_CONFLICT = "{count} product(s) were saved by someone else while the bulk edit ran; nothing was changed."
ERROR_CHANGED_SINCE = (
    "{count} product(s) were changed by someone else since the check before writing (first: {skus}); "
    "this batch was not written."
)
ERROR_REFUSED_SINCE = "{count} product(s) would now be refused (first: {skus}: {reason}); this batch was not written."
STOPPED_WRITTEN = (
    "Stopped after {changed:,} product(s) were changed (the selected products with id up to {last_id}); "
    'the others were not touched. The history rows "Bulk edit #{edit_id}" list every change.'
)
STOPPED_NOTHING = "Stopped before anything was written."
STOPPED_LOST = (
    "Stopped after at least {changed:,} product(s) were changed; the others were not touched. "
    'The history rows "Bulk edit #{edit_id}" list every change.'
)
REFUSED_PRICE_MIN = "the new price {price} is below the minimum price of 1.00"
REFUSED_PRICE_MAX = "the new price {price} is above the maximum price of 99999999.99"
REFUSED_INVENTORY_NEGATIVE = "inventory {old} {delta:+d} would be below 0"
REFUSED_INVENTORY_MAX = "inventory {old} {delta:+d} would be above 2147483647"


def bulk_inline_max() -> int:
    return int(getattr(settings, "BULK_INLINE_MAX", 1000))


# --- Actions ------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What an action does to one product."""

    product: Product
    kind: str  # CHANGE, UNCHANGED or REFUSED
    old: str = ""
    new: str = ""
    reason: str = ""
    # Column values to SET along with the version claim (per-row values computed in Python).
    values: dict[str, Any] = field(default_factory=dict)


class BulkActionForm(forms.Form):
    """Parameters of one action; ``admin_site`` lets fields use the admin's widgets."""

    def __init__(self, *args, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.admin_site = admin_site


class BulkAction:
    """A bulk edit: subclass, set the attributes, implement ``evaluate`` and maybe ``write``."""

    name: str = ""
    label: str = ""  # the action's entry in the admin's action menu
    column: str = ""  # what the old → new sample shows
    form_class: type[BulkActionForm] = BulkActionForm
    #: the admin permission the action needs (besides change permission on products)
    permission: str = "change"
    #: further permissions ("app_label.codename") the user needs, e.g. on another app's rows
    required_perms: tuple[str, ...] = ()

    def parameters(self, cleaned_data: dict[str, Any]) -> dict[str, Any]:
        """JSON-able parameters from the form's cleaned data."""
        return dict(cleaned_data)

    def describe(self, parameters: dict[str, Any]) -> str:
        """Short words for the history and the messages, e.g. "raise price 5%"."""
        return self.label.lower()

    def evaluate(self, products: Sequence[Product], parameters: dict[str, Any]) -> list[Outcome]:
        raise NotImplementedError

    def write(self, changes: Sequence[Outcome], parameters: dict[str, Any]) -> None:
        """Apply the changes of one batch beyond ``Outcome.values`` (m2m rows, SQL deltas)."""


# Store's own actions; other apps' come from their StoreExtension (store.extensions).
_own: dict[str, BulkAction] = {}


def bulk_actions() -> list[BulkAction]:
    return [*_own.values(), *extensions.bulk_actions()]


def get_bulk_action(name: str) -> BulkAction:
    """The action named ``name``; KeyError when there is none."""
    for action in bulk_actions():
        if action.name == name:
            return action
    raise KeyError(name)


# --- Move to collection / set a field ----------------------------------------------


class CollectionForm(BulkActionForm):
    collection = forms.ModelChoiceField(queryset=Collection.objects.all())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.admin_site is not None:
            from django.contrib.admin.widgets import AutocompleteSelect

            field = self.fields["collection"]
            field.widget = AutocompleteSelect(Product._meta.get_field("collection"), self.admin_site)
            field.widget.choices = field.choices


class MoveToCollectionAction(BulkAction):
    name = "move_to_collection"
    label = "Move to collection…"
    column = "collection"
    form_class = CollectionForm

    def parameters(self, cleaned_data):
        return {"collection_id": cleaned_data["collection"].pk}

    def _title(self, parameters) -> str:
        return Collection.objects.filter(pk=parameters["collection_id"]).values_list("title", flat=True).first() or "?"

    def describe(self, parameters):
        return f"move to collection {self._title(parameters)}"

    def evaluate(self, products, parameters):
        target = parameters["collection_id"]
        title = self._title(parameters)
        ids = {product.collection_id for product in products}
        titles = dict(Collection.objects.filter(pk__in=ids).values_list("pk", "title"))
        return [
            Outcome(
                product,
                UNCHANGED if product.collection_id == target else CHANGE,
                old=titles.get(product.collection_id, ""),
                new=title,
                values={"collection_id": target},
            )
            for product in products
        ]


class SetChoiceAction(BulkAction):
    """Set one choice field of Product to the same value everywhere (the "Set status" hook)."""

    def __init__(self, *, name: str, field: str, label: str):
        self.name, self.field, self.label, self.column = name, field, label, field
        # The choices are read when the form is built, from the model field.
        self.form_class = type(
            "SetChoiceForm",
            (BulkActionForm,),
            {
                "value": forms.ChoiceField(label=field.replace("_", " ").capitalize(), choices=lambda: self.choices()),
            },
        )

    def choices(self) -> list[tuple[str, str]]:
        return list(_product_field(self.field).flatchoices)

    def describe(self, parameters):
        return f"set {self.field} to {dict(self.choices()).get(parameters['value'], parameters['value'])}"

    def evaluate(self, products, parameters):
        value = parameters["value"]
        labels = dict(self.choices())
        return [
            Outcome(
                product,
                UNCHANGED if getattr(product, self.field) == value else CHANGE,
                old=labels.get(getattr(product, self.field), ""),
                new=labels.get(value, value),
                values={self.field: value},
            )
            for product in products
        ]


# --- Promotions -----------------------------------------------------------------------


class PromotionForm(BulkActionForm):
    promotion = forms.ModelChoiceField(queryset=Promotion.objects.order_by("description", "pk"))


class PromotionAction(BulkAction):
    column = "promotions"
    form_class = PromotionForm

    def __init__(self, *, add: bool):
        self.add = add
        self.name = "add_promotion" if add else "remove_promotion"
        self.label = "Add promotion…" if add else "Remove promotion…"

    def parameters(self, cleaned_data):
        return {"promotion_id": cleaned_data["promotion"].pk}

    def describe(self, parameters):
        promotion = Promotion.objects.filter(pk=parameters["promotion_id"]).first()
        return f"{'add' if self.add else 'remove'} promotion {promotion}"

    def evaluate(self, products: Sequence[Product], parameters: dict[str, Any]) -> list[Outcome]:
        promotion_id = parameters["promotion_id"]
        through = Product.promotions.through
        current: dict[int, set[int]] = {}
        for product_id, pid in through.objects.filter(product_id__in=[p.pk for p in products]).values_list(
            "product_id", "promotion_id"
        ):
            current.setdefault(product_id, set()).add(pid)
        names = dict(
            Promotion.objects.filter(
                pk__in={pid for pids in current.values() for pid in pids} | {promotion_id}
            ).values_list("pk", "description")
        )
        outcomes = []
        for product in products:
            before = current.get(product.pk, set())
            after = before | {promotion_id} if self.add else before - {promotion_id}
            outcomes.append(
                Outcome(
                    product,
                    UNCHANGED if after == before else CHANGE,
                    old=", ".join(sorted(names[pid] for pid in before)) or "—",
                    new=", ".join(sorted(names[pid] for pid in after)) or "—",
                )
            )
        return outcomes

    def write(self, changes, parameters):
        through = Product.promotions.through
        ids = [change.product.pk for change in changes]
        if self.add:
            through.objects.bulk_create(
                [through(product_id=pk, promotion_id=parameters["promotion_id"]) for pk in ids],
                batch_size=BATCH,
                ignore_conflicts=True,
            )
        else:
            through.objects.filter(product_id__in=ids, promotion_id=parameters["promotion_id"]).delete()


# --- Price ----------------------------------------------------------------------------

PRICE_SET, PRICE_RAISE, PRICE_LOWER, PRICE_RAISE_PCT, PRICE_LOWER_PCT = (
    "set",
    "raise",
    "lower",
    "raise_pct",
    "lower_pct",
)
PRICE_MODES = [
    (PRICE_SET, "Set to the amount"),
    (PRICE_RAISE, "Raise by the amount"),
    (PRICE_LOWER, "Lower by the amount"),
    (PRICE_RAISE_PCT, "Raise by a percentage"),
    (PRICE_LOWER_PCT, "Lower by a percentage"),
]
ENDINGS = [("", "Keep the cents"), ("0.99", "End in .99"), ("0.95", "End in .95")]


class PriceForm(BulkActionForm):
    mode = forms.ChoiceField(choices=PRICE_MODES, initial=PRICE_RAISE_PCT)
    amount = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=10,
        decimal_places=2,
        help_text="An amount in the store's currency, or a percentage (5 = 5%).",
    )
    ending = forms.ChoiceField(
        choices=ENDINGS,
        required=False,
        label="Ending",
        help_text="Replace the cents of each new price, e.g. 12.34 → 12.99.",
    )

    def clean(self):
        data = super().clean()
        if data.get("mode") == PRICE_LOWER_PCT and data.get("amount") is not None and data["amount"] >= 100:
            self.add_error("amount", "A price cannot be lowered by 100% or more.")
        return data


def price_new(*, old: Decimal, mode: str, amount: Decimal, ending: str = "") -> Decimal:
    """The new price: rounded half-up to cents, then the cents replaced by ``ending`` if given."""
    if mode == PRICE_SET:
        new = amount
    elif mode == PRICE_RAISE:
        new = old + amount
    elif mode == PRICE_LOWER:
        new = old - amount
    elif mode == PRICE_RAISE_PCT:
        new = old * (1 + amount / 100)
    elif mode == PRICE_LOWER_PCT:
        new = old * (1 - amount / 100)
    else:
        raise ValueError(f"Unknown price mode {mode!r}")
    new = new.quantize(CENT, rounding=ROUND_HALF_UP)
    if ending and new >= 0:
        new = Decimal(int(new)) + Decimal(ending)
    return new


class ChangePriceAction(BulkAction):
    name = "change_price"
    label = "Change price…"
    column = "price"
    form_class = PriceForm

    def parameters(self, cleaned_data):
        return {
            "mode": cleaned_data["mode"],
            "amount": str(cleaned_data["amount"]),
            "ending": cleaned_data.get("ending") or "",
        }

    def describe(self, parameters):
        amount, mode = Decimal(parameters["amount"]), parameters["mode"]
        words = {
            PRICE_SET: f"set price to {amount}",
            PRICE_RAISE: f"raise price by {amount}",
            PRICE_LOWER: f"lower price by {amount}",
            PRICE_RAISE_PCT: f"raise price {amount.normalize():f}%",
            PRICE_LOWER_PCT: f"lower price {amount.normalize():f}%",
        }[mode]
        if parameters.get("ending"):
            words += f", ending in .{parameters['ending'][-2:]}"
        return words

    def evaluate(self, products, parameters):
        amount = Decimal(parameters["amount"])
        outcomes = []
        for product in products:
            new = price_new(
                old=product.unit_price, mode=parameters["mode"], amount=amount, ending=parameters.get("ending", "")
            )
            outcome = Outcome(product, CHANGE, old=str(product.unit_price), new=str(new), values={"unit_price": new})
            if new < MIN_UNIT_PRICE:
                outcome.kind, outcome.reason = REFUSED, REFUSED_PRICE_MIN.format(price=new)
            elif new > MAX_PRICE:
                outcome.kind, outcome.reason = REFUSED, REFUSED_PRICE_MAX.format(price=new)
            elif new == product.unit_price:
                outcome.kind = UNCHANGED
            outcomes.append(outcome)
        return outcomes


# --- Inventory ------------------------------------------------------------------------


class InventoryForm(BulkActionForm):
    delta = forms.IntegerField(
        label="Change by",
        min_value=-MAX_INVENTORY,
        max_value=MAX_INVENTORY,
        help_text="Units to add (e.g. 24) or, with a minus sign, to remove (e.g. -3).",
    )

    def clean_delta(self):
        if self.cleaned_data["delta"] == 0:
            raise forms.ValidationError("Enter a number other than 0.")
        return self.cleaned_data["delta"]


class AdjustInventoryAction(BulkAction):
    """inventory = inventory + N, computed by the database; never below 0."""

    name = "adjust_inventory"
    label = "Adjust inventory by ±N…"
    column = "inventory"
    form_class = InventoryForm

    def describe(self, parameters):
        return f"adjust inventory by {parameters['delta']:+d}"

    def evaluate(self, products, parameters):
        delta = parameters["delta"]
        outcomes = []
        for product in products:
            new = product.inventory + delta
            outcome = Outcome(product, CHANGE, old=str(product.inventory), new=str(new))
            if new < 0:
                outcome.kind = REFUSED
                outcome.reason = REFUSED_INVENTORY_NEGATIVE.format(old=product.inventory, delta=delta)
            elif new > MAX_INVENTORY:
                outcome.kind = REFUSED
                outcome.reason = REFUSED_INVENTORY_MAX.format(old=product.inventory, delta=delta)
            outcomes.append(outcome)
        return outcomes

    def write(self, changes, parameters):
        delta = parameters["delta"]
        ids = [change.product.pk for change in changes]
        # The delta is applied by the database; the guard keeps it from ever going below 0.
        guard = {"inventory__gte": -delta} if delta < 0 else {"inventory__lte": MAX_INVENTORY - delta}
        updated = Product.objects.filter(pk__in=ids, **guard).update(inventory=F("inventory") + delta)
        if updated != len(ids):
            raise BulkEditConflict(ERROR_CONFLICT.format(count=len(ids) - updated), code="conflict")


for _action in (
    MoveToCollectionAction(),
    PromotionAction(add=True),
    PromotionAction(add=False),
    ChangePriceAction(),
    AdjustInventoryAction(),
    SetChoiceAction(name="set_status", field="status", label="Set status…"),
):
    _own[_action.name] = _action


# --- Preview and apply ---------------------------------------------------------------


class BulkEditRefused(ValidationError):
    def __init__(self, message: str, report: BulkReport):
        super().__init__(message, code="refused")
        self.report = report


class BulkEditConflict(ValidationError):
    """A product was saved by someone else between our read and our write."""


class BulkEditStopped(ValidationError):
    """A batch of a job found a product changed since the preflight (or now refused).

    The batches before it are committed; ``edit`` (its message) says exactly what was written."""

    def __init__(self, message: str, edit: BulkEdit):
        super().__init__(message, code="stopped")
        self.edit = edit


@dataclass
class BulkReport:
    """Counts, the first changes (old → new) and why products are refused."""

    changed: int = 0
    unchanged: int = 0
    refused: int = 0
    sample: list[Outcome] = field(default_factory=list)
    refusals: list[Outcome] = field(default_factory=list)
    #: set when only the first products were evaluated (a job's preview): the whole selection's size
    total: int | None = None

    @property
    def selected(self) -> int:
        return self.changed + self.unchanged + self.refused

    def add(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.kind == CHANGE:
                self.changed += 1
                if len(self.sample) < SAMPLE_SIZE:
                    self.sample.append(outcome)
            elif outcome.kind == REFUSED:
                self.refused += 1
                if len(self.refusals) < REFUSALS_SHOWN:
                    self.refusals.append(outcome)
            else:
                self.unchanged += 1


def bulk_selection_count(*, products: QuerySet[Product], limit: int) -> int:
    """How many products are selected, counting at most ``limit`` + 1 (no full COUNT on 1M rows)."""
    return len(products.order_by().values_list("pk", flat=True)[: limit + 1])


def _batches_of_ids(products: QuerySet[Product]) -> Iterator[list[int]]:
    """The selection's ids in pk order, BATCH at a time (keyset: bounded memory at any size)."""
    base = products.order_by().prefetch_related(None).values_list("pk", flat=True)
    last = 0
    while True:
        ids = list(base.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not ids:
            return
        yield ids
        last = ids[-1]


def bulk_edit_preview(
    *, action: BulkAction, products: QuerySet[Product], parameters: dict[str, Any], on_batch=None
) -> BulkReport:
    """What ``bulk_edit_apply`` would do now. Reads only; bounded memory (counts, the first
    changes and refusals). ``on_batch(report)`` is called after each batch (a job's progress)."""
    report = BulkReport()
    for ids in _batches_of_ids(products):
        rows = list(Product.objects.filter(pk__in=ids).order_by("pk"))
        report.add(action.evaluate(rows, parameters))
        if on_batch is not None:
            on_batch(report)
    return report


def bulk_edit_preview_sample(
    *, action: BulkAction, products: QuerySet[Product], parameters: dict[str, Any]
) -> BulkReport:
    """A job's preview, bounded at any size: one COUNT, and the first BATCH products
    (pk order) evaluated for the counts and the old → new sample. Refusals over the whole
    selection are counted by the job's preflight, before anything is written."""
    report = BulkReport()
    first = next(_batches_of_ids(products), [])
    report.add(action.evaluate(list(Product.objects.filter(pk__in=first).order_by("pk")), parameters))
    report.total = products.order_by().count()
    return report


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _product_field(name: str) -> Field[Any, Any]:
    """A concrete field of Product (what actions set), not a reverse relation."""
    field = Product._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"Product.{name} is not a concrete field")
    return field


def _claim(changes: Sequence[Outcome], now) -> None:
    """version = version + 1 (and the per-row values) where the version is still the one read."""
    table = Product._meta.db_table
    columns = list(changes[0].values)
    sets = [f"{_quote(_product_field(name).column)} = %s" for name in columns]
    sets.append(f"{_quote('last_update')} = %s")
    sql = (
        f"UPDATE {_quote(table)} SET {', '.join(sets)}, {_quote('version')} = {_quote('version')} + 1 "
        f"WHERE {_quote('id')} = %s AND {_quote('version')} = %s"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    params = []
    for change in changes:
        values = [_product_field(name).get_db_prep_save(change.values[name], connection) for name in columns]
        params.append((*values, moment, change.product.pk, change.product.version))
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        claimed = cursor.rowcount
    if claimed != len(changes):
        raise BulkEditConflict(ERROR_CONFLICT.format(count=len(changes) - max(claimed, 0)), code="conflict")


def _record_history(changes: Sequence[Outcome], *, user: User, reason: str, now) -> None:
    rows = list(Product.objects.filter(pk__in=[change.product.pk for change in changes]))
    product_history_insert(products=rows, user=user, reason=reason[:100], history_type="~", date=now)


def _apply_batch(
    action: BulkAction,
    ids: list[int],
    parameters: dict[str, Any],
    *,
    report: BulkReport,
    write: bool,
    user: User,
    reason: str,
) -> None:
    rows = list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    outcomes = action.evaluate(rows, parameters)
    report.add(outcomes)
    if write:
        _write(action, outcomes, parameters, user=user, reason=reason)


def _write(
    action: BulkAction, outcomes: Sequence[Outcome], parameters: dict[str, Any], *, user: User, reason: str
) -> None:
    """Claim (version guard), write and record history for the changes of one locked batch."""
    changes = [outcome for outcome in outcomes if outcome.kind == CHANGE]
    if not changes:
        return
    now = timezone.now()
    _history_baseline(products=[copy.copy(change.product) for change in changes])
    _claim(changes, now)
    action.write(changes, parameters)
    _record_history(changes, user=user, reason=reason, now=now)


def bulk_edit_apply(
    *,
    action: BulkAction,
    products: QuerySet[Product],
    parameters: dict[str, Any],
    user: User = None,
    skip_refused: bool = False,
) -> BulkEdit:
    """Apply ``action`` to every product of ``products``, in batches, in one transaction.

    Returns the finished BulkEdit. Raises ``BulkEditRefused`` (with the report) when a
    product would be refused and ``skip_refused`` is off, ``BulkEditConflict`` when a
    product was saved by someone else meanwhile: in both cases nothing is written
    (the BulkEdit stays, marked refused or failed).
    """
    edit = bulk_edit_create(action=action, parameters=parameters, user=user, skip_refused=skip_refused)
    reason = str(edit)
    report = BulkReport()
    try:
        with transaction.atomic():
            for ids in _batches_of_ids(products):
                # After the first refusal, keep reading (to list every refusal) but stop writing.
                write = skip_refused or not report.refused
                _apply_batch(action, ids, parameters, report=report, write=write, user=user, reason=reason)
            if report.refused and not skip_refused:
                raise BulkEditRefused(ERROR_REFUSED.format(count=report.refused), report)
    except BulkEditRefused as refused:
        _finish(edit, report, BulkEdit.STATE_REFUSED, refused.messages[0], user)
        raise
    except BulkEditConflict as conflict:
        _finish(edit, report, BulkEdit.STATE_FAILED, conflict.messages[0], user)
        raise
    return _finish_done(edit, report, user)


def bulk_edit_create(
    *, action: BulkAction, parameters: dict[str, Any], user: User = None, skip_refused: bool = False
) -> BulkEdit:
    """The running "Bulk edit #N" record; its ``str`` is the history rows' reason."""
    return BulkEdit.objects.create(
        user=user if isinstance(user, get_user_model()) and user.pk else None,
        action=action.name,
        description=action.describe(parameters)[:200],
        parameters={**parameters, "skip_refused": skip_refused},
    )


def bulk_edit_apply_in_batches(
    *,
    action: BulkAction,
    products: QuerySet[Product],
    parameters: dict[str, Any],
    since,
    edit: BulkEdit,
    user: User = None,
    skip_refused: bool = False,
    on_batch=None,
) -> BulkEdit:
    """A job's writes: one transaction per batch, after a preflight that found nothing refused.

    ``since`` is when the preflight began. Each batch is locked, then checked: a product
    written since (``last_update > since``: every write bumps ``version`` and ``last_update``
    together) or refused by now stops the edit before that batch is written, with
    ``BulkEditStopped``. ``on_batch(report)`` runs after each commit; a ``JobCancelled`` it
    raises stops the edit there. Either way ``edit`` ends saying exactly what was written:
    every selected product with id up to the last committed batch's last id, nothing after.
    """
    reason = str(edit)
    report = BulkReport()
    last_id = None
    try:
        for ids in _batches_of_ids(products):
            with transaction.atomic():
                rows = list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
                moved = [row for row in rows if row.last_update > since]
                if moved:
                    raise BulkEditConflict(
                        ERROR_CHANGED_SINCE.format(count=len(moved), skus=", ".join(row.sku for row in moved[:5])),
                        code="conflict",
                    )
                outcomes = action.evaluate(rows, parameters)
                refused = [outcome for outcome in outcomes if outcome.kind == REFUSED]
                if refused and not skip_refused:
                    raise BulkEditRefused(
                        ERROR_REFUSED_SINCE.format(
                            count=len(refused),
                            skus=", ".join(o.product.sku for o in refused[:5]),
                            reason=refused[0].reason,
                        ),
                        BulkReport(),
                    )
                _write(action, outcomes, parameters, user=user, reason=reason)
            report.add(outcomes)
            last_id = ids[-1]
            if on_batch is not None:
                on_batch(report)
    except (BulkEditConflict, BulkEditRefused, JobCancelled) as exc:
        written = (
            STOPPED_WRITTEN.format(changed=report.changed, last_id=last_id, edit_id=edit.pk)
            if last_id is not None
            else STOPPED_NOTHING
        )
        if isinstance(exc, JobCancelled):
            _finish(edit, report, BulkEdit.STATE_CANCELLED, f"Cancelled. {written}", user)
            raise
        _finish(edit, report, BulkEdit.STATE_STOPPED, f"{exc.messages[0]} {written}", user)
        raise BulkEditStopped(edit.message, edit) from exc
    return _finish_done(edit, report, user)


def _finish_done(edit: BulkEdit, report: BulkReport, user: User) -> BulkEdit:
    message = f"{report.changed} changed, {report.unchanged} unchanged"
    if report.refused:
        message += f", {report.refused} refused and left as they were"
    _finish(edit, report, BulkEdit.STATE_DONE, message + ".", user)
    return edit


def _finish(edit: BulkEdit, report: BulkReport, state: str, message: str, user: User) -> None:
    edit.state, edit.message, edit.finished_at = state, message, timezone.now()
    # Done, or a job stopped part-way: report.changed counts committed changes only.
    written = state in (BulkEdit.STATE_DONE, BulkEdit.STATE_STOPPED, BulkEdit.STATE_CANCELLED)
    edit.selected_count, edit.changed_count = report.selected, report.changed if written else 0
    edit.unchanged_count, edit.refused_count = report.unchanged, report.refused
    edit.save()
    audit_event(
        "product.bulk_edit",
        user=user,
        bulk_edit_id=edit.pk,
        action=edit.action,
        description=edit.description,
        state=state,
        changed=edit.changed_count,
        unchanged=edit.unchanged_count,
        refused=edit.refused_count,
    )
