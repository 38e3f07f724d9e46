"""Product writes: optimistic locking, bulk clear, change history. No HTTP."""

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from store import services
from store.models import Product
from store.seeding import catalog_seed
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db


def history_changes(product: Product) -> list[tuple[str, str, str]]:
    """(field, old, new) for every recorded change, oldest first."""
    records = list(Product.history.filter(id=product.pk).order_by("history_date", "history_id"))
    changes = []
    for previous, record in itertools.pairwise(records):
        delta = record.diff_against(previous)
        changes += [(c.field, str(c.old), str(c.new)) for c in delta.changes]
    return changes


class TestProductUpdate:
    def test_saves_bumps_the_version_and_records_who_changed_what(self, admin_user):
        product = ProductFactory(unit_price=Decimal("10.00"), inventory=5)
        product.unit_price = Decimal("12.50")
        services.product_update(product=product, expected_version=1, user=admin_user)

        stored = Product.objects.get(pk=product.pk)
        assert (stored.unit_price, stored.version, product.version) == (Decimal("12.50"), 2, 2)
        assert history_changes(product) == [("unit_price", "10.00", "12.50")]
        assert Product.history.filter(id=product.pk).latest().history_user == admin_user

    def test_a_stale_version_is_refused_with_the_current_values_and_writes_nothing(self, admin_user):
        product = ProductFactory(unit_price=Decimal("10.00"), inventory=5)
        first, second = Product.objects.get(pk=product.pk), Product.objects.get(pk=product.pk)
        first.unit_price = Decimal("11.00")
        services.product_update(product=first, expected_version=1, user=admin_user)

        second.inventory = 99
        with pytest.raises(services.ProductVersionConflict) as conflict:
            services.product_update(product=second, expected_version=1, user=admin_user)

        assert conflict.value.code == "stale"
        assert "price 11.00 and inventory 5" in conflict.value.messages[0]
        stored = Product.objects.get(pk=product.pk)
        assert (stored.unit_price, stored.inventory, stored.version) == (Decimal("11.00"), 5, 2)
        assert history_changes(product) == [("unit_price", "10.00", "11.00")]

    def test_a_deleted_product_is_reported_as_gone(self):
        product = ProductFactory()
        Product.objects.filter(pk=product.pk).delete()
        with pytest.raises(services.ProductVersionConflict, match="no longer exists"):
            services.product_update(product=product, expected_version=1)

    def test_model_validation_runs(self):
        product = ProductFactory()
        product.inventory = -1
        with pytest.raises(ValidationError) as error:
            services.product_update(product=product, expected_version=1)
        assert "inventory" in error.value.message_dict
        assert Product.objects.get(pk=product.pk).inventory == 50

    def test_rows_written_without_save_get_a_baseline_so_the_first_change_shows_old_to_new(self):
        catalog_seed(products=3)
        product = Product.objects.order_by("pk").first()
        old_price = product.unit_price
        assert not Product.history.filter(id=product.pk).exists()

        product.unit_price = old_price + 1
        services.product_update(product=product, expected_version=1)

        baseline = Product.history.filter(id=product.pk).earliest()
        assert baseline.history_change_reason == services.HISTORY_BASELINE_REASON
        assert history_changes(product) == [("unit_price", str(old_price), str(old_price + 1))]

    @pytest.mark.parametrize("bounded", [False, True])
    def test_the_baseline_is_one_statement_of_the_database_however_long_the_history(self, bounded):
        """Bulk writes (update imports, bulk edits) snapshot the products without history in one
        ``INSERT … SELECT … WHERE NOT EXISTS``: no product or history row is read into Python
        (a history read per product cost 3 min for 100k price updates on MariaDB). A bulk edit's
        batch gives its id range (``ids_between``): the same rows, checked by one range of the
        history's ids (the history of products outside the range plays no part)."""
        with_history, without = ProductFactory(), ProductFactory()
        outside = ProductFactory()  # a history row beyond the range: it must not hide anything
        Product.history.filter(id=without.pk).delete()  # as if written without save()
        Product.objects.filter(pk=without.pk).update(inventory=7)
        for inventory in range(5):
            with_history.inventory = inventory
            services.product_update(product=with_history, expected_version=with_history.version)
        ids_between = (with_history.pk, without.pk) if bounded else None
        with CaptureQueriesContext(connection) as queries:
            written = services.product_history_baseline_where(
                where="p.id IN (%s, %s)", params=[with_history.pk, without.pk], ids_between=ids_between
            )

        assert [q["sql"].split(" ")[0] for q in queries] == ["INSERT"]
        assert written == 1
        assert ("NOT IN" in queries[0]["sql"]) is bounded
        assert Product.history.filter(id=outside.pk).count() == 1
        assert Product.history.filter(id=with_history.pk).count() == 6  # the creation and 5 changes: no baseline
        baseline = Product.history.get(id=without.pk)
        assert (baseline.history_change_reason, baseline.inventory) == (services.HISTORY_BASELINE_REASON, 7)
        assert baseline.history_date == Product.objects.get(pk=without.pk).last_update
        assert (baseline.history_type, baseline.history_user_id) == ("~", None)

    def test_the_history_table_keeps_only_the_indexes_its_reads_use(self):
        """Every bulk write adds a history row per product: each index is paid for on each row.
        The history is read by product (``id``), date and its own id; deleting a user sets
        ``history_user`` to NULL. SKU, slug, price, stock and the other foreign keys serve no
        read of it (issue 22: 11 secondary indexes made the history cost 2× the UPDATE itself)."""
        table = Product.history.model._meta.db_table
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        indexed = {
            tuple(c["columns"]) for c in constraints.values() if c["index"] and not c["primary_key"] and c["columns"]
        }

        assert indexed == {("id",), ("history_date",), ("history_user_id",)}

    def test_a_recorded_change_is_copied_by_the_database_with_its_reason_and_user(self, admin_user):
        product = ProductFactory(inventory=3)
        Product.objects.filter(pk=product.pk).update(inventory=9, title="Renamed")
        with CaptureQueriesContext(connection) as queries:
            services.product_history_record_where(
                where="p.id = %s", params=[product.pk], user=admin_user, reason="Import #4"
            )

        assert [q["sql"].split(" ")[0] for q in queries] == ["INSERT"]
        latest = Product.history.filter(id=product.pk).latest()
        assert (latest.inventory, latest.title, latest.history_type) == (9, "Renamed", "~")
        assert (latest.history_change_reason, latest.history_user_id) == ("Import #4", admin_user.pk)
        tracked = [field.attname for field in Product.history.model.tracked_fields]
        current = Product.objects.get(pk=product.pk)
        assert {name: getattr(latest, name) for name in tracked} == {name: getattr(current, name) for name in tracked}


