"""Who runs an import or a revert from the command line: ``--user``, or settings.IMPORT_CLI_USER.

The job records them, like an upload in the admin, so the import shows in their import history
and they may revert it. They must be an active user with ``store.import_product``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

ERROR_NO_USER = "No user {username!r}: give an existing username to --user (or IMPORT_CLI_USER)."
ERROR_INACTIVE = "User {username!r} is inactive: give an active user to --user (or IMPORT_CLI_USER)."
ERROR_NOT_IMPORTER = "User {username!r} may not import products (store.import_product): give an importer to --user."
NOTE_NO_USER = (
    "Recorded without a user (no --user, no IMPORT_CLI_USER): only users who may see everyone's imports "
    "see it in the import history."
)


def import_cli_user(*, username: str | None) -> AbstractBaseUser | None:
    """The user named by ``--user`` (or IMPORT_CLI_USER); None when neither names one. ValidationError when
    the name is unknown, inactive or not allowed to import."""
    username = (username or settings.IMPORT_CLI_USER or "").strip()
    if not username:
        return None
    model = get_user_model()
    user = model.objects.filter(**{model.USERNAME_FIELD: username}).first()
    if user is None:
        raise ValidationError(ERROR_NO_USER.format(username=username), code="no_user")
    if not user.is_active:
        raise ValidationError(ERROR_INACTIVE.format(username=username), code="inactive")
    if not user.has_perm("store.import_product"):
        raise ValidationError(ERROR_NOT_IMPORTER.format(username=username), code="not_importer")
    return user
