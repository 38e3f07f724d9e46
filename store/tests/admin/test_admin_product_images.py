"""The product page's images and status through the real admin views (admin_client)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from store import services
from store.models import Product, ProductImage
from store.tests.admin_helpers import changeform_data, changelist_query_counts
from store.tests.factories import (
    CollectionFactory,
    ProductFactory,
    PromotionFactory,
    image_bytes,
    image_upload,
    product_image,
)

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")
ADD = reverse("admin:store_product_add")


def change_url(product):
    return reverse("admin:store_product_change", args=[product.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def inline_errors(response) -> list[str]:
    (images,) = [i for i in response.context["inline_admin_formsets"] if i.formset.model is ProductImage]
    return [str(e) for form in images.formset.forms for errors in form.errors.values() for e in errors]


class TestImagesInline:
    def test_upload_on_the_change_page_stores_and_thumbnails_it(self, admin_client, django_capture_on_commit_callbacks):
        product = ProductFactory()
        data = changeform_data(admin_client.get(change_url(product))) | {
            "images-TOTAL_FORMS": "1",
            "images-0-image": image_upload("front.jpg", image_bytes("JPEG", size=(800, 600))),
            "images-0-alt_text": "Front view",
            "images-0-position": "1",
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(change_url(product), data)
        assert response.status_code == 302, inline_errors(response)
        (image,) = product.images.all()
        assert (image.alt_text, image.position, image.width, image.height) == ("Front view", 1, 800, 600)
        assert image.image.name.endswith(".jpg")
        assert image.thumbnail.name.endswith(".webp")
        assert default_storage.exists(image.image.name)
        assert default_storage.exists(image.thumbnail.name)
        page = admin_client.get(change_url(product)).text
        assert f'src="{image.thumbnail.url}"' in page

    def test_add_a_product_with_an_image(self, admin_client, django_capture_on_commit_callbacks):
        collection = CollectionFactory()
        data = changeform_data(admin_client.get(ADD)) | {
            "title": "Linen Shirt",
            "slug": "linen-shirt",
            "sku": "LS-1",
            "unit_price": "25.00",
            "inventory": "3",
            "collection": collection.pk,
            "images-TOTAL_FORMS": "1",
            "images-0-image": image_upload("shirt.webp", image_bytes("WEBP")),
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(ADD, data)
        assert response.status_code == 302
        product = Product.objects.get(sku="LS-1")
        assert product.status == Product.Status.DRAFT  # the add form's initial value
        assert product.images.get().thumbnail.name

    @pytest.mark.parametrize(
        ("name", "data", "expected"),
        [
            ("notes.png", b"just some text\n" * 20, "“notes.png” is not an image (JPEG, PNG, WebP or GIF expected)."),
            (
                "logo.svg",
                b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                "“logo.svg” is an SVG image. SVG is not accepted because it can carry scripts; "
                "upload a JPEG, PNG, WebP or GIF.",
            ),
            ("cut.jpg", None, "“cut.jpg” is damaged or truncated and cannot be read"),
            ("scan.bmp", image_bytes("BMP"), "“scan.bmp” is a BMP image; only JPEG, PNG, WebP and GIF are accepted."),
        ],
    )
    def test_a_bad_file_is_a_form_error_naming_it(self, admin_client, name, data, expected):
        if data is None:
            data = image_bytes("JPEG", size=(400, 300))
            data = data[: len(data) // 2]
        product = ProductFactory()
        form = changeform_data(admin_client.get(change_url(product))) | {
            "images-TOTAL_FORMS": "1",
            "images-0-image": image_upload(name, data),
            "title": "Renamed meanwhile",
        }
        response = admin_client.post(change_url(product), form)
        assert response.status_code == 200
        errors = inline_errors(response)
        assert len(errors) == 1, errors
        assert errors[0].startswith(expected), errors
        assert not ProductImage.objects.exists()
        product.refresh_from_db()
        assert product.title != "Renamed meanwhile"  # nothing written

    def test_a_file_named_without_its_extension_is_taken_by_its_content(self, admin_client):
        product = ProductFactory()
        form = changeform_data(admin_client.get(change_url(product))) | {
            "images-TOTAL_FORMS": "1",
            "images-0-image": image_upload("photo", image_bytes("GIF")),
        }
        response = admin_client.post(change_url(product), form)
        assert response.status_code == 302
        assert product.images.get().image.name.endswith(".gif")

    def test_an_oversize_file(self, admin_client, settings):
        settings.PRODUCT_IMAGE_MAX_BYTES = 2000
        product = ProductFactory()
        big = image_bytes("PNG", size=(64, 48)) + b"\0" * 2000  # trailing junk: valid, but too big
        assert len(big) > 2000
        form = changeform_data(admin_client.get(change_url(product))) | {
            "images-TOTAL_FORMS": "1",
            "images-0-image": image_upload("poster.png", big),
        }
        response = admin_client.post(change_url(product), form)
        assert response.status_code == 200
        assert inline_errors(response)[0].startswith("“poster.png” is ")
        assert "an image may be at most 2.0\xa0KB." in inline_errors(response)[0]

    def test_edit_alt_text_and_position_and_delete_a_row(self, admin_client, django_capture_on_commit_callbacks):
        product = ProductFactory()
        first, second = product_image(product, position=0), product_image(product, position=1)
        response = admin_client.get(change_url(product))
        data = changeform_data(response)
        prefix = {
            form.instance.pk: form.prefix
            for inline in response.context["inline_admin_formsets"]
            if inline.formset.model is ProductImage
            for form in inline.formset.forms
            if form.instance.pk
        }
        data |= {
            f"{prefix[second.pk]}-position": "0",
            f"{prefix[second.pk]}-alt_text": "Back",
            f"{prefix[first.pk]}-DELETE": "on",
        }
        data.pop(f"{prefix[first.pk]}-image", None)
        data.pop(f"{prefix[second.pk]}-image", None)
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(change_url(product), data)
        assert response.status_code == 302, inline_errors(response)
        assert [(i.pk, i.alt_text, i.position) for i in product.images.all()] == [(second.pk, "Back", 0)]
        assert not default_storage.exists(first.image.name)
        assert not default_storage.exists(first.thumbnail.name)
        assert ProductImage.objects.get(pk=second.pk).image.name == second.image.name  # the file stays


class TestChangelistThumbnails:
    def test_first_image_in_position_order_shows_as_a_thumbnail(self, admin_client):
        product = ProductFactory()
        product_image(product, position=2)
        first = product_image(product, position=1)
        unthumbnailed = product_image(ProductFactory(), thumbnail=False)
        ProductFactory(title="No image")
        html = admin_client.get(PRODUCTS).text
        assert f'<img class="product-thumb" src="{first.thumbnail.url}"' in html
        # Until its thumbnail is made, the original stands in.
        assert f'<img class="product-thumb" src="{unthumbnailed.image.url}"' in html
        assert html.count('class="product-thumb"') == 2

    def test_same_queries_at_10_and_100_rows_with_images(self, admin_client, monkeypatch):
        collections = CollectionFactory.create_batch(5)
        for i in range(120):
            status = Product.Status.DRAFT if i % 12 == 0 else Product.Status.ACTIVE
            product = ProductFactory(collection=collections[i % 5], inventory=i % 15, status=status)
            if i % 2:
                product_image(product, thumbnail=i % 4 == 1)
        admin_client.get(PRODUCTS)  # warm the process-wide caches (content types of the tag filter)
        counts = changelist_query_counts(admin_client, monkeypatch, Product, PRODUCTS)
        assert counts[10] == counts[100] <= 12, counts
        filtered = changelist_query_counts(admin_client, monkeypatch, Product, f"{PRODUCTS}?status__exact=active")
        assert filtered[10] == filtered[100] == counts[10], filtered

    def test_images_never_enter_the_count(self, admin_client):
        product_image(ProductFactory())
        with CaptureQueriesContext(connection) as queries:
            admin_client.get(PRODUCTS)
        counts = [q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(") and "store_product" in q["sql"]]
        assert counts
        assert not any("store_productimage" in sql for sql in counts)
        pages = [q["sql"] for q in queries if "store_productimage" in q["sql"]]
        assert len(pages) == 1  # the page query itself, with the subquery


class TestStatus:
    @pytest.fixture
    def shelf(self):
        return {
            "draft": ProductFactory(title="Draft Mug", status=Product.Status.DRAFT),
            "active": ProductFactory(title="Active Mug"),
            "archived": ProductFactory(title="Old Mug", status=Product.Status.ARCHIVED),
        }

    def test_badges_filter_and_form_field(self, admin_client, shelf):
        html = admin_client.get(PRODUCTS).text
        for status, label in Product.Status.choices:
            assert f'<span class="status-badge status-{status}">{label}</span>' in html
        response = admin_client.get(PRODUCTS, {"status__exact": "draft"})
        assert [p.pk for p in response.context["cl"].result_list] == [shelf["draft"].pk]
        form = admin_client.get(change_url(shelf["archived"])).context["adminform"].form
        assert form["status"].value() == "archived"
        assert admin_client.get(ADD).context["adminform"].form["status"].value() == "draft"

    def test_a_new_product_can_be_made_active_at_once(self, admin_client):
        data = changeform_data(admin_client.get(ADD)) | {
            "title": "Cap",
            "slug": "cap",
            "sku": "CAP-1",
            "unit_price": "9.00",
            "inventory": "1",
            "collection": CollectionFactory().pk,
            "status": "active",
        }
        assert admin_client.post(ADD, data).status_code == 302
        assert Product.objects.get(sku="CAP-1").status == "active"

    @pytest.mark.parametrize(
        ("action", "status"),
        [
            ("publish", "active"),
            ("unpublish", "draft"),
            ("archive", "archived"),
        ],
    )
    def test_actions_move_the_selection_and_say_how_many(self, admin_client, admin_user, shelf, action, status):
        before = {p.pk: p.version for p in Product.objects.all()}
        response = admin_client.post(
            PRODUCTS, {"action": action, "_selected_action": [p.pk for p in shelf.values()]}, follow=True
        )
        assert messages_of(response) == ["2 products were updated."]
        assert {p.status for p in Product.objects.all()} == {status}
        moved = [p for p in shelf.values() if p.status != status]
        for product in moved:
            record = product.history.latest()
            assert (record.status, record.history_user, record.history_change_reason) == (
                status,
                admin_user,
                services.STATUS_CHANGE_REASONS[status],
            )
            assert Product.objects.get(pk=product.pk).version == before[product.pk] + 1
            # The history page shows it as old -> new.
            assert record.diff_against(record.prev_record).changes[0].old == product.status

    def test_one_product_message_is_singular(self, admin_client, shelf):
        response = admin_client.post(
            PRODUCTS, {"action": "publish", "_selected_action": [shelf["draft"].pk]}, follow=True
        )
        assert messages_of(response) == ["1 product was updated."]

    def test_actions_need_the_change_permission(self, client, django_user_model, shelf):
        viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_product"))
        client.force_login(viewer)
        page = client.get(PRODUCTS).text
        assert 'value="publish"' not in page
        assert 'value="archive"' not in page
        client.post(PRODUCTS, {"action": "publish", "_selected_action": [shelf["draft"].pk]})
        assert Product.objects.get(pk=shelf["draft"].pk).status == "draft"

    def test_select_across_publishes_what_the_filter_matches(self, admin_client, shelf):
        response = admin_client.post(
            f"{PRODUCTS}?status__exact=archived",
            {"action": "publish", "select_across": "1", "_selected_action": [shelf["archived"].pk]},
            follow=True,
        )
        assert messages_of(response) == ["1 product was updated."]
        assert Product.objects.get(pk=shelf["draft"].pk).status == "draft"


def test_promotion_product_count_links_to_the_filtered_product_list(admin_client):
    sale = PromotionFactory(description="Sale")
    for product in ProductFactory.create_batch(2):
        product.promotions.add(sale)
    html = admin_client.get(reverse("admin:store_promotion_changelist")).text
    url = f"{PRODUCTS}?promotions__id__exact={sale.pk}"
    assert re.search(rf'<a href="{re.escape(url)}">2</a>', html)
    assert len(admin_client.get(url).context["cl"].result_list) == 2
