"""django-axes on the admin login: 5 failures per username or per IP, then a cool-off.

Axes is off in the test settings (see backoffice/settings/test.py); these tests turn it on.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backoffice.security import client_ip_address
from backoffice.settings import base

PASSWORD = "correct horse battery staple"
LOCKOUT_TEXT = "Too many failed login attempts"


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    assert settings.AXES_FAILURE_LIMIT == 5  # the base settings, unchanged by the test settings
    return settings


@pytest.fixture
def staff(db):
    return User.objects.create_user("merch", password=PASSWORD, is_staff=True)


def attempt(username: str, password: str, ip: str = "198.51.100.1", client: Client | None = None):
    client = client or Client(REMOTE_ADDR=ip)
    return client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": reverse("admin:index")}
    )


def fail(times: int, username: str = "merch", ip: str = "198.51.100.1"):
    return [attempt(username, "wrong", ip) for _ in range(times)]


def test_four_failures_still_let_the_right_password_in(axes_on, staff):
    responses = fail(4)

    assert [r.status_code for r in responses] == [200] * 4  # the login form with its error
    assert "Please enter the correct username and password" in responses[-1].content.decode()
    assert attempt("merch", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()  # a successful login resets the count


def test_after_five_failures_even_the_right_password_is_refused(axes_on, staff):
    fifth = fail(5)[-1]
    sixth = attempt("merch", PASSWORD)

    for response in (fifth, sixth):
        text = " ".join(response.content.decode().split())
        assert response.status_code == 429
        assert LOCKOUT_TEXT in text
        assert "sign-in is blocked for 15 minutes after the last failed attempt" in text
        assert "Storefront back-office" in text  # the admin's own page, not a bare 403
    assert "_auth_user_id" not in sixth.client.session


def test_the_lockout_is_per_username_from_any_address(axes_on, staff):
    for n in range(5):
        attempt("merch", "wrong", ip=f"198.51.100.{n + 10}")

    assert attempt("merch", PASSWORD, ip="203.0.113.50").status_code == 429
    User.objects.create_user("other", password=PASSWORD, is_staff=True)
    assert attempt("other", PASSWORD, ip="203.0.113.50").status_code == 302


def test_the_lockout_is_per_address_for_any_username(axes_on, staff):
    for n in range(5):
        attempt(f"guess{n}", "wrong", ip="198.51.100.66")

    assert attempt("merch", PASSWORD, ip="198.51.100.66").status_code == 429
    assert attempt("merch", PASSWORD, ip="198.51.100.67").status_code == 302


def forwarded_attempt(username: str, password: str, forwarded: str):
    """A login through a reverse proxy at 10.0.0.1 that appends what it saw to X-Forwarded-For."""
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    return attempt(username, password, client=client)


def test_a_forged_x_forwarded_for_does_not_dodge_the_address_lockout(axes_on, staff):
    for n in range(5):
        forwarded_attempt(f"guess{n}", "wrong", forwarded=f"203.0.113.{n}")

    # No trusted proxy: the header is ignored, every attempt counted against REMOTE_ADDR.
    assert forwarded_attempt("merch", PASSWORD, forwarded="203.0.113.99").status_code == 429


def test_behind_one_trusted_proxy_the_lockout_counts_the_hop_the_proxy_saw(axes_on, staff):
    axes_on.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        forwarded_attempt(f"guess{n}", "wrong", forwarded=f"6.6.6.{n}, 203.0.113.7")

    assert forwarded_attempt("merch", PASSWORD, forwarded="1.1.1.1, 203.0.113.7").status_code == 429
    # Another client behind the same proxy is not locked out, and cannot claim to be the locked one.
    assert forwarded_attempt("merch", PASSWORD, forwarded="203.0.113.7, 203.0.113.8").status_code == 302


def test_attempts_during_the_lockout_do_not_extend_it(axes_on, staff):
    fail(5)
    before = AccessAttempt.objects.get(username="merch")

    fail(3)

    after = AccessAttempt.objects.get(username="merch")
    assert (after.failures_since_start, after.attempt_time) == (before.failures_since_start, before.attempt_time)


def test_the_lockout_ends_after_the_cool_off(axes_on, staff):
    fail(5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert attempt("merch", PASSWORD).status_code == 302


def test_the_test_settings_keep_the_suite_unlocked(staff):
    """Axes is off here: failures are not counted and client.login() works."""
    fail(10)
    assert Client().login(username="merch", password=PASSWORD)
    assert not AccessAttempt.objects.exists()


def test_base_settings_enable_axes_for_every_real_environment():
    assert getattr(base, "AXES_ENABLED", True) is True
    assert base.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert base.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert base.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "", "10.0.0.1"),
        (0, "203.0.113.7", "10.0.0.1"),  # no trusted proxy: the header is ignored (forgeable)
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # left entries were sent by the client
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.1"),  # fewer hops than proxies: not trustworthy
    ],
)
def test_client_ip_behind_trusted_proxies(proxies, forwarded, expected, settings, rf):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip_address(request) == expected


# --- Audit trail ----------------------------------------------------------------


def audit_messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "backoffice.audit"]


def test_logins_failures_and_lockouts_are_audited(axes_on, staff, caplog):
    caplog.set_level(logging.INFO, logger="backoffice.audit")

    attempt("merch", PASSWORD, ip="198.51.100.5")
    fail(4, ip="198.51.100.5")
    assert "auth.locked_out" not in " ".join(audit_messages(caplog))
    fail(1, ip="198.51.100.5")

    messages = audit_messages(caplog)
    assert messages[0] == "auth.login user=merch ip='198.51.100.5'"
    assert messages.count("auth.login_failed user=- ip='198.51.100.5' username='merch'") == 5
    assert messages.count("auth.locked_out user=- ip='198.51.100.5' username='merch'") == 1
    assert not any(PASSWORD in message or "wrong" in message for message in messages)
    record = next(r for r in caplog.records if getattr(r, "audit_event", None) == "auth.locked_out")
    assert record.username == "merch"


def test_refused_attempts_during_a_lockout_are_audited(axes_on, staff, caplog):
    caplog.set_level(logging.INFO, logger="backoffice.audit")
    fail(5)
    caplog.clear()

    attempt("merch", PASSWORD)

    assert sorted(audit_messages(caplog)) == [
        "auth.locked_out user=- ip='198.51.100.1' username='merch'",
        "auth.login_failed user=- ip='198.51.100.1' username='merch'",
    ]


def test_logout_is_audited(staff, caplog):
    caplog.set_level(logging.INFO, logger="backoffice.audit")
    client = Client()
    client.force_login(staff)

    client.post(reverse("admin:logout"))

    assert audit_messages(caplog)[-1].startswith("auth.logout user=merch")
