"""Reverting an import: the service (store.reverting) and `manage.py revert_import`."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from store import services
from store.importing import revert as reverting
from store.importing.service import product_import
from store.models import Cart, CartItem, ImportJob, ImportRevert, Product
from store.roles import role_sync_all
from store.tests.factories import CollectionFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

HEADER = ["sku", "title", "unit_price", "inventory", "collection"]


@pytest.fixture
def imported(write_csv, admin_user):
    """An import that updated two products and created two."""
    hoodies = CollectionFactory(title="Hoodies")
    old = [
        ProductFactory(sku="OLD-1", title="Old one", unit_price=Decimal("10.00"), inventory=5, collection=hoodies),
        ProductFactory(sku="OLD-2", title="Old two", unit_price=Decimal("20.00"), inventory=6, collection=hoodies),
    ]
    path = write_csv(
        [
            ["OLD-1", "Old one", "11.00", "5", "Hoodies"],
            ["OLD-2", "Old two renamed", "20.00", "60", "Mugs"],
            ["NEW-1", "New one", "30.00", "1", "Hoodies"],
            ["NEW-2", "New two", "31.00", "2", "Hoodies"],
        ],
        header=HEADER,
    )
    outcome = product_import(path=path, file_name="products.csv", user=admin_user)
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.job.message
    return {"job": outcome.job, "old": old, "user": admin_user}


def state(sku):
    product = Product.objects.filter(sku=sku).select_related("collection").first()
    if product is None:
        return None
    return (product.title, product.unit_price, product.inventory, product.collection.title)


def test_revert_restores_updates_and_deletes_creations(imported):
    job = imported["job"]
    versions = {p.sku: Product.objects.get(pk=p.pk).version for p in imported["old"]}

    preview = reverting.import_revert_preview(job=job)
    assert (preview.rows, preview.restore, preview.delete, preview.kept, preview.changed) == (4, 2, 2, 0, 0)
    assert state("OLD-1")[1] == Decimal("11.00")
    outcome = reverting.import_revert(job=job, user=imported["user"])

    assert state("OLD-1") == ("Old one", Decimal("10.00"), 5, "Hoodies")
    assert state("OLD-2") == ("Old two", Decimal("20.00"), 6, "Hoodies")
    assert state("NEW-1") is None
    assert state("NEW-2") is None
    assert {p.sku: p.version for p in Product.objects.all()} == {sku: v + 1 for sku, v in versions.items()}
    reason = f"Revert of import #{job.pk}"
    assert sorted(Product.history.filter(history_change_reason=reason).values_list("history_type", flat=True)) == [
        "-",
        "-",
        "~",
        "~",
    ]
    assert outcome.job.file_name == reason
    assert outcome.job.updated_count == 2
    assert ImportRevert.objects.get(import_job=job).deleted_count == 2


def test_reverting_twice_is_refused(imported):
    reverting.import_revert(job=imported["job"])
    with pytest.raises(ValidationError, match="was already reverted"):
        reverting.import_revert(job=imported["job"])


def test_a_failed_import_cannot_be_reverted(write_csv):
    path = write_csv([["X-1", "T", "0.10", "1", "C"]], header=HEADER)
    job = product_import(path=path, file_name="bad.csv").job
    with pytest.raises(ValidationError, match="wrote nothing"):
        reverting.import_revert_preview(job=job)


def test_a_product_changed_since_refuses_the_revert_and_lists_both_values(imported):
    product = Product.objects.get(sku="OLD-1")
    product.unit_price = Decimal("12.50")
    services.product_update(product=product, expected_version=product.version)

    with pytest.raises(reverting.RevertRefused) as refused:
        reverting.import_revert(job=imported["job"])

    assert state("OLD-1")[1] == Decimal("12.50")
    assert state("NEW-1") is not None
    assert state("OLD-2")[0] == "Old two renamed"
    [item] = refused.value.report.changed_items
    assert (item.sku, item.why, item.fields) == (
        "OLD-1",
        "changed since the import",
        [("unit_price", "12.50", "10.00")],
    )
    assert not ImportRevert.objects.exists()


def test_skip_changed_reverts_the_rest(imported):
    product = Product.objects.get(sku="OLD-1")
    product.inventory = 99
    services.product_update(product=product, expected_version=product.version)

    outcome = reverting.import_revert(job=imported["job"], skip_changed=True)

    assert state("OLD-1") == ("Old one", Decimal("11.00"), 99, "Hoodies")
    assert state("OLD-2") == ("Old two", Decimal("20.00"), 6, "Hoodies")
    assert (outcome.report.restore, outcome.report.changed) == (1, 1)


def test_created_products_in_an_order_or_cart_are_kept_and_listed(imported):
    OrderItemFactory(product=Product.objects.get(sku="NEW-1"))
    CartItem.objects.create(cart=Cart.objects.create(), product=Product.objects.get(sku="NEW-2"), quantity=1)

    outcome = reverting.import_revert(job=imported["job"])

    assert state("NEW-1") is not None
    assert state("NEW-2") is not None
    assert sorted((item.sku, item.why) for item in outcome.report.kept_items) == [
        ("NEW-1", "in an order"),
        ("NEW-2", "in a cart"),
    ]


def test_a_revert_can_be_reverted(imported):
    deleted_ids = sorted(Product.objects.filter(sku__startswith="NEW").values_list("pk", flat=True))
    first = reverting.import_revert(job=imported["job"])

    second = reverting.import_revert(job=first.job)

    assert state("OLD-1")[1] == Decimal("11.00")
    assert state("OLD-2") == ("Old two renamed", Decimal("20.00"), 60, "Mugs")
    assert sorted(Product.objects.filter(sku__startswith="NEW").values_list("pk", flat=True)) == deleted_ids
    assert (second.report.restore, second.report.recreate) == (2, 2)


def test_revert_walks_history_in_chunks(imported, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(reverting, "CHUNK", 1)
    outcome = reverting.import_revert(job=imported["job"])
    assert (outcome.report.restore, outcome.report.delete) == (2, 2)


def test_revert_query_count_does_not_grow_per_product(write_csv, django_assert_max_num_queries):
    CollectionFactory(title="Hoodies")
    path = write_csv([[f"N-{i}", f"New {i}", "5.00", "1", "Hoodies"] for i in range(300)], header=HEADER)
    job = product_import(path=path, file_name="many.csv").job
    with django_assert_max_num_queries(30):
        outcome = reverting.import_revert(job=job)
    assert outcome.report.delete == 300
    assert not Product.objects.exists()


# --- the command ---------------------------------------------------------------------------


def command(*args):
    out = StringIO()
    call_command("revert_import", *map(str, args), stdout=out)
    return out.getvalue()


def test_command_dry_run_then_revert(imported):
    job = imported["job"]
    dry = command(job.pk, "--dry-run")
    assert "Dry run: nothing written" in dry
    assert state("NEW-1") is not None

    done = command(job.pk)

    assert "Done: 2 restored, 2 deleted" in done
    assert state("NEW-1") is None


def test_command_exit_codes(imported):
    job = imported["job"]
    product = Product.objects.get(sku="OLD-2")
    product.title = "Edited"
    services.product_update(product=product, expected_version=product.version)

    with pytest.raises(CommandError) as dry:
        command(job.pk, "--dry-run")
    assert dry.value.returncode == 2
    with pytest.raises(CommandError) as refused:
        command(job.pk)
    assert refused.value.returncode == 2
    assert state("NEW-1") is not None
    assert "Done" in command(job.pk, "--skip-changed")
    with pytest.raises(CommandError) as again:
        command(job.pk)
    assert again.value.returncode == 1
    assert "already reverted" in str(again.value)
    with pytest.raises(CommandError, match="No import #999"):
        command(999)


# --- the admin ---------------------------------------------------------------------------


def revert_url(job):
    return reverse("admin:store_importjob_revert", args=[job.pk])


def test_admin_revert_preview_then_confirm(imported, admin_client):
    job = imported["job"]
    listing = admin_client.get(reverse("admin:store_importjob_changelist"))
    assert f'href="{revert_url(job)}"' in listing.content.decode()

    preview = admin_client.get(revert_url(job))
    assert preview.status_code == 200
    assert (preview.context["report"].restore, preview.context["report"].delete) == (2, 2)
    assert '11.00</span> → <span class="revert-new">10.00' in preview.content.decode()
    assert state("NEW-1") is not None

    done = admin_client.post(revert_url(job), {"_confirm": "1"})

    revert_job = ImportJob.objects.get(file_name=f"Revert of import #{job.pk}")
    assert done.status_code == 302
    assert done.url == reverse("admin:store_importjob_change", args=[revert_job.pk])
    assert state("NEW-1") is None
    assert state("OLD-1")[1] == Decimal("10.00")
    assert "reverted by import" in admin_client.get(reverse("admin:store_importjob_changelist")).content.decode()
    again = admin_client.get(revert_url(job))
    assert "was already reverted" in again.content.decode()


def test_admin_revert_refused_then_skip_changed(imported, admin_client):
    product = Product.objects.get(sku="OLD-1")
    product.unit_price = Decimal("12.50")
    services.product_update(product=product, expected_version=product.version)
    job = imported["job"]

    preview = admin_client.get(revert_url(job))
    assert 'name="skip_changed"' in preview.content.decode()
    assert "<strong>unit_price</strong>: 12.50 → 10.00" in preview.content.decode()
    refused = admin_client.post(revert_url(job), {"_confirm": "1"})
    assert refused.status_code == 200
    assert "nothing was reverted" in refused.content.decode()
    assert state("NEW-1") is not None

    done = admin_client.post(revert_url(job), {"_confirm": "1", "skip_changed": "1"})
    assert done.status_code == 302
    assert state("NEW-1") is None
    assert state("OLD-1")[1] == Decimal("12.50")


@pytest.mark.parametrize(
    ("role", "status"), [("Importer", 200), ("Merchandiser", 403), ("Viewer", 403), ("Support", 403)]
)
def test_admin_revert_needs_the_import_permission(imported, role, status, django_user_model):
    role_sync_all()
    user = django_user_model.objects.create_user(username=f"{role}-u", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    job = imported["job"]
    if role == "Importer":  # an Importer sees only their own imports: someone else's is a 404
        assert client.get(revert_url(job)).status_code == 404
    ImportJob.objects.filter(pk=job.pk).update(user=user)

    assert client.get(revert_url(job)).status_code == status
    response = client.post(revert_url(job), {"_confirm": "1"})
    assert response.status_code == (302 if status == 200 else 403)
    assert (state("NEW-1") is None) is (status == 200)


def test_reverting_a_revert_refuses_a_product_whose_sku_was_taken_meanwhile(imported):
    first = reverting.import_revert(job=imported["job"])
    ProductFactory(sku="NEW-1", title="Someone else's")

    with pytest.raises(reverting.RevertRefused) as refused:
        reverting.import_revert(job=first.job)

    assert [(item.sku, item.why) for item in refused.value.report.changed_items] == [
        ("NEW-1", "its SKU or slug is now used by another product")
    ]


def test_revert_restores_the_status_an_import_changed(write_csv, admin_user):
    draft = ProductFactory(sku="ST-1", status=Product.Status.DRAFT)
    outcome = product_import(
        path=write_csv(
            [["ST-1", draft.title, "12.00", "3", draft.collection.title, "active"]], header=[*HEADER, "status"]
        ),
        file_name="status.csv",
        user=admin_user,
    )
    assert Product.objects.get(pk=draft.pk).status == "active", outcome.job.message
    reverting.import_revert(job=outcome.job, user=admin_user)
    assert Product.objects.get(pk=draft.pk).status == "draft"
