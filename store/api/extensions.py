"""Hooks through which other apps extend the catalog API without store importing them.

`store` must not know `tags`; `store_custom` (which knows both) registers, in its
``ready()``:

- a *product extension*: a serializer field, the one-query loader that fills it for a
  page of products, and extra FilterSet filters;
- extra *routes*: viewsets mounted under ``/api/`` next to ours.

Registration happens once, at app loading; the API reads the registry per request,
so the order in which ``store.api`` and the extending app are imported does not matter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from store.models import Product


@dataclass(frozen=True)
class ProductExtension:
    """An extra product field for the API, loaded for a whole page at once.

    ``load(products)`` runs once per page (or per detail object) with the model
    instances about to be serialized. It must use a bounded number of queries (one,
    ideally) and set on each product the attribute that ``field()``'s source reads.
    """

    name: str
    field: Callable[[], serializers.Field]
    load: Callable[[Sequence[Product]], None]
    filters: Mapping[str, filters.Filter] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    prefix: str
    viewset: type[viewsets.ViewSetMixin]
    basename: str


_product_extensions: dict[str, ProductExtension] = {}
_routes: dict[str, Route] = {}
_filterset_cache: dict[type, type] = {}


def register_product_extension(extension: ProductExtension) -> None:
    """Idempotent per name: a second registration under the same name replaces the first."""
    _product_extensions[extension.name] = extension
    _filterset_cache.clear()


def unregister_product_extension(name: str) -> None:
    _product_extensions.pop(name, None)
    _filterset_cache.clear()


def product_extensions() -> tuple[ProductExtension, ...]:
    return tuple(_product_extensions.values())


def product_extensions_load(products: Sequence[Product]) -> None:
    if not products:
        return
    for extension in _product_extensions.values():
        extension.load(products)


def product_filterset_with_extensions(base: type[filters.FilterSet]) -> type[filters.FilterSet]:
    """`base` plus every registered extension filter (built once, then cached)."""
    if base not in _filterset_cache:
        extra = {
            name: filter_ for extension in _product_extensions.values() for name, filter_ in extension.filters.items()
        }
        _filterset_cache[base] = type(base)(base.__name__, (base,), extra) if extra else base
    return _filterset_cache[base]


def register_route(*, prefix: str, viewset: type[viewsets.ViewSetMixin], basename: str) -> None:
    """Mount `viewset` at /api/<prefix>/. Call it from an AppConfig.ready()."""
    _routes[prefix] = Route(prefix=prefix, viewset=viewset, basename=basename)


def extra_routes() -> tuple[Route, ...]:
    return tuple(_routes.values())
