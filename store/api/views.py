"""Read-only catalog endpoints. Querysets come from store.selectors."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import get_conditional_response
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.response import Response

from backoffice.cache import fail_safe_cache
from store import selectors
from store.api.filters import (
    MAX_ID,
    ProductFilter,
    ProductFilterBackend,
    ProductOrderingFilter,
    ProductSearchFilter,
    ProductSyncFilterBackend,
)
from store.api.pagination import SyncCursorPagination
from store.api.serializers import CollectionSerializer, ProductSerializer, ProductSyncSerializer
from store.variants import selectors as variant_selectors

NOT_FOUND = "Not found."
ERROR_RESPONSES = {
    400: OpenApiResponse(description="A query parameter is invalid; the body names it."),
    404: OpenApiResponse(description="No such object, or a page out of range."),
}


class CachedListResponse(HttpResponse):
    """A list body read back from the cache: finalize_response does not store it again."""


def catalog_schema(serializer_class: type, noun: str):
    """The OpenAPI description shared by every catalog viewset's list and retrieve."""
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {noun}s",
            responses={200: serializer_class(many=True), **ERROR_RESPONSES},
        ),
        retrieve=extend_schema(
            summary=f"One {noun} by id",
            responses={200: serializer_class, 404: ERROR_RESPONSES[404]},
        ),
    )


