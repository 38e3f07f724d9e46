from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from backoffice.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("store.api.urls")),
    # Pages that name no icon (the API's, a JSON response) make browsers ask for /favicon.ico.
    # Lazy: the static URL (hashed in production) is read at the first request, not at import.
    path("favicon.ico", RedirectView.as_view(url=lazy(static_url, str)("store/favicon.svg"), permanent=True)),
]

# Uploaded product images in development (`make run`); production serves MEDIA_URL from
# the web server or the S3 bucket. static() adds nothing unless DEBUG is on.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

if getattr(settings, "DEBUG_TOOLBAR", False):
    urlpatterns = [path("__debug__/", include("debug_toolbar.urls")), *urlpatterns]
