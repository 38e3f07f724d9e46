"""Audit receivers for authentication events (connected in StoreConfig.ready).

Passwords never reach the log: Django masks them in user_login_failed's credentials and
we only read the username from them.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from .audit import audit_event


def _ip(request: HttpRequest | None) -> str | None:
    return getattr(request, "axes_ip_address", None) or (request.META.get("REMOTE_ADDR") if request else None)


def audit_login(sender, request: HttpRequest | None, user, **kwargs: Any) -> None:
    audit_event("auth.login", user=user, ip=_ip(request))


def audit_login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = credentials.get(get_user_model().USERNAME_FIELD, credentials.get("username"))
    audit_event("auth.login_failed", username=username, ip=_ip(request))


def audit_locked_out(sender, request: HttpRequest | None = None, username: str | None = None,
                     ip_address: str | None = None, **kwargs: Any) -> None:
    audit_event("auth.locked_out", username=username, ip=ip_address or _ip(request))


def audit_logout(sender, request: HttpRequest | None, user, **kwargs: Any) -> None:
    audit_event("auth.logout", user=user, ip=_ip(request))
