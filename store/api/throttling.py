from django.conf import settings
from rest_framework.throttling import AnonRateThrottle

from backoffice.cache import fail_safe_cache
from backoffice.security import client_ip_address


class CatalogAnonThrottle(AnonRateThrottle):
    """Per-IP limit for anonymous clients, at settings.CATALOG_API_ANON_RATE.

    DRF's stock throttles copy DEFAULT_THROTTLE_RATES into a class attribute at import
    time, so a changed setting (tests, a reloaded config) would be ignored; this one
    reads the setting on every request.

    The counters live in the shared cache, through ``fail_safe_cache``: when the cache is
    down, the history reads as empty and is not stored, so the throttle lets every request
    through (fails open) rather than failing it.
    """

    cache = fail_safe_cache

    def get_rate(self) -> str | None:
        return getattr(settings, "CATALOG_API_ANON_RATE", None)

    def get_ident(self, request) -> str:
        """The client's address by the rule the login lockout uses (TRUSTED_PROXY_COUNT).

        DRF's own get_ident trusts X-Forwarded-For unless NUM_PROXIES is set, so any
        client could send a fresh address per request, or spend another client's quota.
        """
        return client_ip_address(request) or ""
