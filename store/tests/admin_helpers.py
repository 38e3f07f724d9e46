"""Admin test helpers: POST data built from rendered pages, as a browser would; query counts."""

from __future__ import annotations

import re

from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext


def _serialize(value):
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, (list, tuple)):
        return [_serialize(item) for item in value]
    return value


def _form_data(form) -> dict:
    # Empty values are left out, as a browser leaves out an empty multi-select.
    values = {form.add_prefix(name): form[name].value() for name in form.fields}
    # Fields rendered with their initial value in a hidden input (list edits) post it back too.
    values |= {
        form.add_initial_prefix(name): form[name].value()
        for name, field in form.fields.items()
        if field.show_hidden_initial
    }
    return {
        key: _serialize(value) for key, value in values.items() if not (value is None or value is False or value == [])
    }


def changeform_data(response, **changes) -> dict:
    """The change form's current values (main form and every inline), then ``changes``."""
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_form_data(form))
    return data | changes


def changelist_data(response, **changes) -> dict:
    """The list-edit formset as rendered (one row per product on the page), then ``changes``."""
    formset = response.context["cl"].formset
    data = _form_data(formset.management_form)
    for form in formset.forms:
        data.update(_form_data(form))
    return data | {"_save": "Save"} | changes


def row_prefix(response, pk: int) -> str:
    """The list-edit prefix (form-N) of the row showing product ``pk``."""
    for form in response.context["cl"].formset.forms:
        if form.instance.pk == pk:
            return form.prefix
    raise AssertionError(f"product {pk} is not on the page")


def changelist_query_counts(client, monkeypatch, model: type[Model], url: str) -> dict[int, int]:
    """Queries of one changelist GET at 10 and at 100 rows per page (the rows must exist)."""
    model_admin = admin.site.get_model_admin(model)
    # Once first: per-process caches (content types) are filled by whichever request comes first.
    assert client.get(url).status_code == 200
    counts: dict[int, int] = {}
    for per_page in (10, 100):
        monkeypatch.setattr(model_admin, "list_per_page", per_page)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == per_page
        counts[per_page] = len(queries)
    return counts


def action_data(response, action: str, selected, **extra) -> dict:
    """An action POST as the rendered changelist makes it: the checked rows, plus the version
    each row was shown with and the moment the page was rendered (hidden inputs)."""
    html = response.content.decode()
    data = {
        "action": action,
        "index": "0",
        "_selected_action": [str(pk) for pk in selected],
        "_loaded_version": re.findall(r'name="_loaded_version" value="([^"]*)"', html),
    }
    loaded_at = re.search(r'name="_loaded_at" value="([^"]*)"', html)
    if loaded_at:
        data["_loaded_at"] = loaded_at.group(1)
    return data | extra
