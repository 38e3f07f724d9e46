"""The one way another app extends store: a ``StoreExtension`` declaration, registered once.

store knows products, not tags. An app that knows both (``store_custom``) fills one
``StoreExtension`` and calls ``register(extension)`` once, in its ``AppConfig.ready()``.
Each concept is declared once, in one field:

- ``columns``: import/export columns (handed to the import's column table here, the one
  place that does it);
- ``api_fields`` (a product field, the loader that fills it for a page of products, its
  query filters) and ``api_routes`` (viewsets mounted under /api/);
- ``bulk_actions``: entries of the product list's bulk edit menu;
- ``admin``: the product admin's additions (list columns with their page loader, list
  filters, inlines);
- ``on_products_deleted`` / ``on_catalog_cleared``: what to clean up when products go.
  Store calls them on every delete path: a product deleted through the ORM (admin delete,
  "delete selected", ``Product.delete()``), a revert's raw DELETE, and ``seed_catalog --clear``.

Store reads this registry at request time (the admin, the API, bulk edits) and never
imports the extending app; store works the same with nothing registered.

The product admin: the declaration carries the additions (a ``ProductAdminAdditions``
subclass: store_custom's ``CustomProductAdmin``) and the one ``ProductAdmin`` store
registers reads them (``get_list_display``, ``get_list_filter``, ``get_inlines``; its
changelist runs each list column's page loader once per page). Why not a ProductAdmin
subclass that store registers: extensions arrive in ``AppConfig.ready()``, after the
admin's autodiscovery has registered ``Product`` (the admin app comes first in
INSTALLED_APPS), so registering a subclass then means swapping the registered ModelAdmin
(unregister / re-register). Reading additions needs no swap, works whatever the order of
imports, and leaves one ProductAdmin whose behaviour (locking, list edits, bulk edits,
history) no subclass can bypass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_delete

from store.fileformat.columns import register_column, unregister_column
from store.models import Product

if TYPE_CHECKING:
    from django.contrib.admin import ListFilter
    from django.contrib.admin.options import InlineModelAdmin
    from django_filters.filters import Filter
    from rest_framework.serializers import Field
    from rest_framework.viewsets import ViewSetMixin

    from store.bulk.actions import BulkAction


class PageLoader(Protocol):
    """Sets, with a bounded number of queries (one, ideally), an attribute on each product."""

    def __call__(self, *, products: Sequence[Product]) -> None: ...


@dataclass(frozen=True)
class ListColumn:
    """A column of the product list: ``load`` fills a whole page (one query), ``render``
    reads what it set on one product. A product shown outside a loaded page (none today)
    is loaded on its own."""

    name: str
    description: str
    load: PageLoader
    render: Callable[[Product], str]
    #: the attribute ``load`` sets; a product without it was not loaded yet
    loaded_attr: str

    @cached_property
    def display(self) -> Callable[[Product], str]:
        """The ``list_display`` entry: a callable named after the column (``field-<name>``)."""

        def cell(product: Product) -> str:
            if not hasattr(product, self.loaded_attr):
                self.load(products=[product])
            return self.render(product)

        cell.__name__ = cell.__qualname__ = self.name
        cell.short_description = self.description  # type: ignore[attr-defined]  # the admin's column label
        return cell


class ProductAdminAdditions:
    """What an app adds to the product admin, declared like a ModelAdmin's options.

    Subclass it, set the tuples, and name the subclass in ``StoreExtension.admin``; store's
    ``ProductAdmin`` appends them to its own ``list_display``, ``list_filter`` and ``inlines``.
    """

    list_columns: ClassVar[tuple[ListColumn, ...]] = ()
    list_filter: ClassVar[tuple[type[ListFilter], ...]] = ()
    inlines: ClassVar[tuple[type[InlineModelAdmin], ...]] = ()


@dataclass(frozen=True)
class ApiField:
    """An extra product field in the API.

    ``load(products=...)`` runs once per serialized page (or for one product) and must set,
    with a bounded number of queries, the attribute that ``field()``'s source reads.
    ``filters`` are extra FilterSet filters of the product list.
    """

    name: str
    field: Callable[[], Field]
    load: PageLoader
    filters: Mapping[str, Filter] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ApiRoute:
    prefix: str
    viewset: type[ViewSetMixin]
    basename: str


@dataclass(frozen=True)
class StoreExtension:
    """Everything one app adds to store; see the module docstring."""

    name: str
    #: column objects of the import's column table (``register_column``), passed on as they are
    columns: tuple[Any, ...] = ()
    api_fields: tuple[ApiField, ...] = ()
    api_routes: tuple[ApiRoute, ...] = ()
    bulk_actions: tuple[BulkAction, ...] = ()
    admin: type[ProductAdminAdditions] = ProductAdminAdditions
    #: ``on_products_deleted(product_ids)``: called in the deleting transaction
    on_products_deleted: Callable[[Sequence[int]], None] | None = None
    #: ``on_catalog_cleared()``: every product row is gone (raw SQL)
    on_catalog_cleared: Callable[[], None] | None = None


_registry: dict[str, StoreExtension] = {}
# Bumped on each change, so readers that build something from the registry (the API's
# FilterSet) know when to rebuild it.
_generation = 0


def register(extension: StoreExtension) -> None:
    """Register ``extension`` (call once, from ``AppConfig.ready()``).

    A second registration under the same name replaces the first. Names of API fields,
    list columns, bulk actions and routes must not clash with another extension's.
    """
    global _generation
    others = [other for name, other in _registry.items() if name != extension.name]
    _check_unique(extension, others)
    _registry[extension.name] = extension
    _generation += 1
    for column in extension.columns:  # the one place store hands columns to the import
        register_column(column)
    if extension.on_products_deleted is not None:
        post_delete.connect(_product_deleted, sender=Product, dispatch_uid="store.extensions.product_deleted")


def unregister(name: str) -> None:
    """Forget an extension (tests), its import columns included."""
    global _generation
    extension = _registry.pop(name, None)
    for column in extension.columns if extension is not None else ():
        unregister_column(column.name)
    _generation += 1


def generation() -> int:
    return _generation


def _check_unique(extension: StoreExtension, others: Iterable[StoreExtension]) -> None:
    kinds: dict[str, Callable[[StoreExtension], Iterable[str]]] = {
        "API field": lambda e: [f.name for f in e.api_fields],
        "API route": lambda e: [r.prefix for r in e.api_routes],
        "bulk action": lambda e: [a.name for a in e.bulk_actions],
        "list column": lambda e: [c.name for c in e.admin.list_columns],
    }
    for kind, names_of in kinds.items():
        mine = list(names_of(extension))
        taken = {name for other in others for name in names_of(other)}
        clashes = sorted(name for name in set(mine) if name in taken or mine.count(name) > 1)
        if clashes:
            raise ImproperlyConfigured(
                f"Store extension {extension.name!r}: {kind} name(s) already registered: {', '.join(clashes)}"
            )


def extensions() -> tuple[StoreExtension, ...]:
    return tuple(_registry.values())


# --- What store reads -----------------------------------------------------------------


def api_fields() -> tuple[ApiField, ...]:
    return tuple(f for extension in _registry.values() for f in extension.api_fields)


def api_routes() -> tuple[ApiRoute, ...]:
    return tuple(r for extension in _registry.values() for r in extension.api_routes)


def api_load(products: Sequence[Product]) -> None:
    """Fill every registered API field for these products (one loader call each)."""
    if not products:
        return
    for api_field in api_fields():
        api_field.load(products=products)


def api_filters() -> dict[str, Filter]:
    return {name: filter_ for api_field in api_fields() for name, filter_ in api_field.filters.items()}


def bulk_actions() -> tuple[BulkAction, ...]:
    return tuple(action for extension in _registry.values() for action in extension.bulk_actions)


def admin_list_columns() -> tuple[ListColumn, ...]:
    return tuple(column for extension in _registry.values() for column in extension.admin.list_columns)


def admin_list_filters() -> tuple[type[ListFilter], ...]:
    return tuple(filter_ for extension in _registry.values() for filter_ in extension.admin.list_filter)


def admin_inlines() -> tuple[type[InlineModelAdmin], ...]:
    return tuple(inline for extension in _registry.values() for inline in extension.admin.inlines)


def admin_load(products: Sequence[Product]) -> None:
    """Run each list column's page loader once for the page's products."""
    if not products:
        return
    for column in admin_list_columns():
        column.load(products=products)


def products_deleted(*, product_ids: Sequence[int]) -> None:
    """Store deleted these products (raw SQL or ORM): let extensions drop what refers to them."""
    if not product_ids:
        return
    for extension in _registry.values():
        if extension.on_products_deleted is not None:
            extension.on_products_deleted(product_ids)


def catalog_cleared() -> None:
    """Store wiped every product row: let extensions drop what referred to them."""
    for extension in _registry.values():
        if extension.on_catalog_cleared is not None:
            extension.on_catalog_cleared()


def _product_deleted(sender: type[Product], instance: Product, **kwargs: Any) -> None:
    # An ORM delete (one product or a queryset: the admin's delete and "delete selected").
    products_deleted(product_ids=[instance.pk])
