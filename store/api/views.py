"""Read-only catalog endpoints. Querysets come from store.selectors."""
from __future__ import annotations

import hashlib

from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.response import Response

from store import selectors

from .extensions import product_extensions_load
from .filters import MAX_ID, ProductFilter, ProductFilterBackend
from .pagination import SyncCursorPagination
from .serializers import CollectionSerializer, ProductSerializer, ProductSyncSerializer

NOT_FOUND = "Not found."
ERROR_RESPONSES = {
    400: OpenApiResponse(description="A query parameter is invalid; the body names it."),
    404: OpenApiResponse(description="No such object, or a page out of range."),
}


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

    def etag_salt(self) -> str:
        """Extra state the representation depends on beyond its own bytes."""
        return ""

    def finalize_response(self, request, response, *args, **kwargs):
        """Strong ETag = hash of the rendered body (+ salt); If-None-Match -> 304, no body.

        Hashing what is actually sent is correct by construction: any change to a
        product, its collection or its tags on this page, or an insert or delete that
        changes the count, changes the tag. It saves bandwidth, not queries.
        """
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        response.render()
        digest = hashlib.blake2b(response.content, digest_size=16)
        digest.update(self.etag_salt().encode())
        digest.update(response.get("Content-Type", "").encode())
        response["ETag"] = f'"{digest.hexdigest()}"'
        return get_conditional_response(request, etag=response["ETag"], response=response) or response


@extend_schema_view(
    list=extend_schema(
        summary="List products (page-number pagination)",
        responses={200: ProductSerializer(many=True), **ERROR_RESPONSES},
    ),
    retrieve=extend_schema(summary="One product by id", responses={200: ProductSerializer, 404: ERROR_RESPONSES[404]}),
)
class ProductViewSet(CatalogViewSet):
    """Products. `/api/products/by-slug/<slug>/` is the lookup by slug; `/api/products/sync/`
    walks the whole catalog in (last_update, id) order with an opaque resume cursor."""

    serializer_class = ProductSerializer
    filter_backends = [ProductFilterBackend, SearchFilter, OrderingFilter]
    filterset_class = ProductFilter
    search_fields = ["title", "sku", "description"]
    ordering_fields = ["unit_price", "last_update", "title"]
    # Model order plus id, so pages are stable when titles repeat.
    ordering = ["title", "id"]

    def get_queryset(self):
        return selectors.product_list_for_api()

    def filter_queryset(self, queryset):
        # Filters, search and ordering shape lists; a product looked up by id is not
        # hidden by them (and building the FilterSet is most of a detail's cost).
        if self.action in ("list", "sync"):
            return super().filter_queryset(queryset)
        return queryset

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            product_extensions_load(page)
        return page

    def get_object(self):
        product = super().get_object()
        product_extensions_load([product])
        return product

    def etag_salt(self) -> str:
        # Lists also change tag when any product anywhere is saved or added, not only
        # those on the page (deletes show in `count`). One index lookup.
        if self.action in ("list", "sync"):
            return str(selectors.product_latest_update())
        return ""

    @extend_schema(
        summary="One product by slug",
        parameters=[OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$")],
        responses={200: ProductSerializer, 404: ERROR_RESPONSES[404]},
    )
    @action(detail=False, url_path=r"by-slug/(?P<slug>[-a-zA-Z0-9_]+)", filter_backends=[])
    def by_slug(self, request, slug: str):
        product = get_object_or_404(self.get_queryset(), slug=slug)
        self.check_object_permissions(request, product)
        product_extensions_load([product])
        return Response(self.get_serializer(product).data)

    @extend_schema(
        summary="Walk the catalog for sync (keyset cursor on last_update, id)",
        responses={200: ProductSyncSerializer(many=True), 400: ERROR_RESPONSES[400]},
    )
    @action(
        detail=False, pagination_class=SyncCursorPagination, filter_backends=[ProductFilterBackend],
        serializer_class=ProductSyncSerializer,
    )
    def sync(self, request):
        return self.list(request)


@extend_schema_view(
    list=extend_schema(summary="List collections", responses={200: CollectionSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One collection by id", responses={200: CollectionSerializer, 404: ERROR_RESPONSES[404]}),
)
class CollectionViewSet(CatalogViewSet):
    """Collections with their number of products and featured product id."""

    serializer_class = CollectionSerializer
    search_fields = ["title"]
    ordering_fields = ["title", "products_count", "id"]
    ordering = ["title"]

    def get_queryset(self):
        return selectors.collection_list_for_api()
