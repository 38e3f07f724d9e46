"""The product admin with tags (store_custom) and without it."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from store.admin.catalog import ProductAdmin
from store.models import BulkEdit, Product
from store.tests.admin_helpers import changeform_data, changelist_data, changelist_query_counts, row_prefix
from store.tests.factories import CollectionFactory, ProductFactory
from store_custom.admin import CustomProductAdmin
from store_custom.selectors import product_tag_labels
from tags.admin import TaggedItemInline
from tags.models import TaggedItem
from tags.tests.factories import TagFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")
INLINE_PREFIX = "tags-taggeditem-content_type-object_id"


def tag(product, label):
    return TaggedItem.objects.create(tag=TagFactory(label=label), content_object=product)


def test_the_store_admin_shows_the_custom_admin_additions(rf, admin_user):
    """No second ModelAdmin: store's ProductAdmin appends what store_custom declares."""
    model_admin = admin.site.get_model_admin(Product)
    assert type(model_admin) is ProductAdmin
    assert any(issubclass(inline, TaggedItemInline) for inline in CustomProductAdmin.inlines)
    request = rf.get("/")
    request.user = admin_user
    assert set(CustomProductAdmin.inlines) <= set(model_admin.get_inlines(request, None))
    assert set(CustomProductAdmin.list_filter) <= set(model_admin.get_list_filter(request))
    assert [c.__name__ for c in model_admin.get_list_display(request) if callable(c)] == ["tags"]


def test_the_change_form_renders_the_tags_inline_with_an_autocomplete(admin_client):
    product = ProductFactory()
    tag(product, "eco")
    response = admin_client.get(reverse("admin:store_product_change", args=[product.pk]))
    assert response.status_code == 200
    (inline,) = [i for i in response.context["inline_admin_formsets"] if i.formset.prefix == INLINE_PREFIX]
    assert [form.instance.tag.label for form in inline.formset.initial_forms] == ["eco"]
    assert isinstance(inline.formset.form.base_fields["tag"].widget.widget, AutocompleteSelect)


def test_posting_the_inline_creates_tagged_items(admin_client):
    product = ProductFactory()
    eco, sale = TagFactory(label="eco"), TagFactory(label="sale")
    url = reverse("admin:store_product_change", args=[product.pk])
    data = changeform_data(admin_client.get(url)) | {
        f"{INLINE_PREFIX}-TOTAL_FORMS": "2",
        f"{INLINE_PREFIX}-0-tag": eco.pk,
        f"{INLINE_PREFIX}-1-tag": sale.pk,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302
    items = TaggedItem.objects.get_tags_for(Product, product.pk)
    assert sorted(item.tag.label for item in items) == ["eco", "sale"]


def test_the_add_form_creates_the_product_and_its_tags(admin_client):
    eco, collection = TagFactory(label="eco"), CollectionFactory()
    url = reverse("admin:store_product_add")
    data = changeform_data(admin_client.get(url)) | {
        "title": "Bamboo Mug",
        "slug": "bamboo-mug",
        "sku": "BM-1",
        "unit_price": "9.00",
        "inventory": "5",
        "collection": collection.pk,
        f"{INLINE_PREFIX}-0-tag": eco.pk,
    }
    assert admin_client.post(url, data).status_code == 302
    product = Product.objects.get(sku="BM-1")
    assert [item.tag.label for item in TaggedItem.objects.get_tags_for(Product, product.pk)] == ["eco"]


def test_tags_column_and_filter(admin_client):
    hoodie, mug = ProductFactory(title="Hoodie"), ProductFactory(title="Mug")
    eco = tag(hoodie, "eco").tag
    tag(hoodie, "cotton")
    response = admin_client.get(PRODUCTS)
    rows = {p.pk: p.tag_labels for p in response.context["cl"].result_list}
    assert rows == {hoodie.pk: ["cotton", "eco"], mug.pk: []}
    assert '<td class="field-tags">cotton, eco</td>' in response.content.decode()

    response = admin_client.get(PRODUCTS, {"tag": eco.pk})
    assert [p.pk for p in response.context["cl"].result_list] == [hoodie.pk]
    assert admin_client.get(PRODUCTS, {"tag": "junk"})["Location"].endswith("?e=1")


def test_the_tags_column_costs_the_same_queries_at_10_and_100_rows(admin_client, monkeypatch):
    for i, product in enumerate(ProductFactory.create_batch(105)):
        tag(product, f"t{i % 7}")
    counts = changelist_query_counts(admin_client, monkeypatch, Product, PRODUCTS)
    assert counts[10] == counts[100]


def test_list_edits_still_work_with_the_tags_changelist(admin_client):
    product = ProductFactory(inventory=5)
    tag(product, "eco")
    page = admin_client.get(PRODUCTS)
    row = row_prefix(page, product.pk)
    assert admin_client.post(PRODUCTS, changelist_data(page, **{f"{row}-inventory": "6"})).status_code == 302
    product.refresh_from_db()
    assert product.inventory == 6


WITHOUT_STORE_CUSTOM = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.test.utils import setup_test_environment
    setup_test_environment()  # ALLOWED_HOSTS += testserver; responses keep their context
    from django.apps import apps
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from store.models import Collection, Product

    call_command("migrate", verbosity=0)
    collection = Collection.objects.create(title="Mugs")
    product = Product.objects.create(title="Mug", slug="mug", sku="M-1", unit_price="5.00",
                                     inventory=3, collection=collection)
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    pages = {
        "changelist": client.get("/admin/store/product/?inventory_status=low&q=mu"),
        "change": client.get(f"/admin/store/product/{product.pk}/change/"),
        "add": client.get("/admin/store/product/add/"),
        "history": client.get(f"/admin/store/product/{product.pk}/history/"),
    }
    data = {"title": "Mug", "slug": "mug", "sku": "M-1", "description": "", "unit_price": "6.00",
            "inventory": "3", "collection": collection.pk, "loaded_version": "1", "status": "active",
            "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0"}
    saved = client.post(f"/admin/store/product/{product.pk}/change/", data)
    product.refresh_from_db()
    print(json.dumps({
        "store_custom_installed": apps.is_installed("store_custom"),
        "admin_class": type(admin.site.get_model_admin(Product)).__module__,
        "status": {name: response.status_code for name, response in pages.items()},
        "mentions_tags": any(b"taggeditem" in r.content for r in pages.values()),
        "rows": len(pages["changelist"].context["cl"].result_list),
        "saved": saved.status_code, "price": str(product.unit_price),
    }))
    """
)


@pytest.mark.slow
def test_without_store_custom_the_admin_works_without_tags(tmp_path):
    """A real second process, with store_custom taken out of INSTALLED_APPS."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_without_store_custom",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'no_store_custom.sqlite3'}",
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_STORE_CUSTOM],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "store_custom_installed": False,
        "admin_class": "store.admin.catalog",
        "status": {"changelist": 200, "change": 200, "add": 200, "history": 200},
        "mentions_tags": False,
        "rows": 1,
        "saved": 302,
        "price": "6.00",
    }


