"""Catalog admin through the real admin views (admin_client)."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from store import services
from store.admin.paginators import CappedCountPaginator
from store.models import Collection, Product, Promotion
from store.tests.admin_helpers import (
    action_data,
    changeform_data,
    changelist_data,
    changelist_query_counts,
    row_prefix,
)
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")
COLLECTIONS = reverse("admin:store_collection_changelist")
PROMOTIONS = reverse("admin:store_promotion_changelist")


def change_url(product):
    return reverse("admin:store_product_change", args=[product.pk])


def shown(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def shelf(settings):
    settings.LOW_STOCK_THRESHOLD = 10
    hoodies, mugs = CollectionFactory(title="Hoodies"), CollectionFactory(title="Mugs")
    sale = PromotionFactory(description="Sale")
    products = {
        "out": ProductFactory(title="Classic Hoodie", sku="HD-1", inventory=0, collection=hoodies),
        "low": ProductFactory(title="Zip Hoodie", sku="HD-2", inventory=3, collection=hoodies),
        "ok": ProductFactory(title="Travel Mug", sku="MG-1", inventory=40, collection=mugs),
    }
    products["ok"].promotions.add(sale)
    return {"hoodies": hoodies, "mugs": mugs, "sale": sale, **products}


@pytest.fixture
def second_client(django_user_model):
    """A second merchandiser, in their own session."""
    user = django_user_model.objects.create_superuser("merch2", "m2@example.com", "password")
    client = Client()
    client.force_login(user)
    return client


class TestProductChangelist:
    def test_columns_badges_and_links(self, admin_client, shelf):
        response = admin_client.get(PRODUCTS)
        assert response.status_code == 200
        html = response.content.decode()
        assert '<span class="stock-badge stock-out">Out of stock</span>' in html
        assert '<span class="stock-badge stock-low">Low</span>' in html
        assert '<span class="stock-badge stock-ok">OK</span>' in html
        assert f'href="{reverse("admin:store_collection_change", args=[shelf["mugs"].pk])}">Mugs</a>' in html
        assert 'name="form-0-unit_price"' in html
        assert 'name="form-0-inventory"' in html
        assert 'name="form-0-loaded_version"' in html

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"inventory_status": "low"}, {"low"}),
            ({"inventory_status": "out"}, {"out"}),
            ({"inventory_status": "ok"}, {"ok"}),
            ({"inventory_status": "junk"}, {"low", "out", "ok"}),
            ({"q": "classic"}, {"out"}),
            ({"q": "HD-"}, {"out", "low"}),
            ({"q": "mug"}, {"ok"}),  # any word of the title: "Travel Mug" (store.search)
            ({"last_update__gte": "2000-01-01 00:00:00+00:00"}, {"low", "out", "ok"}),
        ],
    )
    def test_filters_and_search(self, admin_client, shelf, params, expected):
        response = admin_client.get(PRODUCTS, params)
        assert response.status_code == 200
        assert shown(response) == {shelf[key].pk for key in expected}

    def test_collection_autocomplete_filter(self, admin_client, shelf):
        response = admin_client.get(PRODUCTS, {"collection__pk__exact": shelf["hoodies"].pk})
        assert shown(response) == {shelf["out"].pk, shelf["low"].pk}
        assert "django-admin-autocomplete-filter" in response.content.decode()

    def test_promotion_filter(self, admin_client, shelf):
        response = admin_client.get(PRODUCTS, {"promotions__id__exact": shelf["sale"].pk})
        assert shown(response) == {shelf["ok"].pk}

    def test_sorting_by_status_sorts_by_inventory_with_a_matching_tie_break(self, admin_client, shelf):
        response = admin_client.get(PRODUCTS, {"o": "7"})
        assert [p.pk for p in response.context["cl"].result_list] == [shelf["out"].pk, shelf["low"].pk, shelf["ok"].pk]
        assert response.context["cl"].get_ordering(response.wsgi_request, Product.objects.all()) == ["inventory", "pk"]
        response = admin_client.get(PRODUCTS, {"o": "-7"})
        assert [p.pk for p in response.context["cl"].result_list][0] == shelf["ok"].pk

    def test_a_header_click_from_the_default_list_sorts_by_that_column_alone(self, admin_client, shelf):
        """?o=7.2 (stock, then the default title) is stock with ties on pk, and says so."""
        response = admin_client.get(PRODUCTS, {"o": "7.2"})
        cl = response.context["cl"]
        assert cl.get_ordering(response.wsgi_request, Product.objects.all()) == ["inventory", "pk"]
        assert cl.get_ordering_field_columns() == {7: "asc"}
        html = response.content.decode()
        assert re.findall(r'class="sortable column-(\w+) sorted (\w+)"', html) == [("inventory_status", "ascending")]
        assert "sortpriority" not in html

    def test_junk_query_strings_do_not_500(self, admin_client, shelf):
        for params in (
            {"o": "x.99"},
            {"collection__pk__exact": "abc"},
            {"collection__pk__exact": "9" * 30},
            {"promotions__id__exact": "x"},
            {"p": "999"},
            {"q": "%_\u2603"},
            {"last_update__gte": "no"},
        ):
            assert admin_client.get(PRODUCTS, params).status_code in (200, 302)

    def test_same_queries_at_10_and_100_rows(self, admin_client, monkeypatch):
        collections = CollectionFactory.create_batch(5)
        promotion = PromotionFactory()
        for i in range(110):
            product = ProductFactory(collection=collections[i % 5], inventory=i % 15)
            if i % 3 == 0:
                product.promotions.add(promotion)
        counts = changelist_query_counts(admin_client, monkeypatch, Product, PRODUCTS)
        assert counts[10] == counts[100] <= 12

    def test_no_join_and_no_full_count(self, admin_client, shelf):
        with CaptureQueriesContext(connection) as queries:
            admin_client.get(PRODUCTS)
        product_selects = [
            q["sql"]
            for q in queries
            if 'FROM "store_product"'.replace('"', "") in q["sql"].replace('"', "").replace("`", "")
        ]
        assert product_selects
        assert not any("JOIN" in sql and "store_collection" in sql for sql in product_selects)
        counts = [sql for sql in product_selects if "COUNT(" in sql]
        assert counts
        assert all("LIMIT" in sql for sql in counts)


def test_capped_count_paginator_says_more_than(admin_client, monkeypatch):
    ProductFactory.create_batch(6)
    monkeypatch.setattr(CappedCountPaginator, "cap", 4)
    model_admin = admin.site.get_model_admin(Product)
    monkeypatch.setattr(model_admin, "list_per_page", 2)
    response = admin_client.get(PRODUCTS)
    paginator = response.context["cl"].paginator
    assert (paginator.count, paginator.count_is_capped, paginator.num_pages) == (4, True, 2)
    html = response.content.decode()
    assert "more than 4 products" in html
    assert "Select all matching products (more than 4)" in html


class TestProductForm:
    def test_add_get_and_post(self, admin_client, shelf):
        response = admin_client.get(reverse("admin:store_product_add"))
        assert response.status_code == 200
        html = response.content.decode()
        assert "prepopulated_fields" in html or "data-prepopulated-field" in html or 'id="id_slug"' in html
        data = changeform_data(response) | {
            "title": "Linen Shirt",
            "slug": "linen-shirt",
            "sku": "LS-1",
            "description": "",
            "unit_price": "25.00",
            "inventory": "12",
            "collection": shelf["hoodies"].pk,
            "promotions": [shelf["sale"].pk],
        }
        response = admin_client.post(reverse("admin:store_product_add"), data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        product = Product.objects.get(sku="LS-1")
        assert (product.version, list(product.promotions.all())) == (1, [shelf["sale"]])

    def test_change_get_shows_widgets(self, admin_client, shelf):
        response = admin_client.get(change_url(shelf["low"]))
        assert response.status_code == 200
        form = response.context["adminform"].form
        assert isinstance(form.fields["collection"].widget.widget, AutocompleteSelect)
        assert type(form.fields["promotions"].widget.widget).__name__ == "FilteredSelectMultiple"
        assert "last_update" not in form.fields  # read-only
        assert form["loaded_version"].value() == 1
        assert 'id="id_slug"' in response.content.decode()

    def test_change_post_saves_bumps_version_and_shows_in_history(self, admin_client, admin_user, shelf):
        product = shelf["low"]
        data = changeform_data(admin_client.get(change_url(product)), unit_price="21.00")
        response = admin_client.post(change_url(product), data)
        assert response.status_code == 302
        product.refresh_from_db()
        assert (product.unit_price, product.version) == (Decimal("21.00"), 2)

        history = admin_client.get(reverse("admin:store_product_history", args=[product.pk]))
        assert "Unit price: 19.99 → 21.00" in normalized(history.content.decode())
        assert history.context["page_obj"][0].history_user == admin_user

    def test_model_validator_messages_show_on_the_form(self, admin_client, shelf):
        data = changeform_data(admin_client.get(change_url(shelf["low"])), unit_price="0.50", inventory="-1")
        response = admin_client.post(change_url(shelf["low"]), data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert errors["unit_price"] == ["Ensure this value is greater than or equal to 1.00."]
        assert errors["inventory"] == ["Ensure this value is greater than or equal to 0."]
        assert Product.objects.get(pk=shelf["low"].pk).version == 1


def normalized(html: str) -> str:
    """The page's text: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ").split())


