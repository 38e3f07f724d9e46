"""WSGI entry point: `gunicorn backoffice.wsgi`. Defaults to production settings."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.prod")

application = get_wsgi_application()
