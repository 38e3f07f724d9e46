"""Test settings with the store/tags glue taken out: the admin must work without tags."""

from backoffice.settings.test import *  # noqa: F403
from backoffice.settings.test import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "store_custom"]