class TestNoLostUpdatesOnTheChangeForm:
    def test_the_second_save_is_refused_and_shows_the_current_values(self, admin_client, second_client, shelf):
        product = shelf["low"]
        first = changeform_data(admin_client.get(change_url(product)), unit_price="30.00")
        second = changeform_data(second_client.get(change_url(product)), inventory="77")

        assert admin_client.post(change_url(product), first).status_code == 302
        response = second_client.post(change_url(product), second)

        assert response.status_code == 200
        text = normalized(response.content.decode())
        assert "Someone else saved “Zip Hoodie” while you were editing it" in text
        assert "It now has price 30.00 and inventory 3." in text
        product.refresh_from_db()
        assert (product.unit_price, product.inventory, product.version) == (Decimal("30.00"), 3, 2)

    def test_clear_inventory_meanwhile_also_makes_the_form_stale(self, admin_client, second_client, shelf):
        product = shelf["low"]
        stale = changeform_data(second_client.get(change_url(product)), unit_price="9.00")
        admin_client.post(PRODUCTS, action_data(admin_client.get(PRODUCTS), "clear_inventory", [product.pk]))
        response = second_client.post(change_url(product), stale)
        assert response.status_code == 200
        product.refresh_from_db()
        assert (product.inventory, product.unit_price) == (0, Decimal("19.99"))

    def test_losing_the_race_after_validation_rolls_back_with_a_message(self, admin_client, shelf, monkeypatch):
        """The other save lands between this form's check and its write: the service refuses."""
        product = shelf["low"]
        data = changeform_data(admin_client.get(change_url(product)), unit_price="40.00")
        model_admin = admin.site.get_model_admin(Product)
        original_save_form = type(model_admin).save_form

        def save_form_after_a_concurrent_save(self, request, form, change):
            rival = Product.objects.get(pk=product.pk)
            rival.inventory = 8
            services.product_update(product=rival, expected_version=rival.version)
            return original_save_form(self, request, form, change)

        monkeypatch.setattr(type(model_admin), "save_form", save_form_after_a_concurrent_save)
        response = admin_client.post(change_url(product), data)

        assert response.status_code == 302
        assert any("Someone else saved" in m for m in messages_of(response))
        product.refresh_from_db()
        # Our price never landed. (The rival shared this test's connection, so the
        # rollback took its write too; across connections it would have stayed.)
        assert (product.unit_price, product.version) == (Decimal("19.99"), 1)