def test_contenttype_of_product_is_what_tags_use():
    assert ContentType.objects.get_for_model(Product).model == "product"


def test_tag_list_links_its_product_count_to_the_filtered_product_list(admin_client):
    eco = TagFactory(label="eco")
    for product in ProductFactory.create_batch(2):
        tag(product, "eco")
    TaggedItem.objects.create(tag=eco, content_object=Product.objects.first().collection)  # not a product
    response = admin_client.get(reverse("admin:tags_tag_changelist"), {"o": "-3"})
    row = response.context["cl"].result_list[0]
    assert (row.label, row.usage_count, row.products_count) == ("eco", 3, 2)
    url = f"{PRODUCTS}?tag={eco.pk}"
    assert f'<a href="{url}">2</a>' in response.text
    assert len(admin_client.get(url).context["cl"].result_list) == 2


def test_bulk_add_and_remove_tags(admin_client):
    a, b = ProductFactory(), ProductFactory()
    url = reverse("admin:store_product_changelist")

    def post(action, step, labels):
        return admin_client.post(
            url, {"action": action, ACTION_CHECKBOX_NAME: [a.pk, b.pk], "_bulk_step": step, "bulk-labels": labels}
        )

    preview = post("bulk_add_tags", "preview", "Summer, sale")
    assert preview.context["report"].changed == 2
    assert post("bulk_add_tags", "apply", "Summer, sale").status_code == 302
    labels = product_tag_labels(product_ids=[a.pk, b.pk])
    assert sorted(labels[a.pk], key=str.casefold) == ["sale", "Summer"]
    assert post("bulk_remove_tags", "apply", "sale").status_code == 302
    labels = product_tag_labels(product_ids=[a.pk, b.pk])
    assert labels[a.pk] == labels[b.pk] == ("Summer",)
    edit = BulkEdit.objects.latest("pk")
    assert Product.history.filter(history_change_reason=f"Bulk edit #{edit.pk}: remove tags sale").count() == 2


def test_tag_inline_rows_are_named_by_the_tag_not_the_database_ids(admin_client):
    product = ProductFactory()
    item = tag(product, "handmade")
    assert str(item) == "handmade"
    page = admin_client.get(reverse("admin:store_product_change", args=[product.pk])).content.decode()
    assert f"on product {product.pk}" not in page
