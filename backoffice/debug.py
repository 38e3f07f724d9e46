"""Development-only helpers."""

from django.conf import settings
from django.http import HttpRequest

# Paths where the toolbar would distort timings badly (imports run ~10x slower under it).
TOOLBAR_EXCLUDED_MARKERS = ("/import", "/export", "/api/")


def show_toolbar(request: HttpRequest) -> bool:
    if not settings.DEBUG or request.META.get("REMOTE_ADDR") not in settings.INTERNAL_IPS:
        return False
    return not any(marker in request.path for marker in TOOLBAR_EXCLUDED_MARKERS)