class TestListEdits:
    def test_edit_a_price_in_the_list(self, admin_client, admin_user, shelf):
        product = shelf["ok"]
        page = admin_client.get(PRODUCTS)
        prefix = row_prefix(page, product.pk)
        response = admin_client.post(PRODUCTS, changelist_data(page, **{f"{prefix}-unit_price": "44.00"}))
        assert response.status_code == 302
        assert messages_of(response) == ["1 product was changed successfully."]
        product.refresh_from_db()
        assert (product.unit_price, product.version) == (Decimal("44.00"), 2)
        record = Product.history.filter(id=product.pk).latest()
        assert record.history_user == admin_user
        assert [(c.field, str(c.old), str(c.new)) for c in record.diff_against(record.prev_record).changes] == [
            ("unit_price", "19.99", "44.00")
        ]

    def test_a_negative_inventory_in_the_list_is_refused(self, admin_client, shelf):
        page = admin_client.get(PRODUCTS)
        prefix = row_prefix(page, shelf["ok"].pk)
        response = admin_client.post(PRODUCTS, changelist_data(page, **{f"{prefix}-inventory": "-5"}))
        assert response.status_code == 200
        assert "Ensure this value is greater than or equal to 0." in response.content.decode()
        assert Product.objects.get(pk=shelf["ok"].pk).inventory == 40

    def test_two_merchandisers_editing_the_same_row(self, admin_client, second_client, shelf):
        product, untouched_by_first = shelf["ok"], shelf["low"]
        first_page, second_page = admin_client.get(PRODUCTS), second_client.get(PRODUCTS)
        first_row, second_row = row_prefix(first_page, product.pk), row_prefix(second_page, product.pk)

        response = admin_client.post(PRODUCTS, changelist_data(first_page, **{f"{first_row}-unit_price": "50.00"}))
        assert response.status_code == 302
        response = second_client.post(PRODUCTS, changelist_data(second_page, **{f"{second_row}-inventory": "1"}))

        assert response.status_code == 200
        html = normalized(response.content.decode())
        assert "Changed by someone else meanwhile: now 50.00. Reload to edit it." in html
        assert "Changed by someone else meanwhile: now 40. Reload to edit it." in html
        product.refresh_from_db()
        assert (product.unit_price, product.inventory) == (Decimal("50.00"), 40)
        assert Product.objects.get(pk=untouched_by_first.pk).version == 1

    def test_a_stale_but_untouched_row_does_not_block_other_rows(self, admin_client, second_client, shelf):
        page = second_client.get(PRODUCTS)
        first = changeform_data(admin_client.get(change_url(shelf["ok"])), unit_price="60.00")
        admin_client.post(change_url(shelf["ok"]), first)  # "ok" moves on; the second page still shows 19.99

        # The browser posts every row, the stale "ok" row with the 19.99 it showed; the user
        # did not touch it, so it is neither saved (no revert to 19.99) nor checked.
        row = row_prefix(page, shelf["low"].pk)
        response = second_client.post(PRODUCTS, changelist_data(page, **{f"{row}-inventory": "4"}))
        assert response.status_code == 302
        assert messages_of(response) == ["1 product was changed successfully."]
        assert Product.objects.get(pk=shelf["low"].pk).inventory == 4
        ok = Product.objects.get(pk=shelf["ok"].pk)
        assert (ok.unit_price, ok.version) == (Decimal("60.00"), 2)

    def test_the_page_carries_the_values_it_showed(self, admin_client, shelf):
        html = admin_client.get(PRODUCTS).content.decode()
        row = row_prefix(admin_client.get(PRODUCTS), shelf["ok"].pk)
        assert f'name="initial-{row}-unit_price" value="19.99"' in html
        assert f'name="initial-{row}-inventory" value="40"' in html

    def test_a_stale_row_the_user_changed_is_refused_and_blocks_the_page(self, admin_client, second_client, shelf):
        page = second_client.get(PRODUCTS)
        first = changeform_data(admin_client.get(change_url(shelf["ok"])), unit_price="60.00")
        admin_client.post(change_url(shelf["ok"]), first)
        ok_row, low_row = row_prefix(page, shelf["ok"].pk), row_prefix(page, shelf["low"].pk)
        response = second_client.post(
            PRODUCTS, changelist_data(page, **{f"{ok_row}-inventory": "41", f"{low_row}-inventory": "4"})
        )
        assert response.status_code == 200
        assert "Changed by someone else meanwhile: now 60.00. Reload to edit it." in normalized(
            response.content.decode()
        )
        assert Product.objects.get(pk=shelf["ok"].pk).inventory == 40
        assert Product.objects.get(pk=shelf["low"].pk).inventory == 3  # all or nothing

    def test_a_post_without_the_shown_values_checks_every_row(self, admin_client, second_client, shelf):
        """An old page or a script that omits the initial-… inputs: every row counts as changed."""
        page = second_client.get(PRODUCTS)
        first = changeform_data(admin_client.get(change_url(shelf["ok"])), unit_price="60.00")
        admin_client.post(change_url(shelf["ok"]), first)
        row = row_prefix(page, shelf["low"].pk)
        data = {
            key: value
            for key, value in changelist_data(page, **{f"{row}-inventory": "4"}).items()
            if not key.startswith("initial-")
        }
        response = second_client.post(PRODUCTS, data)
        assert response.status_code == 200
        assert Product.objects.get(pk=shelf["ok"].pk).unit_price == Decimal("60.00")
        assert Product.objects.get(pk=shelf["low"].pk).inventory == 3


