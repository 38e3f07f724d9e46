"""Test settings: fast hashing, in-memory email and cache, no debug toolbar."""
from .base import *  # noqa: F401,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# High enough that the suite never throttles itself; the throttle test lowers it.
CATALOG_API_ANON_RATE = "100000/hour"
