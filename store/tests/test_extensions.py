"""store.extensions: one declaration adds each concept; store works with none registered.

A toy extension ("ribbon") stands in for store_custom, so these tests need no other app.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets
from rest_framework.test import APIClient

from store import extensions
from store.admin.catalog import ProductAdmin
from store.api.serializers import ProductSerializer
from store.bulk import actions as bulk_actions
from store.models import Product
from store.seeding import catalog_clear
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")
BASE_COLUMNS = list(ProductAdmin.list_display)


class Ribbon:
    """Records what store asked of it."""

    def __init__(self) -> None:
        self.page_loads: list[list[int]] = []
        self.deleted: list[int] = []
        self.cleared = 0

    def load(self, *, products: Sequence[Product]) -> None:
        self.page_loads.append([product.pk for product in products])
        for product in products:
            setattr(product, "ribbon", f"R{product.pk}")  # noqa: B010  (not a Product field)

    def on_products_deleted(self, product_ids: Sequence[int]) -> None:
        self.deleted.extend(product_ids)

    def on_catalog_cleared(self) -> None:
        self.cleared += 1


class RibbonColumn:
    """An import/export column (never run here: the test records its registration)."""

    column = "ribbon"

    def parse(self, raw: str) -> str:
        return raw

    def current(self, product_ids: Sequence[int]) -> dict[int, str]:
        return {}

    def empty(self) -> str:
        return ""

    def render(self, value: str) -> str:
        return value

    def notes(self, values: Iterable[str]) -> list[str]:
        return []

    def write(self, values: dict[int, str]) -> None:
        pass


class RibbonFilter(admin.SimpleListFilter):
    title = "ribbon"
    parameter_name = "ribbon"

    def lookups(self, request, model_admin):
        return [("even", "even ids")]

    def queryset(self, request, queryset):
        return queryset


class RibbonInline(admin.TabularInline):
    model = Product.promotions.through
    verbose_name = "ribbon promotion"
    extra = 0


class RibbonAction(bulk_actions.BulkAction):
    name = "ribbon_noop"
    label = "Ribbon…"
    column = "ribbon"

    def evaluate(self, products, parameters):
        return [bulk_actions.Outcome(product, bulk_actions.UNCHANGED) for product in products]


class RibbonViewSet(viewsets.ViewSet):
    pass


def ribbon_extension(ribbon: Ribbon, name: str = "ribbon") -> extensions.StoreExtension:
    class RibbonAdmin(extensions.ProductAdminAdditions):
        list_columns = (
            extensions.ListColumn(
                name="ribbon",
                description="ribbon",
                load=ribbon.load,
                render=lambda product: getattr(product, "ribbon"),  # noqa: B009
                loaded_attr="ribbon",
            ),
        )
        list_filter = (RibbonFilter,)
        inlines = (RibbonInline,)

    return extensions.StoreExtension(
        name=name,
        columns=(RibbonColumn(),),
        api_fields=(
            extensions.ApiField(
                name="ribbon",
                field=lambda: serializers.CharField(read_only=True),
                load=ribbon.load,
                filters={"ribbon_sku": filters.CharFilter(field_name="sku")},
            ),
        ),
        api_routes=(extensions.ApiRoute(prefix="ribbons", viewset=RibbonViewSet, basename="ribbon"),),
        bulk_actions=(RibbonAction(),),
        admin=RibbonAdmin,
        on_products_deleted=ribbon.on_products_deleted,
        on_catalog_cleared=ribbon.on_catalog_cleared,
    )


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """An empty registry for the test (whatever the installed apps registered is put back after)."""
    monkeypatch.setattr(extensions, "_registry", {})
    monkeypatch.setattr(extensions, "_generation", extensions.generation() + 1_000_000)
    columns: list[Any] = []
    monkeypatch.setattr(extensions, "register_column", columns.append)
    cache.clear()
    return columns


@pytest.fixture
def ribbon(registry):
    recorder = Ribbon()
    extensions.register(ribbon_extension(recorder))
    return recorder


def test_registering_a_declaration_adds_each_concept(registry, ribbon):
    (extension,) = extensions.extensions()
    assert registry == list(extension.columns)  # handed to the import's column table
    assert [f.name for f in extensions.api_fields()] == ["ribbon"]
    assert [r.prefix for r in extensions.api_routes()] == ["ribbons"]
    assert [a.name for a in bulk_actions.bulk_actions()][-1] == "ribbon_noop"
    assert bulk_actions.get_bulk_action("ribbon_noop") is extension.bulk_actions[0]
    assert extensions.admin_list_filters() == (RibbonFilter,)
    assert extensions.admin_inlines() == (RibbonInline,)


def test_the_admin_list_shows_the_column_loaded_once_per_page(admin_client, ribbon, django_assert_max_num_queries):
    products = ProductFactory.create_batch(12)
    with django_assert_max_num_queries(12):
        response = admin_client.get(PRODUCTS)
    assert response.status_code == 200
    assert len(ribbon.page_loads) == 1
    assert sorted(ribbon.page_loads[0]) == sorted(p.pk for p in products)
    html = response.content.decode()
    assert f'<td class="field-ribbon">R{products[0].pk}</td>' in html
    assert [spec.title for spec in response.context["cl"].filter_specs][-1] == "ribbon"
    assert 'value="bulk_ribbon_noop"' in html  # the bulk edit in the action menu


def test_the_change_form_has_the_inline(admin_client, ribbon):
    product = ProductFactory()
    response = admin_client.get(reverse("admin:store_product_change", args=[product.pk]))
    assert response.status_code == 200
    assert any(isinstance(inline.opts, RibbonInline) for inline in response.context["inline_admin_formsets"])


def test_the_api_serves_the_field_and_its_filter(ribbon):
    wanted, other = ProductFactory(), ProductFactory()
    api = APIClient()
    assert api.get(f"/api/products/{wanted.pk}/").json()["ribbon"] == f"R{wanted.pk}"
    rows = api.get("/api/products/", {"ribbon_sku": wanted.sku}).json()["results"]
    assert [(row["id"], row["ribbon"]) for row in rows] == [(wanted.pk, f"R{wanted.pk}")]
    assert other.pk not in [row["id"] for row in rows]
    assert len(ribbon.page_loads) == 2  # one product, then one page


def test_store_calls_the_delete_hooks_on_orm_deletes_and_on_clear(ribbon):
    one, two, three = ProductFactory.create_batch(3)
    ids = sorted([one.pk, two.pk, three.pk])
    one.delete()
    Product.objects.filter(pk__in=[two.pk, three.pk]).delete()
    assert sorted(ribbon.deleted) == ids
    catalog_clear()
    assert ribbon.cleared == 1


def test_names_may_not_clash_between_extensions(ribbon):
    with pytest.raises(ImproperlyConfigured, match="API field name\\(s\\) already registered: ribbon"):
        extensions.register(ribbon_extension(Ribbon(), name="other"))
    # Re-registering under the same name replaces the declaration.
    extensions.register(ribbon_extension(Ribbon()))
    assert len(extensions.extensions()) == 1


class TestWithoutAnyExtension:
    """Store alone: the product admin, API and bulk edits with nothing registered."""

    def test_admin_list_and_change_form(self, admin_client, registry):
        product = ProductFactory()
        response = admin_client.get(PRODUCTS)
        assert response.status_code == 200
        assert list(response.context["cl"].list_display)[1:] == BASE_COLUMNS  # after the checkbox
        change = admin_client.get(reverse("admin:store_product_change", args=[product.pk]))
        assert [inline.formset.prefix for inline in change.context["inline_admin_formsets"]] == ["images"]

    def test_api_product_has_only_store_fields(self, registry, django_assert_max_num_queries):
        product = ProductFactory()
        api = APIClient()
        with django_assert_max_num_queries(3):
            body = api.get(f"/api/products/{product.pk}/").json()
        assert set(body) == set(ProductSerializer().fields)  # store's own: nothing registered
        assert "ribbon" not in body

    def test_bulk_actions_are_store_own(self, registry):
        assert {action.name for action in bulk_actions.bulk_actions()} == {
            "move_to_collection",
            "add_promotion",
            "remove_promotion",
            "change_price",
            "adjust_inventory",
            "set_status",
        }

    def test_deleting_and_clearing_need_no_extension(self, registry):
        ProductFactory().delete()
        catalog_clear()
        assert not Product.objects.exists()