class TestClearInventoryAction:
    def test_clears_the_selected_products_and_reports_the_count(self, admin_client, shelf):
        selected = [shelf["low"].pk, shelf["ok"].pk, shelf["out"].pk]
        response = admin_client.post(PRODUCTS, action_data(admin_client.get(PRODUCTS), "clear_inventory", selected))
        assert response.status_code == 302
        assert messages_of(response) == ["2 products were updated."]
        assert set(Product.objects.values_list("inventory", flat=True)) == {0}

        history = admin_client.get(reverse("admin:store_product_history", args=[shelf["ok"].pk]))
        text = normalized(history.content.decode())
        assert "Inventory: 40 → 0" in text
        assert services.CLEAR_INVENTORY_REASON in text

    def test_select_across_all_pages_clears_everything_the_filters_match(self, admin_client, shelf):
        extra_low = ProductFactory(inventory=2)
        extra_low.promotions.add(shelf["sale"])
        shelf["low"].promotions.add(shelf["sale"])
        url = f"{PRODUCTS}?inventory_status=low&promotions__id__exact={shelf['sale'].pk}"
        response = admin_client.post(
            url, action_data(admin_client.get(url), "clear_inventory", [shelf["low"].pk], select_across="1")
        )
        assert messages_of(response) == ["2 products were updated."]
        assert dict(Product.objects.values_list("pk", "inventory")) == {
            shelf["out"].pk: 0,
            shelf["low"].pk: 0,
            shelf["ok"].pk: 40,
            extra_low.pk: 0,
        }

    def test_one_product_message_is_singular(self, admin_client, shelf):
        response = admin_client.post(
            PRODUCTS, action_data(admin_client.get(PRODUCTS), "clear_inventory", [shelf["low"].pk])
        )
        assert messages_of(response) == ["1 product was updated."]

    def test_a_row_raised_since_the_list_was_loaded_is_left_alone_and_named(self, admin_client, second_client, shelf):
        page = admin_client.get(PRODUCTS)
        # A colleague restocks the Zip Hoodie a second after the list was loaded.
        raised = changeform_data(second_client.get(change_url(shelf["low"])), inventory="9")
        assert second_client.post(change_url(shelf["low"]), raised).status_code == 302

        response = admin_client.post(PRODUCTS, action_data(page, "clear_inventory", [shelf["low"].pk, shelf["ok"].pk]))

        assert messages_of(response) == [
            "1 product was updated.",
            "1 product changed since the list was loaded and was left alone: “Zip Hoodie” (now 9). "
            "Reload the list to see the current stock, then clear again if you still want to.",
        ]
        assert Product.objects.get(pk=shelf["low"].pk).inventory == 9
        assert Product.objects.get(pk=shelf["ok"].pk).inventory == 0
        record = Product.history.filter(id=shelf["ok"].pk).latest()
        assert record.history_change_reason == services.CLEAR_INVENTORY_REASON
        assert Product.history.filter(id=shelf["low"].pk).latest().history_change_reason != (
            services.CLEAR_INVENTORY_REASON
        )

    def test_select_all_across_pages_refuses_rows_written_after_the_page_was_rendered(
        self, admin_client, monkeypatch, shelf
    ):
        monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 1)
        page = admin_client.get(PRODUCTS)  # shows "Classic Hoodie" only (out of stock)
        assert shown(page) == {shelf["out"].pk}
        # Off the page: the Travel Mug is restocked after the page was rendered; the Zip Hoodie is not.
        mug = Product.objects.get(pk=shelf["ok"].pk)
        mug.inventory = 55
        services.product_update(product=mug, expected_version=mug.version)

        response = admin_client.post(
            PRODUCTS, action_data(page, "clear_inventory", [shelf["out"].pk], select_across="1")
        )

        assert messages_of(response)[0] == "1 product was updated."
        assert "“Travel Mug” (now 55)" in messages_of(response)[1]
        assert dict(Product.objects.values_list("pk", "inventory")) == {
            shelf["out"].pk: 0,
            shelf["low"].pk: 0,
            shelf["ok"].pk: 55,
        }

    def test_a_post_without_the_loaded_versions_clears_nothing(self, admin_client, shelf):
        response = admin_client.post(
            PRODUCTS, {"action": "clear_inventory", "index": "0", "_selected_action": [shelf["ok"].pk]}
        )
        assert messages_of(response)[0] == "0 products were updated."
        assert "“Travel Mug” (now 40)" in messages_of(response)[1]
        assert Product.objects.get(pk=shelf["ok"].pk).inventory == 40

    def test_each_row_carries_its_version_and_the_page_its_render_time(self, admin_client, shelf):
        html = admin_client.get(PRODUCTS).content.decode()
        assert f'value="{shelf["ok"].pk}"' in html
        assert f'<input type="hidden" name="_loaded_version" value="{shelf["ok"].pk}:1">' in html
        assert 'name="_loaded_at" value="' in html

    def test_forged_ids_do_nothing(self, admin_client, shelf):
        response = admin_client.post(PRODUCTS, {"action": "clear_inventory", "_selected_action": ["999999"]})
        assert response.status_code in (200, 302)
        assert Product.objects.get(pk=shelf["ok"].pk).inventory == 40

    def test_needs_the_change_permission(self, client, django_user_model, shelf):
        viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_product"))
        client.force_login(viewer)
        page = client.get(PRODUCTS)
        assert page.status_code == 200
        assert "clear_inventory" not in page.content.decode()
        response = client.post(PRODUCTS, {"action": "clear_inventory", "_selected_action": [shelf["ok"].pk]})
        assert Product.objects.get(pk=shelf["ok"].pk).inventory == 40
        assert response.status_code in (200, 302, 403)


