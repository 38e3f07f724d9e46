"""Login throttling glue for django-axes: the client's IP and the lockout page."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCKOUT_TEMPLATE = "admin/lockout.html"


def client_ip_address(request: HttpRequest) -> str | None:
    """The address the lockout counts against.

    Directly exposed, that is REMOTE_ADDR. Behind TRUSTED_PROXY_COUNT reverse proxies it is
    the address the outermost trusted proxy saw, taken from the right of X-Forwarded-For:
    entries further left are client-supplied and could be forged to dodge the lockout.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The admin-styled "too many attempts" page (HTTP 429) instead of axes' bare text."""
    cool_off: timedelta | None = settings.AXES_COOLOFF_TIME
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed login attempts",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    # Rendered now: AxesMiddleware returns it after the view, past TemplateResponse rendering.
    return render(request, LOCKOUT_TEMPLATE, context, status=429)
