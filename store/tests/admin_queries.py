"""Helpers for admin tests: query counts of a changelist page at a given page size."""

from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext


def changelist_query_count(client, url: str, model, *, per_page: int, monkeypatch) -> int:
    """Render ``url`` with the model's admin showing ``per_page`` rows; return the query count."""
    model_admin = admin.site.get_model_admin(model)
    monkeypatch.setattr(type(model_admin), "list_per_page", per_page)
    # Once first: per-process caches (content types) are filled by whichever request comes first.
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == per_page
    return len(queries)