class CatalogViewSet(viewsets.ReadOnlyModelViewSet):
    # Base for every catalog endpoint: 405 before anything else, ETags on reads.
    # Writes are refused before authentication, throttling or CSRF run, so every
    # client (anonymous or superuser) gets DRF's standard 405 body.

    def initial(self, request, *args, **kwargs):
        handler = getattr(self, request.method.lower(), None)
        if request.method.lower() not in self.http_method_names or handler is None:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def get_object(self):
        # A pk beyond BIGINT can match nothing, and SQLite raises OverflowError on it.
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")
        if not str(lookup).isdigit() or int(lookup) > MAX_ID:
            raise NotFound(NOT_FOUND)
        return super().get_object()

    def catalog_version(self) -> str:
        """What the micro-cache's entries are keyed on beyond the request ("" = nothing)."""
        return ""

    def list_cache_key(self, request) -> str | None:
        """Where this list response is cached, or None when it is not (the default)."""
        return None

    def count_cache_key(self, *, queryset) -> str | None:
        """Where the count of a list's rows is kept between requests (``CountKeptPaginator``),
        or None when it is not (the default)."""
        return None

    def list(self, request, *args, **kwargs):
        key = self.list_cache_key(request)
        # fail_safe_cache: with the cache down, a miss (the page is computed), never a 500.
        cached = fail_safe_cache.get(key) if key else None
        if cached is not None:
            content, content_type = cached
            return CachedListResponse(content, content_type=content_type)
        return super().list(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        """Strong ETag = hash of the rendered body and its media type; If-None-Match -> 304.

        Hashing what is actually sent is correct by construction: any change to a
        product, its collection or its tags on this page, or an insert or delete that
        changes the count, changes the tag. Nothing else goes in: a tag that also moved
        with the catalog's latest save told anonymous clients when products they cannot
        see (drafts) were edited.
        """
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if hasattr(response, "render"):
            response.render()
        content_type = response.get("Content-Type", "")
        digest = hashlib.blake2b(response.content, digest_size=16)
        digest.update(content_type.encode())
        response["ETag"] = f'"{digest.hexdigest()}"'
        key = self.list_cache_key(request) if self.action == "list" else None
        if key and not isinstance(response, CachedListResponse):
            fail_safe_cache.set(key, (response.content, content_type), settings.CATALOG_API_CACHE_SECONDS)
        return get_conditional_response(request, etag=response["ETag"], response=response) or response


@catalog_schema(ProductSerializer, "product")
@extend_schema_view(
    retrieve=extend_schema(
        summary="One product by id",
        description=(
            "The id of a variant answers 302 to its product (when the product is active; else 404): "
            "order lines and carts refer to variants."
        ),
        responses={
            200: ProductSerializer,
            302: OpenApiResponse(description="The id is a variant's: Location is its product's URL."),
            404: ERROR_RESPONSES[404],
        },
    )
)
class ProductViewSet(CatalogViewSet):
    """Products. `/api/products/by-slug/<slug>/` is the lookup by slug; `/api/products/sync/`
    walks the whole catalog in (last_update, id) order with an opaque resume cursor."""

    serializer_class = ProductSerializer
    filter_backends = [ProductFilterBackend, ProductSearchFilter, ProductOrderingFilter]
    filterset_class = ProductFilter
    # Documentation only: ProductSearchFilter searches the title and SKU (store.search).
    search_fields = ["title", "sku"]
    ordering_fields = ["unit_price", "last_update", "title"]
    # Model order plus id, so pages are stable when titles repeat.
    ordering = ["title", "id"]

    def get_queryset(self):
        # Only active products; the sync feed's filter backend adds the tombstones of those
        # that left the active state (ProductSyncFilterBackend, ProductSyncSerializer).
        return selectors.product_list_for_api()

    def filter_queryset(self, queryset):
        # Filters, search and ordering shape lists; a product looked up by id is not
        # hidden by them (and building the FilterSet is most of a detail's cost).
        if self.action in ("list", "sync"):
            return super().filter_queryset(queryset)
        return queryset

    def retrieve(self, request, *args, **kwargs):
        """The product; for a variant's id, a redirect (302) to its product, when that is active."""
        try:
            return super().retrieve(request, *args, **kwargs)
        except (Http404, NotFound):
            lookup = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
            product_id = (
                variant_selectors.variant_product_id(variant_id=int(lookup), products=self.get_queryset())
                if lookup.isdigit() and int(lookup) <= MAX_ID
                else None
            )
            if product_id is None:
                raise
        location = request.build_absolute_uri(reverse("api:product-detail", args=[product_id]))
        query = request.META.get("QUERY_STRING", "")
        return Response(status=302, headers={"Location": f"{location}?{query}" if query else location})

    def paginate_queryset(self, queryset):
        # The sync walk's rows include variants: each is sent as its product (once a page).
        page = super().paginate_queryset(queryset)
        if self.action == "sync" and page is not None:
            return selectors.product_sync_entries(rows=page)
        return page

    def catalog_version(self) -> str:
        # The latest save of any product: one index lookup, once a request, and only when
        # the micro-cache is on. Server-side only: never part of a response (not even
        # hashed into an ETag), since drafts move it too.
        if self.action not in ("list", "sync"):
            return ""
        if not hasattr(self, "_catalog_version"):
            self._catalog_version = str(selectors.product_latest_update())
        return self._catalog_version

    def list_cache_key(self, request) -> str | None:
        """Micro-cache of rendered JSON list pages (CATALOG_API_CACHE_SECONDS, default 5 s).

        Keyed on the query string, the negotiated media type and the catalog version, so a
        saved or added product invalidates it at once in every process; deletes, tag edits
        and bulk UPDATEs that leave last_update alone show up within the TTL.
        """
        seconds = getattr(settings, "CATALOG_API_CACHE_SECONDS", 0)
        if not seconds or self.action != "list" or request.accepted_renderer.format != "json":
            return None
        query = urlencode(sorted(request.query_params.lists()), doseq=True)
        # Scheme and host too: the body's next/previous links are absolute URLs. The media
        # type as negotiated, parameters included: `application/json; indent=4` renders
        # another body ("*/*" and no Accept at all negotiate plain "application/json").
        raw = (
            f"{request.build_absolute_uri(request.path)}?{query}|{request.accepted_media_type}|{self.catalog_version()}"
        )
        return "catalog-api:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()

    def count_cache_key(self, *, queryset) -> str | None:
        """The list's count is kept for CATALOG_API_CACHE_SECONDS under the rows it counts (the
        count query's SQL and parameters: every filter and the search, not the page or the
        order) and the catalog version: a saved or added product moves the key at once; a
        delete shows within the TTL, as in the list's micro-cache."""
        if not getattr(settings, "CATALOG_API_CACHE_SECONDS", 0) or self.action != "list":
            return None
        rows = getattr(queryset, "queryset", queryset)  # ProductPages count their queryset
        try:
            sql, params = rows.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:  # a list that can match nothing: its count costs no query
            return None
        raw = f"{sql}|{params!r}|{self.catalog_version()}"
        return "catalog-api-count:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()

    @extend_schema(
        summary="One product by slug",
        parameters=[OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$")],
        responses={200: ProductSerializer, 404: ERROR_RESPONSES[404]},
    )
    @action(detail=False, url_path=r"by-slug/(?P<slug>[-a-zA-Z0-9_]+)", filter_backends=[])
    def by_slug(self, request, slug: str):
        product = get_object_or_404(self.get_queryset(), slug=slug)
        self.check_object_permissions(request, product)
        return Response(self.get_serializer(product).data)

    @extend_schema(
        summary="Walk the catalog for sync (keyset cursor on last_update, id)",
        responses={200: ProductSyncSerializer(many=True), 400: ERROR_RESPONSES[400]},
    )
    @action(
        detail=False,
        pagination_class=SyncCursorPagination,
        filter_backends=[ProductSyncFilterBackend],
        serializer_class=ProductSyncSerializer,
    )
    def sync(self, request):
        return self.list(request)


@catalog_schema(CollectionSerializer, "collection")
class CollectionViewSet(CatalogViewSet):
    """Collections with their number of products and featured product id."""

    serializer_class = CollectionSerializer
    search_fields = ["title"]
    ordering_fields = ["title", "products_count", "id"]
    ordering = ["title"]
    # The products' micro-cache and its version: counting every collection's active products
    # took 250 ms of SQL a list at 100k products (bench/cpu.py). A product added or saved
    # (status, collection) moves the version at once; a delete or a collection edit shows
    # within CATALOG_API_CACHE_SECONDS.
    catalog_version = ProductViewSet.catalog_version
    list_cache_key = ProductViewSet.list_cache_key

    def get_queryset(self):
        return selectors.collection_list_for_api()