def test_product_create_validates_and_records_the_creation(admin_user):
    product = Product(
        title="New",
        slug="new",
        sku="NEW-1",
        unit_price=Decimal("3.00"),
        inventory=1,
        collection=CollectionFactory(),
    )
    services.product_create(product=product, user=admin_user)
    assert Product.history.get(id=product.pk).history_type == "+"

    duplicate = Product(
        title="Dup", slug="new", sku="NEW-2", unit_price=Decimal("3.00"), inventory=1, collection=product.collection
    )
    with pytest.raises(ValidationError):
        services.product_create(product=duplicate)


class TestProductClearInventory:
    def test_sets_inventory_to_zero_bumps_versions_and_records_old_values(self, admin_user):
        stocked = ProductFactory(inventory=7)
        empty = ProductFactory(inventory=0)
        other = ProductFactory(inventory=3)

        result = services.product_clear_inventory(
            products=Product.objects.filter(pk__in=[stocked.pk, empty.pk]), user=admin_user
        )

        assert (result.updated, result.stale) == (1, [])
        assert dict(Product.objects.values_list("pk", "inventory")) == {stocked.pk: 0, empty.pk: 0, other.pk: 3}
        assert dict(Product.objects.values_list("pk", "version")) == {stocked.pk: 2, empty.pk: 1, other.pk: 1}
        assert history_changes(stocked) == [("inventory", "7", "0")]
        record = Product.history.filter(id=stocked.pk).latest()
        assert (record.history_user, record.history_change_reason) == (admin_user, services.CLEAR_INVENTORY_REASON)
        assert history_changes(empty) == []

    def test_writes_with_one_update_that_carries_no_value_read_in_python(self):
        products = ProductFactory.create_batch(5, inventory=4)
        with CaptureQueriesContext(connection) as queries:
            services.product_clear_inventory(products=Product.objects.filter(pk__in=[p.pk for p in products]))
        updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
        assert len(updates) == 1
        quote = connection.ops.quote_name
        assert f"{quote('version')} = ({quote('store_product')}.{quote('version')} + 1)" in updates[0]
        assert f"{quote('inventory')} = 0" in updates[0]

    def test_a_concurrent_edit_made_before_the_clear_is_not_undone_and_its_editor_is_refused(self):
        product = ProductFactory(inventory=8, unit_price=Decimal("5.00"))
        editor_copy = Product.objects.get(pk=product.pk)  # loaded, version 1
        services.product_clear_inventory(products=Product.objects.filter(pk=product.pk))

        editor_copy.unit_price = Decimal("6.00")
        with pytest.raises(services.ProductVersionConflict):
            services.product_update(product=editor_copy, expected_version=1)
        stored = Product.objects.get(pk=product.pk)
        assert (stored.inventory, stored.unit_price) == (0, Decimal("5.00"))

    def test_nothing_to_clear_writes_nothing(self):
        product = ProductFactory(inventory=0)
        assert services.product_clear_inventory(products=Product.objects.filter(pk=product.pk)).updated == 0
        assert Product.objects.get(pk=product.pk).version == 1

    def test_products_changed_since_the_list_was_loaded_are_refused(self):
        on_page, off_page, untouched = (
            ProductFactory(inventory=5),
            ProductFactory(inventory=6),
            ProductFactory(inventory=7),
        )
        loaded_at = timezone.now()
        loaded_versions = {on_page.pk: 1}
        for product in (on_page, off_page):  # a colleague restocks both after the list was loaded
            product.inventory = 20
            services.product_update(product=product, expected_version=1)

        result = services.product_clear_inventory(
            products=Product.objects.all(), loaded_versions=loaded_versions, loaded_at=loaded_at
        )

        assert result.updated == 1
        assert sorted(row.pk for row in result.stale) == [on_page.pk, off_page.pk]
        assert [row.inventory for row in result.stale] == [20, 20]
        assert dict(Product.objects.values_list("pk", "inventory")) == {
            on_page.pk: 20,
            off_page.pk: 20,
            untouched.pk: 0,
        }
