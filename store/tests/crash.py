"""Kill the process between a commit and whatever runs after it, in a test.

``die_after_commit(monkeypatch, module, "name")`` wraps ``module.name`` (something called inside
the transaction under test): once that transaction commits, ``ProcessKilled`` is raised, a
``BaseException`` no ``except Exception`` catches, so nothing after the commit runs, as if the
process had been killed there. The test then looks at what the next process would see.

The tests that use it commit for real (``django_db(transaction=True)``): commit hooks only run
when the outermost transaction commits.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction


class ProcessKilled(BaseException):
    """Stands for SIGKILL right after a commit."""


def _die() -> None:
    raise ProcessKilled


def die_after_commit(monkeypatch: Any, module: Any, name: str, *, times: int = 1) -> None:
    """After the ``times``-th transaction that calls ``module.name`` commits, the process dies."""
    real = getattr(module, name)
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == times:
            transaction.on_commit(_die)
        return result

    monkeypatch.setattr(module, name, wrapper)
