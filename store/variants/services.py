"""Writes of products with variants. Each goes through ``store.services``' product writes, so a
variant has what every product has: a version, history with old → new, revert."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from store import services
from store.models import OPTION_COUNT, OrderItem, Product
from store.search.services import search_index_refresh
from store.variants.selectors import Option, options_in_use

User = AbstractBaseUser | AnonymousUser | None

OPTION_MAX_LENGTH = Product._meta.get_field("option1").max_length or 64
ERROR_OPTIONS_SYNTAX = (
    'write each option as "Name: value, value", options separated by ";" (e.g. "Colour: Green, Blue; Size: S, M")'
)
ERROR_OPTIONS_COUNT = f"at most {OPTION_COUNT} options"
ERROR_OPTION_NAME_TWICE = "option {name!r} is named twice"
ERROR_OPTION_VALUE_TWICE = "{name}: value {value!r} is given twice"
ERROR_OPTION_TOO_LONG = f"{{text!r}} is too long: at most {OPTION_MAX_LENGTH} characters"
ERROR_OPTIONS_RENAMED = (
    "the options of a product with variants keep their names and order: {names}; add values, or new options after them"
)
ERROR_OPTIONS_VARIANT = "a variant has no options of its own: edit its product's"
ERROR_OPTIONS_SOLD = (
    "this product was sold as it is (order #{order}): it cannot get variants; make a new product with variants instead"
)
ERROR_VARIANT_SOLD = "{variant} cannot be removed: order #{order} sold it. Set its inventory to 0 instead."
SKU_PART = re.compile(r"[^A-Za-z0-9]+")


def options_parse(text: str) -> list[Option]:
    """ "Colour: Green, Blue; Size: S, M, L" -> [Option("Colour", ("Green", "Blue")), Option("Size", …)]."""
    options: list[Option] = []
    for part in (piece.strip() for piece in text.split(";")):
        if not part:
            continue
        name, colon, values_text = part.partition(":")
        name = name.strip()
        values = [value.strip() for value in values_text.split(",") if value.strip()]
        if not colon or not name or not values:
            raise ValidationError(ERROR_OPTIONS_SYNTAX, code="syntax")
        for text_part in (name, *values):
            if len(text_part) > OPTION_MAX_LENGTH:
                raise ValidationError(ERROR_OPTION_TOO_LONG.format(text=text_part[:80]), code="too_long")
        if any(option.name.casefold() == name.casefold() for option in options):
            raise ValidationError(ERROR_OPTION_NAME_TWICE.format(name=name), code="name_twice")
        seen: set[str] = set()
        for value in values:
            if value.casefold() in seen:
                raise ValidationError(ERROR_OPTION_VALUE_TWICE.format(name=name, value=value), code="value_twice")
            seen.add(value.casefold())
        options.append(Option(name, tuple(values)))
    if len(options) > OPTION_COUNT:
        raise ValidationError(ERROR_OPTIONS_COUNT, code="count")
    return options


def options_render(options: Sequence[Option]) -> str:
    return "; ".join(f"{option.name}: {', '.join(option.values)}" for option in options)


def product_options(*, product: Product) -> list[Option]:
    """A product's options, with the values its variants use, in the order they were made."""
    names = product.option_names
    if not names or product.pk is None:
        return []
    rows = product.variants.order_by("pk").values_list("option1", "option2", "option3")
    return options_in_use(names=names, value_rows=rows)


def _variant_sku(parent: Product, values: Sequence[str]) -> str:
    suffix = "-".join(SKU_PART.sub("", value).upper() or "X" for value in values)
    return f"{parent.sku}-{suffix}"[: Product._meta.get_field("sku").max_length]


def product_options_check(*, product: Product, options: Sequence[Option]) -> list[Option]:
    """Raise ValidationError when ``product`` cannot take ``options``; return its current options."""
    if product.is_variant:
        raise ValidationError(ERROR_OPTIONS_VARIANT)
    current = product_options(product=product) if product.is_parent else []
    names = [option.name for option in options]
    if [option.name for option in current] != names[: len(current)]:
        raise ValidationError(ERROR_OPTIONS_RENAMED.format(names=", ".join(o.name for o in current)))
    if options and not product.is_parent and product.pk is not None:
        sold = OrderItem.objects.filter(product_id=product.pk).values_list("order_id", flat=True).first()
        if sold is not None:
            raise ValidationError(ERROR_OPTIONS_SOLD.format(order=sold))
    return current


@transaction.atomic
def product_options_save(
    *, product: Product, options: Sequence[Option], expected_version: int | None, user: User = None
) -> list[Product]:
    """Save ``product`` (version-checked, history) with ``options``, and make the variants the
    options call for that it does not have yet: one per combination of values, SKU
    ``<product SKU>-<VALUE>-<VALUE>``, the product's price, no stock. A product without variants
    becomes one with; adding a value adds its variants; existing variants are kept as they are.
    Returns the variants made."""
    current = product_options_check(product=product, options=options)
    names = [option.name for option in options]
    if not options:
        return []
    if not product.is_parent:
        product.structure = Product.Structure.PARENT
        product.inventory, product.track_inventory = 0, False
    for index in range(OPTION_COUNT):
        setattr(product, f"option{index + 1}_name", names[index] if index < len(names) else "")
    if product.pk is None:
        services.product_create(product=product, user=user)
    else:
        services.product_update(product=product, expected_version=expected_version, user=user)
    existing = list(product.variants.all())
    if len(names) > len(current) and existing:
        # A new option: the existing variants take its first value (they are that value).
        for variant in existing:
            for index in range(len(current), len(names)):
                setattr(variant, f"option{index + 1}", options[index].values[0])
            variant.title = variant.option_label
            services.product_update(product=variant, expected_version=variant.version, user=user)
    have = {tuple(value.casefold() for value in variant.option_values) for variant in existing}
    made = []
    for values in itertools.product(*(option.values for option in options)):
        if tuple(value.casefold() for value in values) in have:
            continue
        variant = Product(
            structure=Product.Structure.VARIANT,
            parent=product,
            title=" / ".join(values),
            sku=_variant_sku(product, values),
            unit_price=product.unit_price,
            inventory=0,
            slug=None,
            collection=None,
            status=None,
            **{f"option{index + 1}": value for index, value in enumerate(values)},
        )
        made.append(services.product_create(product=variant, user=user))
    return made


def variant_delete_refusal(*, variant: Product) -> str | None:
    """Why this variant cannot be removed (an order sold it), or None."""
    order = OrderItem.objects.filter(product_id=variant.pk).values_list("order_id", flat=True).first()
    return None if order is None else ERROR_VARIANT_SOLD.format(variant=variant.title, order=order)


@transaction.atomic
def variant_delete(*, variant: Product) -> None:
    """Remove ``variant``, unless an order sold it. Its product's ``last_update`` moves (no new
    version, no history row: the variant's own removal is in the history), so the API's sync
    feed sends the product again without it, and the list's micro-cache lets it go."""
    refusal = variant_delete_refusal(variant=variant)
    if refusal is not None:
        raise ValidationError(refusal)
    parent_id = variant.parent_id
    variant.delete()
    if parent_id is not None:
        Product.objects.filter(pk=parent_id).update(last_update=timezone.now())
        search_index_refresh(product_ids=[parent_id])  # its product is no longer found by its SKU
