"""Widgets and error lists that render the stock markup without the template engine.

The product changelist renders about 700 ``<input>`` elements a page (per row: the action
checkbox, the price and inventory inputs, each with its hidden initial value, the row's
pk and its version), plus an (empty) error list before each editable input. Through
Django's form renderer each one costs a template render: about 60% of the page's CPU.
These classes build the same bytes as ``django/forms/widgets/input.html`` + ``attrs.html``
and ``django/forms/errors/list/ul.html`` directly; the tests compare them with the
template-rendered output, one by one and for the whole page.

``result_list`` is Django's changelist table (the ``result_list`` tag) with the per-column
work of ``items_for_result`` done once a page instead of once a cell.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin import widgets as admin_widgets
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (  # type: ignore[attr-defined]  # _get_non_gfk_field: not in the stubs
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,  # lookup_field's own test for "a model field"
    display_for_field,
    display_for_value,
    lookup_field,
)
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.forms.renderers import BaseRenderer
from django.forms.utils import ErrorList
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.functional import Promise
from django.utils.safestring import SafeData, SafeString, mark_safe

# The templates of Django's plain <input> widgets; each one is input.html as it is.
STOCK_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html" for name in ("input", "text", "number", "hidden", "checkbox")
)


def _escape(value: Any) -> str:
    """``conditional_escape(value)``, as text: the same characters without Django's lazy-string
    wrappers around ``escape``, which cost more than the escaping at ~7,000 calls a page."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _format_html(format_string: str, *args: Any) -> SafeString:
    """``format_html(format_string, *args)``: the same text, escaped by ``_escape``."""
    return mark_safe(format_string.format(*map(_escape, args)))


def _text(value: Any) -> str:
    """What ``{{ value|stringformat:'s' }}`` prints: str(value), escaped unless it is safe."""
    text = str(value)
    return text if isinstance(value, SafeData) else _escape(text)


def render_input(widget: dict[str, Any]) -> SafeString:
    """``django/forms/widgets/input.html`` for a widget context (``get_context()["widget"]``)."""
    parts = [f'<input type="{_escape(widget["type"])}" name="{_escape(widget["name"])}"']
    if widget["value"] is not None:
        parts.append(f' value="{_text(widget["value"])}"')
    for name, value in widget["attrs"].items():
        if value is True:
            parts.append(f" {_escape(name)}")
        elif value is not False:
            parts.append(f' {_escape(name)}="{_text(value)}"')
    parts.append(">")
    return mark_safe("".join(parts))


