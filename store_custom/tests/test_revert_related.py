"""A revert restores everything an import changed: tags, promotions and images too (issue 20 §3).

Here, beside the tags column it records and restores through store's column table."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from store.fileformat.columns import url_hash
from store.importing import revert as reverting
from store.importing.service import product_import
from store.models import ImportJob, ImportRelatedChange, Product, ProductImage, ProductImageSource
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory
from store_custom.importing import product_tags_column
from tags.models import TaggedItem

pytestmark = pytest.mark.django_db

HEADER = ["sku", "title", "unit_price", "inventory", "collection", "tags", "promotions", "images"]
OLD_IMAGE = "https://img.example.com/old.png"
NEW_IMAGE = "https://img.example.com/new.png"


def labels(product_id: int) -> list[str]:
    return sorted(item.tag.label for item in TaggedItem.objects.get_tags_for(Product, product_id))


def promotion_ids(product_id: int) -> list[int]:
    return sorted(Product.objects.get(pk=product_id).promotions.values_list("id", flat=True))


def image_urls(product_id: int) -> list[str]:
    return sorted(ProductImageSource.objects.filter(product_id=product_id).values_list("url", flat=True))


@pytest.fixture
def catalog():
    """A product with tags, a promotion and an image; another promotion to move to."""
    kept, other = PromotionFactory(), PromotionFactory()
    product = ProductFactory(
        sku="T-1",
        title="Tee",
        unit_price=Decimal("10.00"),
        inventory=5,
        collection=CollectionFactory(title="Shirts"),
    )
    product_tags_column.write({product.pk: ("eco", "summer")})
    product.promotions.add(kept)
    ProductImageSource.objects.create(product=product, url=OLD_IMAGE, url_hash=url_hash(OLD_IMAGE), position=0)
    return {"product": product, "kept": kept, "other": other}


@pytest.fixture
def imported(catalog, write_csv, admin_user):
    """An import that changed only the product's tags, promotions and images, and created one product."""
    product, other = catalog["product"], catalog["other"]
    path = write_csv(
        [
            ["T-1", "Tee", "10.00", "5", "Shirts", "winter", str(other.pk), f"{OLD_IMAGE}|{NEW_IMAGE}"],
            ["T-2", "New tee", "12.00", "1", "Shirts", "fresh", str(other.pk), NEW_IMAGE],
        ],
        header=HEADER,
    )
    outcome = product_import(path=path, file_name="tags.csv", user=admin_user)
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.plan.errors
    assert outcome.plan.updates[0].changes.keys() == {"tags", "promotions", "images"}
    assert labels(product.pk) == ["winter"]
    assert promotion_ids(product.pk) == [other.pk]
    assert image_urls(product.pk) == [NEW_IMAGE, OLD_IMAGE]
    return {**catalog, "job": outcome.job, "user": admin_user}


def test_an_import_records_the_tags_and_promotions_it_replaces(imported):
    product, kept, other = imported["product"], imported["kept"], imported["other"]
    recorded = ImportRelatedChange.objects.filter(import_job=imported["job"]).order_by("column")
    assert [(r.product_id, r.column, r.before, r.after) for r in recorded] == [
        (product.pk, "promotions", [kept.pk], [other.pk]),
        (product.pk, "tags", ["eco", "summer"], ["winter"]),
    ]


