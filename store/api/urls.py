"""/api/: the catalog router, plus routes other apps registered, the schema and the docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from store import extensions
from store.api.views import CollectionViewSet, ProductViewSet

app_name = "api"

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")
router.register("collections", CollectionViewSet, basename="collection")
for route in extensions.api_routes():
    router.register(route.prefix, route.viewset, basename=route.basename)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
