"""Run inside `manage.py shell -c` against the database of the app as `make run` serves it
(``MakeRunApp.call`` in tests/e2e/conftest.py): the journeys' setup, and what they check
beyond the pages. Each function prints one line of JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType

from store.models import Collection, Customer, ImportJob, OrderItem, Product, Promotion
from store.roles import IMPORTER, MERCHANDISER
from store_custom.selectors import product_tag_labels
from tags.models import Tag, TaggedItem

PASSWORD = "journeys-password"


def _print(value: Any) -> None:
    print(json.dumps(value))


def setup_users() -> None:
    """Staff users in the roles that use the journeys (setup_roles made the groups):
    "merchandiser" (Merchandiser) and "importer" (Importer). Says whether the toolbar is on."""
    for username, role in (("merchandiser", MERCHANDISER), ("importer", IMPORTER)):
        user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        user.set_password(PASSWORD)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
    _print({"toolbar": apps.is_installed("debug_toolbar")})


def create_products(
    *, collection: str, products: list[dict[str, Any]], tags: Sequence[str] = (), other_collections: Sequence[str] = ()
) -> None:
    """Products (each a dict of Product fields with at least sku and title) in ``collection``,
    tagged with ``tags``; the collections are made when missing, ``other_collections`` too.
    Prints {sku: pk}."""
    shelf, _ = Collection.objects.get_or_create(title=collection)
    for title in other_collections:
        Collection.objects.get_or_create(title=title)
    made = {}
    for fields in products:
        fields = {"unit_price": "19.99", "inventory": 50, "slug": fields["sku"].lower(), **fields}
        made[fields["sku"]] = Product.objects.create(collection=shelf, **fields).pk
    content_type = ContentType.objects.get_for_model(Product)
    for label in tags:
        tag, _ = Tag.objects.get_or_create(label=label)
        TaggedItem.objects.bulk_create(
            TaggedItem(tag=tag, content_type=content_type, object_id=pk) for pk in made.values()
        )
    _print(made)


def create_promotion(*, description: str, products: Sequence[str] = ()) -> None:
    """A promotion, on the products with these SKUs; prints its id."""
    promotion = Promotion.objects.create(description=description, discount=Decimal("10.00"))
    promotion.products.set(Product.objects.filter(sku__in=products))
    _print(promotion.pk)


def products_state(*, skus: list[str]) -> None:
    """{sku: {unit_price, inventory, collection, status, version, tags, promotions}}; null when absent."""
    found = {
        product.sku: product
        for product in Product.objects.filter(sku__in=skus).select_related("collection").prefetch_related("promotions")
    }
    tags = product_tag_labels(product_ids=[product.pk for product in found.values()])
    _print(
        {
            sku: {
                "unit_price": str(product.unit_price),
                "inventory": product.inventory,
                "collection": product.collection.title if product.collection else "",
                "status": product.status,
                "version": product.version,
                "tags": sorted(tags[product.pk]),
                "promotions": sorted(promotion.description for promotion in product.promotions.all()),
            }
            if (product := found.get(sku))
            else None
            for sku in skus
        }
    )


def import_jobs(*, file_names: Sequence[str]) -> None:
    """The imports of files with these names, oldest first: id, status and profile."""
    jobs = ImportJob.objects.filter(file_name__in=file_names).order_by("pk").select_related("profile")
    _print([{"id": job.pk, "status": job.status, "profile": job.profile and job.profile.name} for job in jobs])


def create_customer(*, first_name: str, last_name: str) -> None:
    """A customer; prints its id."""
    email = f"{first_name.lower()}@example.com"
    _print(Customer.objects.create(first_name=first_name, last_name=last_name, email=email, phone="555-0100").pk)


def variants_state(*, product: str) -> None:
    """The variants of the product with SKU ``product``: {sku: {options, unit_price, inventory,
    image (the alt text of its variant image, or "")}}."""
    variants = Product.objects.filter(parent__sku=product).select_related("variant_image").order_by("pk")
    _print(
        {
            variant.sku: {
                "options": " / ".join(variant.option_values),
                "unit_price": str(variant.unit_price),
                "inventory": variant.inventory,
                "image": variant.variant_image.alt_text if variant.variant_image else "",
            }
            for variant in variants
        }
    )


def order_lines(*, customer: str) -> None:
    """The lines of the orders of the customer with this first name: [[sku, quantity, unit price]]."""
    items = OrderItem.objects.filter(order__customer__first_name=customer).select_related("product").order_by("pk")
    _print([[item.product.sku, item.quantity, str(item.unit_price)] for item in items])
