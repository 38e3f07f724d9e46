"""/api/: the catalog router, plus routes other apps registered, the schema and the docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import APIRootView, DefaultRouter

from store import extensions
from store.api.views import CollectionViewSet, ProductViewSet

app_name = "api"


class CatalogAPIRootView(APIRootView):
    """The read-only catalog of the online store: active products, collections and what other
    apps add (tags). Log in or send a token; every list is paginated. The documentation, with
    every field and filter, is at /api/docs/."""

    def get_view_name(self) -> str:
        return "Catalog API"


class CatalogRouter(DefaultRouter):
    # DRF's root would say "Api Root" and "The default basic root view for DefaultRouter".
    APIRootView = CatalogAPIRootView


router = CatalogRouter()
router.register("products", ProductViewSet, basename="product")
router.register("collections", CollectionViewSet, basename="collection")
for route in extensions.api_routes():
    router.register(route.prefix, route.viewset, basename=route.basename)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
