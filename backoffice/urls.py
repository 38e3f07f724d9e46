from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from backoffice.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("store.api.urls")),
]

# Uploaded product images in development (`make run`); production serves MEDIA_URL from
# the web server or the S3 bucket. static() adds nothing unless DEBUG is on.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

if getattr(settings, "DEBUG_TOOLBAR", False):
    urlpatterns = [path("__debug__/", include("debug_toolbar.urls")), *urlpatterns]
