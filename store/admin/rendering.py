"""Widgets and error lists that render the stock markup without the template engine.

The product changelist renders about 700 ``<input>`` elements a page (per row: the action
checkbox, the price and inventory inputs, each with its hidden initial value, the row's
pk and its version), plus an (empty) error list before each editable input. Through
Django's form renderer each one costs a template render: about 60% of the page's CPU.
These classes build the same bytes as ``django/forms/widgets/input.html`` + ``attrs.html``
and ``django/forms/errors/list/ul.html`` directly; the tests compare them with the
template-rendered output, one by one and for the whole page.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin import widgets as admin_widgets
from django.forms.utils import ErrorList
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe

# The templates of Django's plain <input> widgets; each one is input.html as it is.
STOCK_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html" for name in ("input", "text", "number", "hidden", "checkbox")
)


def _text(value: Any) -> str:
    """What ``{{ value|stringformat:'s' }}`` prints: str(value), escaped unless it is safe."""
    text = str(value)
    return conditional_escape(mark_safe(text) if isinstance(value, SafeData) else text)


def render_input(widget: dict[str, Any]) -> SafeString:
    """``django/forms/widgets/input.html`` for a widget context (``get_context()["widget"]``)."""
    parts = [f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"']
    if widget["value"] is not None:
        parts.append(f' value="{_text(widget["value"])}"')
    for name, value in widget["attrs"].items():
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        elif value is not False:
            parts.append(f' {conditional_escape(name)}="{_text(value)}"')
    parts.append(">")
    return mark_safe("".join(parts))


class FastInputMixin:
    """Renders the stock <input> templates in Python; any other template as usual."""

    def _render(self, template_name, context, renderer=None):
        if template_name in STOCK_INPUT_TEMPLATES:
            return render_input(context["widget"])
        return super()._render(template_name, context, renderer)


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