class TestCollectionAdmin:
    def test_products_count_is_annotated_sortable_and_links_to_the_filtered_list(self, admin_client, shelf):
        response = admin_client.get(COLLECTIONS, {"o": "-2"})
        assert response.status_code == 200
        rows = list(response.context["cl"].result_list)
        assert [(c.title, c.products_count) for c in rows] == [("Hoodies", 2), ("Mugs", 1)]
        link = f"{PRODUCTS}?collection__pk__exact={shelf['hoodies'].pk}"
        assert f'href="{link}">2</a>' in unescape(response.content.decode())
        assert shown(admin_client.get(link)) == {shelf["out"].pk, shelf["low"].pk}

    def test_search(self, admin_client, shelf):
        response = admin_client.get(COLLECTIONS, {"q": "mug"})
        assert [c.title for c in response.context["cl"].result_list] == ["Mugs"]

    def test_same_queries_at_10_and_100_rows(self, admin_client, monkeypatch):
        for collection in CollectionFactory.create_batch(105):
            collection.featured_product = ProductFactory(collection=collection)
            collection.save()
        counts = changelist_query_counts(admin_client, monkeypatch, Collection, COLLECTIONS)
        assert counts[10] == counts[100]

    def test_add_and_change(self, admin_client, shelf):
        add = reverse("admin:store_collection_add")
        assert admin_client.get(add).status_code == 200
        assert admin_client.post(add, {"title": "Lamps", "featured_product": ""}).status_code == 302
        lamps = Collection.objects.get(title="Lamps")
        change = reverse("admin:store_collection_change", args=[shelf["mugs"].pk])
        response = admin_client.get(change)
        assert isinstance(
            response.context["adminform"].form.fields["featured_product"].widget.widget, AutocompleteSelect
        )
        response = admin_client.post(change, {"title": "Mugs & Cups", "featured_product": shelf["ok"].pk})
        assert response.status_code == 302
        shelf["mugs"].refresh_from_db()
        assert (shelf["mugs"].title, shelf["mugs"].featured_product) == ("Mugs & Cups", shelf["ok"])
        assert lamps.pk

    def test_featured_product_autocomplete_searches_products(self, admin_client, shelf):
        response = admin_client.get(
            reverse("admin:autocomplete"),
            {"app_label": "store", "model_name": "collection", "field_name": "featured_product", "term": "zip"},
        )
        assert response.status_code == 200
        assert [r["text"] for r in response.json()["results"]] == ["Zip Hoodie"]

    def test_deleting_a_collection_with_products_is_refused_cleanly(self, admin_client, shelf):
        url = reverse("admin:store_collection_delete", args=[shelf["mugs"].pk])
        response = admin_client.post(url, {"post": "yes"})
        assert response.status_code == 200
        assert "Cannot delete" in response.content.decode()
        assert Collection.objects.filter(pk=shelf["mugs"].pk).exists()


