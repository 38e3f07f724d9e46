"""Local development: `make run`. DEBUG on; the debug toolbar when it is installed."""

from importlib.util import find_spec

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, MIDDLEWARE

DEBUG = True

# The toolbar slows imports about 10x, so it never loads outside dev, and
# DEBUG_TOOLBAR_CONFIG keeps it off the import views.
DEBUG_TOOLBAR = find_spec("debug_toolbar") is not None
if DEBUG_TOOLBAR:
    INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
    MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
    INTERNAL_IPS = ["127.0.0.1"]
    DEBUG_TOOLBAR_CONFIG = {
        "SHOW_TOOLBAR_CALLBACK": "backoffice.debug.show_toolbar",
        # Collapsed to its handle until opened (open, it covers the product list's filters);
        # the toolbar remembers the choice in its "djdt" cookie.
        "SHOW_COLLAPSED": True,
    }