def test_revert_restores_tags_promotions_and_removes_the_images_it_added(imported):
    product, kept = imported["product"], imported["kept"]
    source = ProductImageSource.objects.get(product=product, url=NEW_IMAGE)
    fetched = ProductImage.objects.create(product=product, image="products/x/new.png", source_url=NEW_IMAGE)
    ProductImageSource.objects.filter(pk=source.pk).update(state="done", image=fetched)

    preview = reverting.import_revert_preview(job=imported["job"])
    assert (preview.restore, preview.delete, preview.changed) == (1, 1, 0)
    assert preview.notes == []
    restored = next(item for item in preview.sample if item.sku == "T-1")
    assert restored.fields == [
        ("promotions", str(imported["other"].pk), str(kept.pk)),
        ("tags", "winter", "eco, summer"),
        (reverting.IMAGES_ADDED, "1", "removed"),
    ]
    outcome = reverting.import_revert(job=imported["job"], user=imported["user"])

    assert outcome.report.restore == 1
    assert labels(product.pk) == ["eco", "summer"]
    assert promotion_ids(product.pk) == [kept.pk]
    assert image_urls(product.pk) == [OLD_IMAGE]
    assert not ProductImage.objects.filter(pk=fetched.pk).exists()
    assert not Product.objects.filter(sku="T-2").exists()


def test_tags_changed_since_the_import_refuse_the_revert(imported):
    product = imported["product"]
    product_tags_column.write({product.pk: ("winter", "sale")})
    with pytest.raises(reverting.RevertRefused) as refused:
        reverting.import_revert(job=imported["job"])
    changed = refused.value.report.changed_items[0]
    assert (changed.sku, changed.why) == ("T-1", "its tags changed since the import")
    assert ("tags", "sale, winter", "eco, summer") in changed.fields
    assert labels(product.pk) == ["sale", "winter"]  # nothing written
    outcome = reverting.import_revert(job=imported["job"], skip_changed=True)
    assert (outcome.report.delete, outcome.report.changed) == (1, 1)
    assert labels(product.pk) == ["sale", "winter"]


def test_reverting_the_revert_puts_the_import_back_whole(imported):
    product, other = imported["product"], imported["other"]
    created = Product.objects.get(sku="T-2")
    first = reverting.import_revert(job=imported["job"])
    second = reverting.import_revert(job=first.job)
    assert (second.report.restore, second.report.recreate) == (1, 1)
    assert labels(product.pk) == ["winter"]
    assert promotion_ids(product.pk) == [other.pk]
    assert labels(created.pk) == ["fresh"]  # re-created with the same id, and its tags
    assert promotion_ids(created.pk) == [other.pk]


def test_a_revert_of_an_import_made_before_the_records_says_what_it_leaves(imported):
    job = imported["job"]
    ImportJob.objects.filter(pk=job.pk).update(options={"preset": "native"})
    ImportRelatedChange.objects.filter(import_job=job).delete()
    job.refresh_from_db()
    preview = reverting.import_revert_preview(job=job)
    assert preview.notes == [reverting.NOTE_NOT_RECORDED.format(pk=job.pk)]
    out = StringIO()
    call_command("revert_import", str(job.pk), "--dry-run", stdout=out)
    assert "ran before imports recorded the tags and promotions" in " ".join(out.getvalue().split())


def test_the_admin_revert_page_says_what_it_restores(imported, admin_client):
    url = reverse("admin:store_importjob_revert", args=[imported["job"].pk])
    html = admin_client.get(url).content.decode()
    assert 'id="revert-scope"' in html
    assert "tags and promotions the import changed" in html
    assert "<strong>tags</strong>: <span" in html
    response = admin_client.post(url, {"_confirm": "1"})
    assert response.status_code == 302
    assert labels(imported["product"].pk) == ["eco", "summer"]


def test_revert_reads_the_records_in_bulk(catalog, write_csv, django_assert_max_num_queries):
    products = ProductFactory.create_batch(60, collection=catalog["product"].collection)
    rows = [[p.sku, p.title, str(p.unit_price), str(p.inventory), "Shirts", "bulk", "", ""] for p in products]
    job = product_import(path=write_csv(rows, header=HEADER), file_name="bulk.csv").job
    assert ImportRelatedChange.objects.filter(import_job=job).count() == 60
    with django_assert_max_num_queries(45):
        outcome = reverting.import_revert(job=job)
    assert outcome.report.restore == 60
    assert not TaggedItem.objects.filter(object_id__in=[p.pk for p in products]).exists()
