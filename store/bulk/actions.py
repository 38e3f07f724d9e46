"""Bulk edit actions: the registry and store's own actions.

Each action is a ``BulkAction``: a parameters form, ``evaluate`` (what would happen to a
batch of products: change, unchanged or refused, with old → new) and ``write`` (apply the
changes of one batch beyond the column values). ``store.bulk.apply`` runs them.

An action whose change is a column expression (price, inventory, status, collection) also
declares it as SQL (``BulkAction.sql``: a ``SqlForm``): the engine then counts, writes and
records a batch with a handful of set-based statements instead of evaluating each product in
Python. ``evaluate`` stays the reference: it gives the report's sample and refusal reasons,
and the tests compare both forms (store/tests/bulk/test_bulk_sql.py).

Other apps add actions in their ``StoreExtension`` (``store.extensions``; store_custom adds
"Add tags" and "Remove tags"; store never imports tags). "Set status" is a ``SetChoiceAction`` on
``Product.status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Field

from backoffice.admin import SafeAutocompleteSelect
from store import extensions
from store.models import CENT, MIN_UNIT_PRICE, Collection, Product, Promotion
from store.services import UPDATE_BATCH_SIZE
from store.sql import quote, sql_cents, sql_div_half_up, sql_from_cents, sql_int_div

MAX_PRICE = Decimal("99999999.99")  # DecimalField(max_digits=10, decimal_places=2)
MAX_INVENTORY = 2_147_483_647

CHANGE, UNCHANGED, REFUSED = "change", "unchanged", "refused"

ERROR_CONFLICT = "{count} product(s) were saved by someone else while the bulk edit ran; nothing was changed."
REFUSED_PRICE_MIN = "the new price {price} is below the minimum price of 1.00"
REFUSED_PRICE_MAX = "the new price {price} is above the maximum price of 99999999.99"
REFUSED_PRICE_COMPARE_AT = (
    "the new price {price} is not below the compare-at price {compare_at}: change or clear the compare-at price first"
)
REFUSED_INVENTORY_NEGATIVE = "inventory {old} {delta:+d} would be below 0"
REFUSED_INVENTORY_MAX = "inventory {old} {delta:+d} would be above 2147483647"

#: what an action changes (``BulkAction.applies_to``): the selected products, or their sellable units
PRODUCTS, UNITS = "products", "units"


class BulkEditConflict(ValidationError):
    """A product was saved by someone else between our read and our write."""


def product_field(name: str) -> Field[Any, Any]:
    """A concrete field of Product (what actions set), not a reverse relation."""
    found = Product._meta.get_field(name)
    if not isinstance(found, Field):
        raise TypeError(f"Product.{name} is not a concrete field")
    return found


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


#: a piece of SQL over the product table aliased ``p``, with its parameters
Sql = tuple[str, tuple[Any, ...]]
NEVER: Sql = ("1 = 0", ())


@dataclass(frozen=True)
class SqlForm:
    """An action as SQL over the product table ``p``, for products without variants.

    ``sets``: per column, the expression of its new value; ``refused``: the condition of the
    rows ``evaluate`` refuses (any reason); ``unchanged``: of the rows it leaves unchanged (the
    ones not refused). A row that is neither is a change. They must agree with ``evaluate``
    exactly, on every database (store/tests/bulk/test_bulk_sql.py)."""

    sets: tuple[tuple[str, Sql], ...]
    refused: Sql = NEVER
    unchanged: Sql = NEVER


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
    #: PRODUCTS: what a product shares with its variants (collection, status, promotions, tags): a
    #: selected variant stands for its product. UNITS: price and stock, which sellable units have:
    #: a selected product with variants stands for its variants (``store.bulk.apply``).
    applies_to: str = PRODUCTS

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

    def sql(self, parameters: dict[str, Any]) -> SqlForm | None:
        """The action as SQL, or None when it cannot be one (m2m rows): ``evaluate`` and ``write`` then."""
        return None


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
            field = self.fields["collection"]
            assert isinstance(field, forms.ModelChoiceField)  # declared above
            # The project's widget: Django's looks a forged value ("abc") up while re-rendering (a 500).
            widget = SafeAutocompleteSelect(Product._meta.get_field("collection"), self.admin_site)
            widget.choices = field.choices
            field.widget = widget


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

    def sql(self, parameters):
        target = int(parameters["collection_id"])
        column = f"p.{quote(product_field('collection').column)}"
        return SqlForm(sets=(("collection", ("%s", (target,))),), unchanged=(f"{column} = %s", (target,)))


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
        return list(product_field(self.field).flatchoices)

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

    def sql(self, parameters):
        value = parameters["value"]
        column = f"p.{quote(product_field(self.field).column)}"
        return SqlForm(sets=((self.field, ("%s", (value,))),), unchanged=(f"{column} = %s", (value,)))


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
                batch_size=UPDATE_BATCH_SIZE,
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
        super().clean()
        data = self.cleaned_data
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
    applies_to = UNITS

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
            elif product.compare_at_price is not None and new >= product.compare_at_price:
                # The CHECK constraint would refuse it (an IntegrityError): refused with the reason.
                outcome.kind = REFUSED
                outcome.reason = REFUSED_PRICE_COMPARE_AT.format(price=new, compare_at=product.compare_at_price)
            elif new == product.unit_price:
                outcome.kind = UNCHANGED
            outcomes.append(outcome)
        return outcomes

    def sql(self, parameters):
        """``price_new`` in whole cents, exact on both databases (SQLite holds prices as REALs)."""
        amount, ending = Decimal(parameters["amount"]), Decimal(parameters.get("ending") or "0")
        if amount != amount.quantize(CENT) or ending != ending.quantize(CENT) or not 0 <= ending < 1:
            return None  # not whole cents (no form gives that): evaluated in Python
        cents, ending_cents = int(amount * 100), int(ending * 100)
        old = sql_cents(f"p.{quote('unit_price')}")
        mode = parameters["mode"]
        if mode == PRICE_SET:
            new = str(cents)
        elif mode == PRICE_RAISE:
            new = f"({old} + {cents})"
        elif mode == PRICE_LOWER:
            new = f"({old} - {cents})"
        elif mode in (PRICE_RAISE_PCT, PRICE_LOWER_PCT):
            # old × (1 ± amount/100), in cents: old_cents × (10000 ± amount_cents) / 10000, half up.
            factor = 10000 + cents if mode == PRICE_RAISE_PCT else 10000 - cents
            if factor <= 0:
                return None
            new = sql_div_half_up(f"{old} * {factor}", 10000)
        else:
            raise ValueError(f"Unknown price mode {mode!r}")
        if ending_cents:
            new = f"(CASE WHEN {new} >= 0 THEN {sql_int_div(new, 100)} * 100 + {ending_cents} ELSE {new} END)"
        compare_at = f"p.{quote('compare_at_price')}"
        refused = (
            f"{new} < {int(MIN_UNIT_PRICE * 100)} OR {new} > {int(MAX_PRICE * 100)}"
            f" OR ({compare_at} IS NOT NULL AND {new} >= {sql_cents(compare_at)})"
        )
        return SqlForm(
            sets=(("unit_price", (sql_from_cents(new), ())),),
            refused=(refused, ()),
            unchanged=(f"{new} = {old}", ()),
        )


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
    applies_to = UNITS

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

    def sql(self, parameters):
        delta = int(parameters["delta"])
        column = f"p.{quote('inventory')}"
        # Compared, never computed, for the refused rows: no arithmetic out of the column's range.
        refused = (f"{column} < %s OR {column} > %s", (-delta, MAX_INVENTORY - delta))
        return SqlForm(sets=(("inventory", (f"{column} + %s", (delta,))),), refused=refused)

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
