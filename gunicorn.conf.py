"""gunicorn settings for production: `gunicorn --config gunicorn.conf.py backoffice.wsgi`.

Every value can be overridden from the environment (names below). Heavy work (large
exports, imports, bulk edits) runs on workers, so a web request is short: the
timeout only has to cover the longest synchronous request left.
"""

import multiprocessing
import os

# Where to listen: PORT (platforms set it) or GUNICORN_BIND.
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers: (2 x CPUs) + 1, the usual rule for I/O-bound Django; WEB_CONCURRENCY overrides.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Imports above IMPORT_INLINE_MAX_ROWS and exports above EXPORT_INLINE_MAX_ROWS are jobs, so the
# longest synchronous request is an inline import of 5,000 rows or an upload (seconds); the
# timeout only guards against a stuck worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))
# Graceful restarts (SIGHUP, deploys): a worker finishes its requests within this time.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then (slow leaks), staggered so they never restart together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# Access and error logs to stdout/stderr: the platform collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# Trust X-Forwarded-* only from these proxy addresses (comma-separated).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Uploads are spooled to this folder (a RAM disk in containers avoids slow /tmp).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
