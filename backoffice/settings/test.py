"""Test settings: fast hashing, in-memory email and cache, no debug toolbar."""
from .base import *  # noqa: F401,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

IMPORT_FILES_ROOT = Path(tempfile.mkdtemp(prefix="backoffice-imports-"))
