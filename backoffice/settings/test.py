"""Test settings: fast hashing, in-memory email and cache, no debug toolbar."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import LOGGING

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Task code runs in the test's own process and transaction; the end-to-end worker tests
# (tests/queue/) start real workers on the database and RQ queues.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# django-axes refuses authenticate() calls without a request, which is what the test
# client's login(username=..., password=...) makes, and it would lock the suite out
# after five failed logins. The throttling tests (tests/security/test_login_throttling.py) turn
# it back on with the `settings` fixture; everywhere else it is off.
AXES_ENABLED = False

# pytest's caplog listens on the root logger: audit events go there (and only there).
LOGGING["loggers"]["backoffice.audit"] = {
    **LOGGING["loggers"]["backoffice.audit"],
    "handlers": [],
    "propagate": True,
}

# Product images too; the tests never use an S3 bucket unless they start one (moto).
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="backoffice-media-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # A process the tests start (a server, a worker) is given its parent's folder.
        "OPTIONS": {
            "location": Path(os.environ.get("PRIVATE_FILES_ROOT") or tempfile.mkdtemp(prefix="backoffice-private-"))
        },
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# High enough that the suite never throttles itself; the throttle test lowers it.
CATALOG_API_ANON_RATE = "100000/hour"
# Contract tests see every change at once; TestListCache turns the micro-cache on.
CATALOG_API_CACHE_SECONDS = 0
