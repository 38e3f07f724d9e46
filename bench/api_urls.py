"""The project's URLs plus the trivial DRF baseline view (bench only)."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.urls import urlpatterns as project_urlpatterns

CONSTANT = {"id": 1, "sku": "BENCH-1", "title": "Constant", "unit_price": "1.00"}


class ConstantView(APIView):
    """Same DRF pipeline (auth, permission, throttle, renderer) as the catalog, no work."""

    def get(self, request):
        return Response(CONSTANT)


urlpatterns = [path("bench/constant/", ConstantView.as_view()), *project_urlpatterns]
