"""Production settings: everything sensitive comes from the environment.

Required: SECRET_KEY (50+ random characters), ALLOWED_HOSTS (comma-separated), and in
practice DATABASE_URL (mysql://user:password@host:3306/name; without it, SQLite).
Optional: CSRF_TRUSTED_ORIGINS (https://admin.example.com,...), SECURE_PROXY_SSL_HEADER,
SECURE_SSL_REDIRECT, SECURE_HSTS_*, CONN_MAX_AGE, TRUSTED_PROXY_COUNT, LOG_LEVEL,
AUDIT_LOG_LEVEL, AUDIT_LOG_FILE, STATIC_ROOT. README "Run in production" shows a full run.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, STORAGES, env_bool, env_list

DEBUG = False

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment for production.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Database ---------------------------------------------------------------
# base.py reads DATABASE_URL; production keeps connections open and checks them first.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- HTTPS ------------------------------------------------------------------
# Behind a TLS-terminating proxy, Django sees plain HTTP: name the header the proxy sets,
# e.g. SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO. Only do so when the proxy always
# sets (or strips) that header, otherwise clients could fake HTTPS.
# "X-Forwarded-Proto" and "HTTP_X_FORWARDED_PROTO" both work.
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    _header = os.environ["SECURE_PROXY_SSL_HEADER"].strip().upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (_header if _header.startswith("HTTP_") else f"HTTP_{_header}", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Load balancers probe over plain HTTP on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# One year of HSTS for the host and its subdomains; preload asks browsers to ship it
# built in (it only takes effect once the domain is submitted to hstspreload.org).
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- Cookies and headers ----------------------------------------------------
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Static files -----------------------------------------------------------
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# collectstatic writes hashed, compressed copies to STATIC_ROOT; WhiteNoise serves them
# with far-future cache headers. Nothing is looked up in the apps at request time.
# Only the static files change: the default (media: local or S3) and private storages
# stay as base.py chose them from the environment.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