class TestPromotionAdmin:
    def test_changelist_search_and_count(self, admin_client, shelf):
        response = admin_client.get(PROMOTIONS, {"q": "sal"})
        assert [(p.description, p.products_count) for p in response.context["cl"].result_list] == [("Sale", 1)]

    def test_add_and_change(self, admin_client, shelf):
        add = reverse("admin:store_promotion_add")
        assert admin_client.get(add).status_code == 200
        assert admin_client.post(add, {"description": "Winter", "discount": "15"}).status_code == 302
        response = admin_client.post(add, {"description": "Too much", "discount": "150"})
        assert response.status_code == 200
        assert "Ensure this value is less than or equal to 100." in response.content.decode()
        change = reverse("admin:store_promotion_change", args=[shelf["sale"].pk])
        assert admin_client.get(change).status_code == 200
        assert admin_client.post(change, {"description": "Sale", "discount": "20"}).status_code == 302
        assert Promotion.objects.get(pk=shelf["sale"].pk).discount == Decimal("20")


def test_facet_counts_are_never_computed_on_the_product_list(admin_client, shelf):
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(PRODUCTS, {"_facets": "True"})
    assert response.status_code == 200
    # the capped page count only (the page's own query counts each row's variants in a subquery)
    assert sum(q["sql"].startswith("SELECT COUNT(") for q in queries) == 1


