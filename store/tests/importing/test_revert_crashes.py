"""A revert's record is part of its transaction (a process killed after the commit leaves it
recorded), and a revert that lost a double submit says the import was already reverted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from store.importing import revert as reverting
from store.importing.service import product_import
from store.models import ImportJob, ImportRevert, Product
from store.tests.crash import ProcessKilled, die_after_commit
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = ["sku", "title", "unit_price", "inventory", "collection"]


@pytest.fixture
def imported(write_csv, admin_user):
    """An import that updated one product and created one."""
    hoodies = CollectionFactory(title="Hoodies")
    ProductFactory(sku="OLD-1", title="Old one", unit_price=Decimal("10.00"), inventory=5, collection=hoodies)
    path = write_csv(
        [["OLD-1", "Old one", "11.00", "5", "Hoodies"], ["NEW-1", "New", "30.00", "1", "Hoodies"]], header=HEADER
    )
    job = product_import(path=path, file_name="products.csv", user=admin_user).job
    assert job.status == ImportJob.STATUS_SUCCEEDED, job.message
    return job


def test_a_revert_killed_after_its_commit_is_recorded(imported, admin_user, monkeypatch):
    die_after_commit(monkeypatch, reverting, "_record")

    with pytest.raises(ProcessKilled):
        reverting.import_revert(job=imported, user=admin_user)

    revert = ImportRevert.objects.get(import_job=imported)
    assert (revert.restored_count, revert.deleted_count) == (1, 1)
    revert_job = revert.revert_job
    assert (revert_job.status, revert_job.updated_count) == (ImportJob.STATUS_SUCCEEDED, 1)
    assert revert_job.message.startswith("1 restored, 1 deleted")
    assert Product.objects.get(sku="OLD-1").unit_price == Decimal("10.00")
    assert not Product.objects.filter(sku="NEW-1").exists()
    with pytest.raises(ValidationError, match=rf"already reverted \(import #{revert_job.pk}\)"):
        reverting.import_revert(job=imported, user=admin_user)
    reverting.import_revert(job=revert_job, user=admin_user)  # the revert can be reverted in turn
    assert Product.objects.get(sku="OLD-1").unit_price == Decimal("11.00")


def test_the_loser_of_a_double_submitted_revert_is_told_it_was_already_reverted(imported, admin_client, monkeypatch):
    """Both requests checked before either committed; the unique key stops the second one."""
    first = reverting.import_revert(job=imported)
    monkeypatch.setattr(reverting, "_check_revertible", lambda job: None)  # the check it passed earlier

    response = admin_client.post(reverse("admin:store_importjob_revert", args=[imported.pk]), {"_confirm": "Revert"})

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Import #{imported.pk} was already reverted (import #{first.job.pk})." in page
    assert "UNIQUE" not in page.upper()
    assert "Duplicate entry" not in page
    assert ImportRevert.objects.count() == 1
    assert ImportJob.objects.filter(file_name__startswith="Revert of").count() == 1
