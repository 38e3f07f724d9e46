from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from backoffice.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("store.api.urls")),
]

if getattr(settings, "DEBUG_TOOLBAR", False):
    urlpatterns = [path("__debug__/", include("debug_toolbar.urls")), *urlpatterns]