class TestHistoryPages:
    def test_a_past_version_can_be_viewed_but_not_saved_back(self, admin_client, client, django_user_model, shelf):
        product = shelf["ok"]
        record = Product.history.filter(id=product.pk).latest()
        url = reverse("admin:store_product_simple_history", args=[product.pk, record.history_id])
        response = admin_client.get(url)
        assert response.status_code == 200
        assert 'name="_save"' not in response.content.decode()

        data = {
            "title": "Hacked",
            "slug": "hacked",
            "sku": "MG-1",
            "unit_price": "1.00",
            "inventory": "0",
            "collection": shelf["mugs"].pk,
            "loaded_version": "1",
        }
        viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_product"))
        client.force_login(viewer)
        assert client.get(url).status_code == 200
        for who in (admin_client, client):
            assert who.post(url, data).status_code == 403
        product.refresh_from_db()
        assert (product.title, product.version) == ("Travel Mug", 1)

    def test_history_page_queries_do_not_grow_with_records(self, admin_client, shelf, django_assert_max_num_queries):
        product = shelf["ok"]
        for price in range(2, 30):
            product.unit_price = Decimal(price)
            services.product_update(product=product, expected_version=product.version)
        with django_assert_max_num_queries(12):
            response = admin_client.get(reverse("admin:store_product_history", args=[product.pk]))
        assert response.status_code == 200
        assert "Unit price: 28.00 → 29.00" in normalized(response.content.decode())


# --- Sorting a million products: every header click is one index walk ---------------------

# list_display: 1 image and 4 collection (not sortable), 2 title, 3 sku, 5 unit_price,
# 6 inventory, 7 stock (= inventory), 8 status (not sortable).
SORT_COLUMNS = {2: "title", 3: "sku", 5: "unit_price", 6: "inventory", 7: "inventory"}


def header_sorts() -> list[str]:
    """What clicking headers reaches: each column either way, alone and with the default title."""
    sorts = []
    for column in SORT_COLUMNS:
        for sign in ("", "-"):
            sorts.append(f"{sign}{column}")
            sorts += [f"{sign}{column}.2", f"{sign}{column}.-2"] if column != 2 else [f"{sign}2.7", f"{sign}2.-5"]
    return sorts


def page_query_order_by(queries) -> str:
    page = [
        q["sql"].replace("`", "").replace('"', "")
        for q in queries
        if q["sql"].startswith("SELECT") and " ORDER BY " in q["sql"] and not q["sql"].startswith("SELECT COUNT(")
    ]
    # The outer FROM (the last one: the first image's subquery has its own).
    page = [sql for sql in page if sql.rsplit(" FROM ", 1)[1].startswith("store_product ")]
    assert len(page) == 1, page
    # The outer ORDER BY (the last one), not the first image's subquery's.
    match = re.search(r" ORDER BY (.*?)(?: LIMIT|$)", " ORDER BY " + page[0].rsplit(" ORDER BY ", 1)[1])
    assert match, page[0]
    return match.group(1)


