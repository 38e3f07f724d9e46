from django.conf import settings
from rest_framework.throttling import AnonRateThrottle

from backoffice.security import client_ip_address


class CatalogAnonThrottle(AnonRateThrottle):
    """Per-IP limit for anonymous clients, at settings.CATALOG_API_ANON_RATE.

    DRF's stock throttles copy DEFAULT_THROTTLE_RATES into a class attribute at import
    time, so a changed setting (tests, a reloaded config) would be ignored; this one
    reads the setting on every request.
    """

    def get_rate(self) -> str | None:
        return getattr(settings, "CATALOG_API_ANON_RATE", None)

    def get_ident(self, request) -> str:
        """The client's address by the rule the login lockout uses (TRUSTED_PROXY_COUNT).

        DRF's own get_ident trusts X-Forwarded-For unless NUM_PROXIES is set, so any
        client could send a fresh address per request, or spend another client's quota.
        """
        return client_ip_address(request) or ""