class FastInputMixin(forms.Widget):
    """Renders the stock <input> templates in Python; any other template as usual."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        if self.template_name in STOCK_INPUT_TEMPLATES:
            return render_input(self.get_context(name, value, attrs)["widget"])
        return super().render(name, value, attrs, renderer)


class FastHiddenInput(FastInputMixin, forms.HiddenInput):
    pass


class FastNumberInput(FastInputMixin, forms.NumberInput):
    pass


class FastCheckboxInput(FastInputMixin, forms.CheckboxInput):
    pass


class FastAdminIntegerFieldWidget(FastInputMixin, admin_widgets.AdminIntegerFieldWidget):
    pass


class FastAdminBigIntegerFieldWidget(FastInputMixin, admin_widgets.AdminBigIntegerFieldWidget):
    pass


# Exact classes only: a subclass may have a template or a get_context of its own.
FAST_WIDGETS: dict[type[forms.Widget], type[forms.Widget]] = {
    forms.HiddenInput: FastHiddenInput,
    forms.NumberInput: FastNumberInput,
    forms.CheckboxInput: FastCheckboxInput,
    admin_widgets.AdminIntegerFieldWidget: FastAdminIntegerFieldWidget,
    admin_widgets.AdminBigIntegerFieldWidget: FastAdminBigIntegerFieldWidget,
}


def fast_widget(widget: forms.Widget) -> forms.Widget:
    """The same widget (attributes, settings) rendering without templates, if it has a fast twin."""
    fast = FAST_WIDGETS.get(type(widget))
    if fast is None:
        return widget
    twin = fast.__new__(fast)
    twin.__dict__.update(widget.__dict__)
    return twin


class RowErrorList(ErrorList):
    """An error list that prints nothing without a template when it is empty, as ul.html does."""

    def render(self, template_name=None, context=None, renderer=None):
        if not self.data and template_name in (None, self.template_name, self.template_name_ul):
            return mark_safe("")
        return super().render(template_name, context, renderer)

    __str__ = render
    __html__ = render


# A pk that cannot occur in a reversed admin URL other than where the pk goes.
_PK_MARKER = "8642097531864209753"


@lru_cache(maxsize=64)
def _url_template(viewname: str, current_app: str | None, script_prefix: str, urlconf: str) -> tuple[str, str] | None:
    url = reverse(viewname, urlconf=urlconf, args=(_PK_MARKER,), current_app=current_app)
    if url.count(_PK_MARKER) != 1:
        return None
    head, _, tail = url.partition(_PK_MARKER)
    return head, tail


def object_url(viewname: str, pk: Any, *, current_app: str | None = None) -> str:
    """``reverse(viewname, args=(pk,), current_app=...)`` for a view taking one object id.

    The admin reverses a change URL per row (the row's link, a column's link to a related
    object): a hundred resolver walks a page for URLs that differ only in the id. An int id
    is spliced into the URL reversed once (per view, script prefix and URLconf) instead, as
    ``reverse`` would print it; anything else goes through ``reverse``.
    """
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    template = _url_template(viewname, current_app, get_script_prefix(), urlconf) if type(pk) is int else None
    if template is None:
        return reverse(viewname, args=(pk,), current_app=current_app)
    return f"{template[0]}{pk}{template[1]}"


# Changelist rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """What ``items_for_result`` decides per cell that depends only on the column."""

    name: Any  # a field or attribute name, or a callable
    row_class: str  # "field-<name>"
    link_tag: str | None  # "th" or "td" if the cell links to the object, else None
    field: models.Field | None  # the model field, when the column is one
    lookup: Callable[[models.Model], tuple[Any, Any, Any]]  # lookup_field(name, obj, admin)


def _column_lookup(name: Any, opts: Any, model_admin: Any) -> tuple[models.Field | None, Callable]:
    """The column's field and ``lookup_field`` for it, with lookup_field's branch taken once."""
    try:
        field = _get_non_gfk_field(opts, name)
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        if callable(name):
            attr = name
        elif hasattr(model_admin, name) and name != "__str__":
            attr = getattr(model_admin, name)
        else:  # a model attribute or property: lookup_field as it is
            return None, lambda obj: lookup_field(name, obj, model_admin)
        return None, lambda obj: (None, attr, attr(obj))
    return field, lambda obj: (field, None, getattr(obj, name))


def _columns(cl: ChangeList) -> list[_Column]:
    columns = []
    first = True
    for index, name in enumerate(cl.list_display):
        if cl.list_display_links is None:
            link = False
        elif first and not cl.list_display_links:
            link = True
        else:
            link = name in cl.list_display_links
        link_tag = ("th" if first else "td") if link else None
        first = first and not link
        field, lookup = _column_lookup(name, cl.lookup_opts, cl.model_admin)
        css_name = admin_list._coerce_field_name(name, index)  # type: ignore[attr-defined]  # private, not in the stubs
        columns.append(_Column(name, f"field-{css_name}", link_tag, field, lookup))
    return columns


def _object_links(cl: ChangeList) -> Callable[[models.Model], str]:
    """``add_preserved_filters(..., cl.url_for_result(obj))`` for each row, resolved once a page.

    The filters the link carries are the same for every row; only the id differs. For an
    int pk that occurs once in the URL, the URL with the marker in its place goes through
    ``add_preserved_filters`` (a resolve()) once, and each row's id is spliced in.
    """
    context: dict[str, Any] = {"preserved_filters": cl.preserved_filters, "opts": cl.opts}
    pk_attname = cl.lookup_opts.pk.attname
    templates: dict[str, tuple[str, str] | None] = {}

    def link(obj: models.Model) -> str:
        url = cl.url_for_result(obj)
        pk = getattr(obj, pk_attname)
        digits = str(pk)
        if type(pk) is not int or url.count(digits) != 1:
            return add_preserved_filters(context, url)
        key = url.replace(digits, _PK_MARKER)
        if key not in templates:
            linked = add_preserved_filters(context, key)
            templates[key] = linked.partition(_PK_MARKER)[::2] if linked.count(_PK_MARKER) == 1 else None
        template = templates[key]
        if template is None:
            return add_preserved_filters(context, url)
        return f"{template[0]}{digits}{template[1]}"

    return link


def _row_items(
    cl: ChangeList,
    columns: list[_Column],
    object_link: Callable[[models.Model], str],
    empty_value_display: str,
    result: models.Model,
    form: forms.BaseForm | None,
) -> Iterator[SafeString]:
    """``items_for_result(cl, result, form)``, the same bytes (the tests compare whole pages)."""
    pk_name = cl.model._meta.pk.name
    for column in columns:
        row_classes = [column.row_class]
        editable = (
            form is not None and column.name in form.fields and not (column.name == pk_name and form[pk_name].is_hidden)
        )
        if editable and column.field is not None and not (column.field.is_relation or column.field.auto_created):
            # The form's input replaces the value; its classes depend on the field alone.
            result_repr: Any = ""
            if isinstance(column.field, models.DateField | models.TimeField):
                row_classes.append("nowrap")
        else:
            result_repr = _cell(column, result, row_classes, empty_value_display)
        row_class = mark_safe(f' class="{" ".join(row_classes)}"')
        if column.link_tag:
            try:
                url = object_link(result)
            except NoReverseMatch:
                link_or_text = result_repr
            else:
                popup = ""
                if cl.is_popup:
                    value = result.serializable_value(str(cl.to_field) if cl.to_field else cl.lookup_opts.pk.attname)
                    popup = _format_html(' data-popup-opener="{}"', value)
                link_or_text = _format_html('<a href="{}"{}>{}</a>', url, popup, result_repr)
            yield _format_html("<{}{}>{}</{}>", column.link_tag, row_class, link_or_text, column.link_tag)
        else:
            if editable:
                bound = form[column.name]  # type: ignore[index]  # editable implies a form
                result_repr = mark_safe(str(bound.errors) + str(bound))
            yield _format_html("<td{}>{}</td>", row_class, result_repr)
    if form is not None and not form[pk_name].is_hidden:
        yield _format_html("<td>{}</td>", form[pk_name])


def _cell(column: _Column, result: models.Model, row_classes: list[str], empty_value_display: str) -> Any:
    """The cell's text, as ``items_for_result`` prints it; adds its classes to ``row_classes``."""
    try:
        field, attr, value = column.lookup(result)
    except ObjectDoesNotExist:
        return empty_value_display
    empty_value_display = getattr(attr, "empty_value_display", empty_value_display)
    if isinstance(value, str) and value.strip() == "":
        value = ""
    if field is None or field.auto_created:
        if column.name == "action_checkbox":
            row_classes[:] = ["action-checkbox"]
        boolean = getattr(attr, "boolean", False)
        if isinstance(attr, property) and hasattr(attr, "fget"):
            boolean = getattr(attr.fget, "boolean", False)
        if isinstance(value, datetime.date | datetime.time):
            row_classes.append("nowrap")
        return display_for_value(value, empty_value_display, boolean)
    if isinstance(field, models.DateField | models.TimeField | models.ForeignKey):
        row_classes.append("nowrap")
    if isinstance(field.remote_field, models.ManyToOneRel):
        field_value = getattr(result, field.name)
        return empty_value_display if field_value is None else field_value
    return display_for_field(value, field, empty_value_display, avoid_link=column.link_tag is not None)


def result_list(cl: ChangeList) -> dict[str, Any]:
    """The context of Django's ``result_list`` tag: the headers, hidden fields and rows.

    The rows are ``items_for_result``'s, with what depends only on the column (the field,
    lookup_field's branch, the classes, the link) worked out once a page, and the object
    links' preserved filters resolved once a page (see ``_object_links``).
    """
    headers = list(admin_list.result_headers(cl))
    columns = _columns(cl)
    object_link = _object_links(cl)
    empty_value_display = cl.model_admin.get_empty_value_display()
    forms_ = cl.formset.forms if cl.formset else repeat(None)
    return {
        "cl": cl,
        "result_hidden_fields": list(admin_list.result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": [
            admin_list.ResultList(form, _row_items(cl, columns, object_link, empty_value_display, result, form))
            for result, form in zip(cl.result_list, forms_, strict=False)
        ],
    }
