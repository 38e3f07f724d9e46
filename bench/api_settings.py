"""Settings for bench/api.py: production settings plus a bench-only URLconf.

The URLconf adds /bench/constant/, a trivial DRF view that exists only here, so
the app never ships a junk endpoint.
"""

from backoffice.settings.prod import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.api_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# Plain HTTP on loopback: whatever prod enforces for TLS does not apply here.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
