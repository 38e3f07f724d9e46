from django.conf import settings
from rest_framework.permissions import BasePermission


class CatalogReadAccess(BasePermission):
    """Anyone may read, unless settings.CATALOG_API_REQUIRE_AUTH asks for a login.

    Read per request, so the setting can be flipped without re-importing anything.
    Writes never reach a handler: the views answer 405 before authentication.
    """

    def has_permission(self, request, view) -> bool:
        if getattr(settings, "CATALOG_API_REQUIRE_AUTH", False):
            return bool(request.user and request.user.is_authenticated)
        return True
