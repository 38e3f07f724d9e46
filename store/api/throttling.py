from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class CatalogAnonThrottle(AnonRateThrottle):
    """Per-IP limit for anonymous clients, at settings.CATALOG_API_ANON_RATE.

    DRF's stock throttles copy DEFAULT_THROTTLE_RATES into a class attribute at import
    time, so a changed setting (tests, a reloaded config) would be ignored; this one
    reads the setting on every request.
    """

    def get_rate(self) -> str | None:
        return getattr(settings, "CATALOG_API_ANON_RATE", None)