@pytest.mark.parametrize("sort", header_sorts())
def test_every_header_sort_is_one_indexed_column_then_pk_in_its_direction(sort, admin_client):
    ProductFactory.create_batch(3)
    column = SORT_COLUMNS[int(sort.split(".")[0].lstrip("-"))]
    direction = "DESC" if sort.startswith("-") else "ASC"

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(PRODUCTS, {"o": sort})

    assert response.status_code == 200
    expected = [f"store_product.{column} {direction}"]
    if not Product._meta.get_field(column).unique:  # sku is unique: no tie to break
        expected.append(f"store_product.id {direction}")
    assert page_query_order_by(queries) == ", ".join(expected)
    # The list shows products (rows without a parent): an index leads with parent then the column,
    # and every index ends in the primary key (InnoDB's secondary indexes carry it, SQLite's carry
    # the rowid): it serves the whole ORDER BY.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Product._meta.db_table)
    leading = ["parent_id", column]
    assert any(c["index"] and c["columns"][:2] == leading for c in constraints.values()), (
        f"no index leads with parent_id, {column}"
    )


def test_the_count_line_says_what_the_paginator_says(admin_client, monkeypatch):
    """The search form's count ("N products") is the paginator's, "more than N" past the cap, and is
    shown only when a search or a filter narrows the list (no "N results (Show all)" on the whole list)."""
    ProductFactory.create_batch(6, title="Lamp")
    ProductFactory(title="Mug")
    monkeypatch.setattr(CappedCountPaginator, "cap", 4)
    monkeypatch.setattr(CappedCountPaginator, "search_cap", 4)
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)

    whole = admin_client.get(PRODUCTS).content.decode()
    assert 'id="changelist-search-count"' not in whole
    assert "results (" not in whole

    capped = admin_client.get(PRODUCTS, {"q": "lamp"})
    assert capped.context["cl"].paginator.count_is_capped
    count_line = re.search(r'id="changelist-search-count">([^<(]*)', capped.content.decode()).group(1).strip()
    assert count_line == "more than 4 products"

    one = admin_client.get(PRODUCTS, {"q": "mug"})
    assert one.context["cl"].paginator.count == 1
    assert re.search(r'id="changelist-search-count">([^<(]*)', one.content.decode()).group(1).strip() == "1 product"


def test_counts_have_thousands_separators(admin_client):
    """ "1,001 products", "Select all 1,001 products", "All 1,001 selected": a merchandiser reads
    the count of a filtered list at a glance (it read "1001 products")."""
    shelf = CollectionFactory()
    Product.objects.bulk_create(
        ProductFactory.build(status=Product.Status.DRAFT, collection=shelf) for _ in range(1_001)
    )
    html = admin_client.get(PRODUCTS, {"status__exact": Product.Status.DRAFT}).content.decode()
    count_line = re.search(r'id="changelist-search-count">([^<(]*)', html).group(1).strip()
    assert count_line == "1,001 products"
    assert re.search(r'<p class="paginator">.*?1,001 products', html, re.DOTALL)
    assert "Select all 1,001 products" in html
    assert "All 1,001 selected" in html


def test_a_search_counts_up_to_its_own_cap_and_a_filter_up_to_the_lists(admin_client, monkeypatch):
    """A search stops counting at ``search_cap`` (its count reads the term index word by word); a
    filter without a search counts up to ``cap``."""
    ProductFactory.create_batch(6, title="Lamp", status=Product.Status.DRAFT)
    monkeypatch.setattr(CappedCountPaginator, "cap", 10)
    monkeypatch.setattr(CappedCountPaginator, "search_cap", 3)
    searched = admin_client.get(PRODUCTS, {"q": "lamp"}).context["cl"].paginator
    assert (searched.count, searched.count_is_capped) == (3, True)
    filtered = admin_client.get(PRODUCTS, {"status__exact": "draft"}).context["cl"].paginator
    assert (filtered.count, filtered.count_is_capped) == (6, False)
