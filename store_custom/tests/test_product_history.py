"""The product's change history shows what a change did to tags, images and promotions (from the
admin's change form and from imports), status by its label, and never the literal "None"."""

import re
from html import unescape
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from store import services
from store.models import Product
from store.tests.admin_helpers import changeform_data
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory, image_upload
from tags.models import TaggedItem
from tags.tests.factories import TagFactory

pytestmark = pytest.mark.django_db

INLINE_PREFIX = "tags-taggeditem-content_type-object_id"


def history_rows(client, product) -> list[str]:
    """The history table's rows as text, newest first (one line each)."""
    html = client.get(reverse("admin:store_product_history", args=[product.pk])).content.decode()
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in body.split("<tr>")[1:]]


def test_a_change_form_save_shows_its_tags_image_promotion_and_status(admin_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    product = ProductFactory(status=Product.Status.DRAFT)
    sale = PromotionFactory(description="Sale", discount=10)
    eco = TagFactory(label="eco")
    url = reverse("admin:store_product_change", args=[product.pk])
    data = changeform_data(admin_client.get(url)) | {
        "status": Product.Status.ACTIVE,
        "promotions": [sale.pk],
        f"{INLINE_PREFIX}-0-tag": eco.pk,
        "images-0-image": image_upload(name="mug.png"),
        "images-0-position": "0",
    }
    assert admin_client.post(url, data).status_code == 302

    newest = history_rows(admin_client, product)[0]
    assert "Status: Draft → Active" in newest
    assert "Tags: — → eco" in newest
    assert "Promotions: — → Sale (10.00%)" in newest
    assert re.search(r"Images: — → \S+\.png", newest), newest

    # Only the tags this time: the row says so, it is not an empty "Changed".
    data = changeform_data(admin_client.get(url)) | {f"{INLINE_PREFIX}-0-DELETE": "on"}
    data.pop("images-0-image", None)
    assert admin_client.post(url, data).status_code == 302
    assert not TaggedItem.objects.filter(object_id=product.pk).exists()
    newest = history_rows(admin_client, product)[0]
    assert "Tags: eco → —" in newest
    assert "Status:" not in newest


def test_an_import_that_changed_only_tags_shows_them(admin_user, admin_client, tmp_path):
    product = ProductFactory(sku="MUG-1", title="Mug", collection=CollectionFactory(title="Kitchen"))
    TaggedItem.objects.create(tag=TagFactory(label="eco"), content_object=product)
    path = tmp_path / "tags.csv"
    path.write_text('sku,title,tags\nMUG-1,Mug,"eco, sale"\n')
    call_command("import_products", str(path), "--user", admin_user.username, stdout=StringIO())

    newest = history_rows(admin_client, product)[0]
    assert "Import #" in newest
    assert "Tags: eco → eco, sale" in newest


def test_no_literal_none_for_a_change_without_user_or_reason(admin_client):
    product = ProductFactory(unit_price="10.00")
    product.unit_price = "12.00"
    services.product_update(product=product, expected_version=product.version)  # no user, no reason

    rows = history_rows(admin_client, product)
    assert "None" not in " ".join(rows)
    assert "Unit price: 10.00 → 12.00" in rows[0]
