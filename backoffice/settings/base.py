"""Settings shared by every environment. dev/test/prod import this and override a little."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-local-development-only")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Applications -----------------------------------------------------------
INSTALLED_APPS = [
    "backoffice.apps.BackOfficeAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # thousands separators in counts (intcomma)
    # third party
    "admin_auto_filters",
    "import_export",
    "simple_history",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "rest_framework.authtoken",
    # background jobs: Django's tasks API (django-tasks backport) and its database queue
    "django_tasks",
    "django_tasks_db",
    # ours: store_custom glues store and tags, so it comes after both
    "store",
    "tags",
    "store_custom",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight after SecurityMiddleware, before anything that touches the session.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out login (django-axes) into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# DATABASE_URL picks the database (e.g. mysql://root@127.0.0.1:3306/backoffice);
# without it we use the embedded SQLite file.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            # Strict mode: MySQL refuses bad data instead of truncating it silently.
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        }
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # SQLite has one writer at a time. BEGIN IMMEDIATE takes the write lock when a
            # transaction starts, so a second writer waits for it (up to "timeout" seconds)
            # instead of failing with "database is locked" when its read turns into a write.
            "transaction_mode": "IMMEDIATE",
            "timeout": int(os.environ.get("SQLITE_BUSY_TIMEOUT", "30")),
            # WAL: pages keep reading while an import writes.
            "init_command": "PRAGMA journal_mode=WAL",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses locked-out logins before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Login throttling (django-axes) -----------------------------------------
# After AXES_FAILURE_LIMIT failed logins for one username, or from one IP address,
# further attempts are refused for the cool-off period; a successful login resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout do not extend it, so an attacker cannot keep a user out forever.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "backoffice.security.lockout_response"
# Behind a reverse proxy, REMOTE_ADDR is the proxy: see TRUSTED_PROXY_COUNT in backoffice/security.py.
AXES_CLIENT_IP_CALLABLE = "backoffice.security.client_ip_address"
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves STATIC_ROOT (filled by collectstatic). prod.py switches to the
# compressed, hashed manifest storage; dev and tests keep the plain storage and serve
# from the apps' static folders, so they never need collectstatic.
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Media (product images) -------------------------------------------------
# Uploaded files go through STORAGES["default"]: the local MEDIA_ROOT unless an S3
# bucket is configured (below). `runserver` serves MEDIA_URL in development (DEBUG).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
# S3-compatible object storage (AWS S3, MinIO, Ceph, R2...) through django-storages, so
# web and worker machines share the files. Credentials come from the environment.
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            # Public, stable URLs by default: the API hands them to the storefront, and a
            # signed URL would expire and change every response's ETag.
            "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", False),
            "custom_domain": os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
            # e.g. public-read, for buckets that use ACLs; else make the bucket (or the
            # CDN in front of it) readable by a bucket policy.
            "default_acl": os.environ.get("AWS_DEFAULT_ACL") or None,
            # Services name every file with a random stem; never overwrite silently.
            "file_overwrite": False,
        },
    }
# Private files (export files): only their owner may download them, through the admin's
# permission check, so they never live under MEDIA_URL. A local folder outside MEDIA_ROOT;
# with S3, the bucket AWS_PRIVATE_BUCKET_NAME (default: the media bucket) under private/,
# stored with the private ACL and read only through signed requests.
PRIVATE_FILES_ROOT = Path(os.environ.get("PRIVATE_FILES_ROOT", BASE_DIR / "var" / "private"))
STORAGES["private"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": PRIVATE_FILES_ROOT},
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **STORAGES["default"]["OPTIONS"],
            "bucket_name": os.environ.get("AWS_PRIVATE_BUCKET_NAME") or AWS_STORAGE_BUCKET_NAME,
            "location": "private",
            "default_acl": "private",
            "querystring_auth": True,
            "custom_domain": None,
        },
    }
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# --- Store ------------------------------------------------------------------
# Products in stock but below this inventory count as "Low" (0 is "Out of stock").
LOW_STOCK_THRESHOLD = int(os.environ.get("LOW_STOCK_THRESHOLD", "10"))
# Local hour after which the scheduler (housekeeping) sends the daily low-stock digest.
LOW_STOCK_DIGEST_HOUR = int(os.environ.get("LOW_STOCK_DIGEST_HOUR", "7"))
# Bulk edits of up to this many products run in the request; larger selections run as jobs
# on the task queue.
BULK_INLINE_MAX = int(os.environ.get("BULK_INLINE_MAX", "1000"))

# --- Search -----------------------------------------------------------------
# Words per search (admin changelists, autocomplete, exports, the API's ?search=); more
# are refused with a message (API: 400). Each word adds conditions to the query.
SEARCH_MAX_TERMS = int(os.environ.get("SEARCH_MAX_TERMS", "20"))

# --- Catalog API (store/api/, mounted at /api/) ----------------------------
# Catalog data is public: anonymous reads are allowed unless this is on.
CATALOG_API_REQUIRE_AUTH = env_bool("CATALOG_API_REQUIRE_AUTH", False)
# Anonymous clients are throttled per IP (DRF rate syntax: "N/second|minute|hour|day").
# The counters live in the default cache, shared by every process (see CACHES below).
CATALOG_API_ANON_RATE = os.environ.get("CATALOG_API_ANON_RATE", "120/minute")
# Seconds a rendered JSON product-list page may be served from the cache (0 = never).
# On by default: a fresh list costs an exact COUNT(*) plus serialisation (~20 ms at 100k
# products), a cached one under 2 ms (bench/api.py).
# A saved or added product invalidates at once; deletes, tag edits and bulk UPDATEs
# that leave last_update alone show within this delay. See docs/guide/api.md.
CATALOG_API_CACHE_SECONDS = int(os.environ.get("CATALOG_API_CACHE_SECONDS", "5"))
# price_with_tax = unit_price x (1 + TAX_RATE), rounded to cents.
TAX_RATE = Decimal(os.environ.get("TAX_RATE", "0.1"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous client of a login-only API gets 401 + WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["store.api.permissions.CatalogReadAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["store.api.throttling.CatalogAnonThrottle"],
    "DEFAULT_PAGINATION_CLASS": "store.api.pagination.CatalogPagePagination",
    "PAGE_SIZE": 10,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "store.api.search.CappedSearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Storefront catalog API",
    "DESCRIPTION": "Read-only catalog: products, collections and tags.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A stable name for the product status enum (else "StatusEnum", which any other
    # `status` field with other choices would collide with).
    "ENUM_NAME_OVERRIDES": {"ProductStatusEnum": "store.models.Product.Status"},
}

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
# The audit trail (store.audit.audit_event: logins, failures, lockouts, imports, exports,
# bulk actions) has its own handler and format so operators can route it separately.
AUDIT_LOG_LEVEL = os.environ.get("AUDIT_LOG_LEVEL", "INFO").upper()
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "console": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "audit": {"format": "%(asctime)s AUDIT %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "console"},
        # AUDIT_LOG_FILE sends the trail to its own file (reopened after logrotate); else stderr.
        "audit": (
            {
                "class": "logging.handlers.WatchedFileHandler",
                "filename": os.environ["AUDIT_LOG_FILE"],
                "formatter": "audit",
            }
            if os.environ.get("AUDIT_LOG_FILE")
            else {"class": "logging.StreamHandler", "formatter": "audit"}
        ),
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "backoffice.audit": {"handlers": ["audit"], "level": AUDIT_LOG_LEVEL, "propagate": False},
        # axes announces its configuration at INFO on every start (every manage.py call).
        "axes.apps": {"level": "WARNING"},
    },
}

# --- Import/export ----------------------------------------------------------
# Uploaded import files, saved previews and failed-rows files live in STORAGES["private"]
# (never served directly: the admin streams failed rows behind a permission check).
# Files of up to this many data rows are previewed and written inside the request; larger
# ones are import jobs (a worker previews, and writes once confirmed).
IMPORT_INLINE_MAX_ROWS = int(os.environ.get("IMPORT_INLINE_MAX_ROWS", "5000"))
# Uploads above this size are refused before they are parsed.
IMPORT_MAX_FILE_BYTES = int(os.environ.get("IMPORT_MAX_FILE_BYTES", str(50 * 1024 * 1024)))
# Data rows per file; a file with more is refused (counted while it is read).
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "500000"))
# A file whose header no format or profile knows is mapped on a page with a choice per column:
# wider headers are refused there (the command line's --map takes any width).
IMPORT_MAX_MAPPING_COLUMNS = int(os.environ.get("IMPORT_MAX_MAPPING_COLUMNS", "500"))
# XLSX zip-bomb guards: total uncompressed size and per-member compression ratio.
IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES = int(os.environ.get("IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES", str(300 * 1024 * 1024)))
IMPORT_MAX_XLSX_RATIO = int(os.environ.get("IMPORT_MAX_XLSX_RATIO", "200"))
# The username import_products and revert_import record as having run them when --user is not
# given: the import then shows in that user's import history, which they may revert.
IMPORT_CLI_USER = os.environ.get("IMPORT_CLI_USER", "").strip()

# --- Background jobs (Django's tasks API through django-tasks) ---------------
# TASKS_BACKEND picks the queue: "db" (default, embedded: the queue is a table in the
# database, `manage.py run_worker` runs tasks), "rq" (Redis at REDIS_URL, workers on any
# number of machines) or "immediate" (runs in the request; tests). docs/operations.md.
REDIS_URL = os.environ.get("REDIS_URL", "")
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "rq" if REDIS_URL else "db").strip().lower()
TASK_BACKENDS = {
    "db": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in TASK_BACKENDS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {', '.join(TASK_BACKENDS)}, not {TASKS_BACKEND!r}.")
TASKS = {"default": {"BACKEND": TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default"]}}
if TASKS_BACKEND == "rq":
    if not REDIS_URL:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("TASKS_BACKEND=rq needs REDIS_URL (e.g. redis://127.0.0.1:6379/0).")
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django_tasks_db") + 1, "django_rq")  # before our apps
    # A job may run for many minutes (a 1M-row export); RQ kills it after this.
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": int(os.environ.get("JOB_TIMEOUT", "7200"))}}
# A running job writes a heartbeat at least this often; one silent for
# JOB_HEARTBEAT_TIMEOUT seconds is "failed: worker lost" (retry it from its page).
JOB_HEARTBEAT_TIMEOUT = int(os.environ.get("JOB_HEARTBEAT_TIMEOUT", "300"))
# A job step queued this long that no worker started, and that the queue no longer holds (it
# restarted, or is down), fails at the next `housekeeping`; its page offers Retry.
JOB_QUEUED_TIMEOUT = int(os.environ.get("JOB_QUEUED_TIMEOUT", "1800"))
# An import or bulk edit run inside a web request sends no heartbeat: one still running after
# this many seconds died with its web process (gunicorn's timeout is 300 s); `housekeeping`
# then records what the database holds (its history rows) as its end.
INLINE_STEP_TIMEOUT = int(os.environ.get("INLINE_STEP_TIMEOUT", "600"))
# Links in emails and job pages that leave the site (e.g. https://admin.example.com).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Exports as jobs --------------------------------------------------------
# Exports of more rows than this run as background jobs writing a file to the default
# storage (STORAGES["default"]); smaller ones are answered in the request.
EXPORT_INLINE_MAX_ROWS = int(os.environ.get("EXPORT_INLINE_MAX_ROWS", "10000"))
# Export files are deleted this many days after they were written (`manage.py housekeeping`).
EXPORT_RETENTION_DAYS = int(os.environ.get("EXPORT_RETENTION_DAYS", "7"))

# --- Shared state: cache ----------------------------------------------------
# The dashboard cache, the API micro-cache and the API throttle counters live in the
# default cache, which every web process must share: Redis when REDIS_URL is set,
# otherwise a table in the database (created by every `migrate`, see
# store.receivers.create_cache_tables). LocMem would give each process its own answers
# and its own throttle budget. docs/operations.md.
# Redis down is not an error for them (backoffice/cache.py): the dashboard and the API are
# served from the database, the throttle lets requests through, /readyz reports "cache".
# The timeouts bound what an unreachable Redis (no answer at all) costs a request.
REDIS_CACHE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_entries"}}
# Optional: REDIS_CACHE_URL separates the cache from the queue's Redis database.
if os.environ.get("REDIS_CACHE_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_CACHE_URL"],
        "OPTIONS": REDIS_CACHE_OPTIONS,
    }

# --- Email ------------------------------------------------------------------
# Job notifications ("your export is ready"). With EMAIL_HOST set, SMTP; otherwise the
# console (development). Tests use the in-memory outbox.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "backoffice@localhost")
# --- Product images ---------------------------------------------------------
# Uploads above either limit are refused with a form error. The pixel limit is read
# from the file's header before any pixel is decoded (decompression bombs).
PRODUCT_IMAGE_MAX_BYTES = int(os.environ.get("PRODUCT_IMAGE_MAX_BYTES", str(10 * 1024 * 1024)))
PRODUCT_IMAGE_MAX_PIXELS = int(os.environ.get("PRODUCT_IMAGE_MAX_PIXELS", str(40_000_000)))
# Longest side of the thumbnails made for the admin list and the API (pixels).
PRODUCT_THUMBNAIL_SIZE = int(os.environ.get("PRODUCT_THUMBNAIL_SIZE", "320"))

# Images listed by imports are fetched by background tasks (store/image_fetch.py).
# Hosts that resolve to private/loopback/link-local addresses are refused unless listed here.
IMAGE_FETCH_ALLOWED_HOSTS = [h.strip() for h in os.environ.get("IMAGE_FETCH_ALLOWED_HOSTS", "").split(",") if h.strip()]
IMAGE_FETCH_CONNECT_TIMEOUT = float(os.environ.get("IMAGE_FETCH_CONNECT_TIMEOUT", "5"))
IMAGE_FETCH_READ_TIMEOUT = float(os.environ.get("IMAGE_FETCH_READ_TIMEOUT", "15"))
IMAGE_FETCH_TOTAL_TIMEOUT = float(os.environ.get("IMAGE_FETCH_TOTAL_TIMEOUT", "60"))
IMAGE_FETCH_MAX_REDIRECTS = 3
IMAGE_FETCH_ATTEMPTS = int(os.environ.get("IMAGE_FETCH_ATTEMPTS", "4"))
IMAGE_FETCH_BACKOFF = 30  # seconds; attempt n waits BACKOFF * 4^(n-1)
# A fetch claimed this long ago and still pending lost its worker: housekeeping requeues it
# (or fails it when no attempt is left). Far above a fetch's total deadline.
IMAGE_FETCH_STALE_AFTER = int(os.environ.get("IMAGE_FETCH_STALE_AFTER", "3600"))
