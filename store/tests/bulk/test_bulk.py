"""Bulk edits: the service (store.bulk) and the admin actions with their intermediate page."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from store.bulk import actions as bulk_actions
from store.bulk import apply as bulk_apply
from store.models import BulkEdit, Product
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")


def run(name, products=None, user=None, skip_refused=False, **parameters):
    products = Product.objects.all() if products is None else products
    return bulk_apply.bulk_edit_apply(
        action=bulk_actions.get_bulk_action(name),
        products=products,
        parameters=parameters,
        user=user,
        skip_refused=skip_refused,
    )


def values(*products, field="unit_price"):
    return [getattr(Product.objects.get(pk=p.pk), field) for p in products]


# --- price arithmetic --------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "mode", "amount", "ending", "new"),
    [
        ("10.00", "raise_pct", "5", "", "10.50"),
        ("19.99", "raise_pct", "5", "", "20.99"),  # 20.9895 -> 20.99
        ("10.01", "raise_pct", "5", "", "10.51"),  # 10.5105 -> 10.51
        ("10.10", "raise_pct", "5", "", "10.61"),  # 10.605 -> half up
        ("10.10", "lower_pct", "5", "", "9.60"),  # 9.595 -> half up
        ("10.00", "raise", "2.50", "", "12.50"),
        ("10.00", "lower", "2.50", "", "7.50"),
        ("10.00", "set", "3", "", "3.00"),
        ("12.34", "raise_pct", "0.01", "0.99", "12.99"),
        ("12.34", "set", "12.34", "0.95", "12.95"),
        ("1.50", "lower", "1", "", "0.50"),
    ],
)
def test_price_new_rounds_half_up_to_cents(old, mode, amount, ending, new):
    assert bulk_actions.price_new(old=Decimal(old), mode=mode, amount=Decimal(amount), ending=ending) == Decimal(new)


# --- the service ---------------------------------------------------------------------


def test_raise_price_bumps_versions_writes_history_and_a_bulk_edit(admin_user, caplog):
    a, b = ProductFactory(unit_price=Decimal("10.00")), ProductFactory(unit_price=Decimal("20.00"))
    versions = values(a, b, field="version")

    with caplog.at_level("INFO", logger="backoffice.audit"):
        edit = run("change_price", user=admin_user, mode="raise_pct", amount="5", ending="")

    assert values(a, b) == [Decimal("10.50"), Decimal("21.00")]
    assert values(a, b, field="version") == [v + 1 for v in versions]
    assert (edit.state, edit.changed_count, edit.unchanged_count, edit.refused_count) == ("done", 2, 0, 0)
    latest = Product.history.filter(id=a.pk).order_by("-history_id").first()
    assert latest.history_change_reason == f"Bulk edit #{edit.pk}: raise price 5%"
    assert latest.history_user == admin_user
    assert latest.unit_price == Decimal("10.50")
    # The baseline (state before) exists, so the history page shows old -> new.
    assert Product.history.filter(id=a.pk).count() == 2
    assert [r.audit_event for r in caplog.records if hasattr(r, "audit_event")] == ["product.bulk_edit"]


def test_one_refused_product_refuses_the_whole_edit():
    ok, cheap = ProductFactory(unit_price=Decimal("10.00")), ProductFactory(unit_price=Decimal("1.20"))

    with pytest.raises(bulk_apply.BulkEditRefused) as refused:
        run("change_price", mode="lower", amount="0.50", ending="")

    assert values(ok, cheap) == [Decimal("10.00"), Decimal("1.20")]
    assert [o.reason for o in refused.value.report.refusals] == [
        "the new price 0.70 is below the minimum price of 1.00"
    ]
    assert BulkEdit.objects.get().state == BulkEdit.STATE_REFUSED
    assert not Product.history.filter(history_change_reason__startswith="Bulk edit").exists()


def test_refusal_in_a_later_batch_rolls_back_earlier_batches(monkeypatch):
    monkeypatch.setattr(bulk_apply, "BATCH", 2)
    products = [ProductFactory(inventory=5) for _ in range(4)] + [ProductFactory(inventory=1)]

    with pytest.raises(bulk_apply.BulkEditRefused):
        run("adjust_inventory", delta=-2)

    assert values(*products, field="inventory") == [5, 5, 5, 5, 1]


def test_skip_refused_changes_the_others():
    ok, cheap = ProductFactory(unit_price=Decimal("10.00")), ProductFactory(unit_price=Decimal("1.20"))

    edit = run("change_price", skip_refused=True, mode="lower", amount="0.50", ending="")

    assert values(ok, cheap) == [Decimal("9.50"), Decimal("1.20")]
    assert (edit.changed_count, edit.refused_count) == (1, 1)


def test_adjust_inventory_is_a_database_delta_never_below_zero(django_assert_max_num_queries):
    a, b = ProductFactory(inventory=5), ProductFactory(inventory=0)

    edit = run("adjust_inventory", delta=3)
    assert values(a, b, field="inventory") == [8, 3]
    assert edit.changed_count == 2
    with pytest.raises(bulk_apply.BulkEditRefused) as refused:
        run("adjust_inventory", delta=-4)
    assert [o.product.pk for o in refused.value.report.refusals] == [b.pk]
    assert values(a, b, field="inventory") == [8, 3]


def test_inventory_delta_never_writes_a_value_read_in_python(monkeypatch, row_by_row):
    """Another sale lands between the read and the write: the delta still adds up."""
    product = ProductFactory(inventory=10)
    action = bulk_actions.get_bulk_action("adjust_inventory")
    original = action.write

    def sell_first(changes, parameters):
        Product.objects.filter(pk=product.pk).update(inventory=7)  # as a concurrent UPDATE would
        original(changes, parameters)

    monkeypatch.setattr(action, "write", sell_first)
    run("adjust_inventory", delta=-5)
    assert values(product, field="inventory") == [2]


def test_the_set_based_inventory_delta_is_computed_by_the_update(monkeypatch):
    """The same sale between the batch's count and its UPDATE: the UPDATE adds the delta to what it finds."""
    product = ProductFactory(inventory=10)
    real_claim = bulk_apply._claim_where

    def sell_first(batch, now):
        Product.objects.filter(pk=product.pk).update(inventory=7)  # as a concurrent UPDATE would
        real_claim(batch, now)

    monkeypatch.setattr(bulk_apply, "_claim_where", sell_first)
    run("adjust_inventory", delta=-5)
    assert values(product, field="inventory") == [2]


def test_a_product_saved_between_the_count_and_the_update_fails_the_edit(monkeypatch):
    product = ProductFactory(unit_price=Decimal("10.00"))
    real_claim = bulk_apply._claim_where

    def claim_after_someone_saved(batch, now):
        Product.objects.get(pk=product.pk).save()  # every save bumps version and last_update
        real_claim(batch, now)

    monkeypatch.setattr(bulk_apply, "_claim_where", claim_after_someone_saved)
    with pytest.raises(bulk_actions.BulkEditConflict):
        run("change_price", mode="set", amount="12", ending="")
    assert values(product) == [Decimal("10.00")]
    assert BulkEdit.objects.get().state == BulkEdit.STATE_FAILED
    assert not Product.history.filter(history_change_reason__startswith="Bulk edit").exists()


def test_a_product_saved_meanwhile_fails_the_edit(monkeypatch, row_by_row):
    product = ProductFactory(unit_price=Decimal("10.00"))
    real_claim = bulk_apply._claim

    def claim_after_someone_saved(changes, now):
        Product.objects.filter(pk=product.pk).update(version=99)
        real_claim(changes, now)

    monkeypatch.setattr(bulk_apply, "_claim", claim_after_someone_saved)
    with pytest.raises(bulk_actions.BulkEditConflict):
        run("change_price", mode="set", amount="12", ending="")
    assert values(product) == [Decimal("10.00")]
    assert BulkEdit.objects.get().state == BulkEdit.STATE_FAILED


def test_move_to_collection_counts_unchanged():
    hoodies, mugs = CollectionFactory(title="Hoodies"), CollectionFactory(title="Mugs")
    a, b = ProductFactory(collection=hoodies), ProductFactory(collection=mugs)

    report = bulk_apply.bulk_edit_preview(
        action=bulk_actions.get_bulk_action("move_to_collection"),
        products=Product.objects.all(),
        parameters={"collection_id": mugs.pk},
    )
    edit = run("move_to_collection", collection_id=mugs.pk)

    assert (report.changed, report.unchanged) == (1, 1)
    assert [(o.old, o.new) for o in report.sample] == [("Hoodies", "Mugs")]
    assert values(a, b, field="collection_id") == [mugs.pk, mugs.pk]
    assert edit.description == "move to collection Mugs"


def test_add_and_remove_promotion():
    sale = PromotionFactory(description="Sale")
    a, b = ProductFactory(), ProductFactory()
    b.promotions.add(sale)

    added = run("add_promotion", promotion_id=sale.pk)
    assert (added.changed_count, added.unchanged_count) == (1, 1)
    assert set(a.promotions.all()) == {sale}
    removed = run("remove_promotion", promotion_id=sale.pk)
    assert removed.changed_count == 2
    assert not Product.promotions.through.objects.exists()
    assert Product.history.filter(history_change_reason__startswith=f"Bulk edit #{removed.pk}:").count() == 2


def test_apply_walks_the_selection_in_batches(monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(bulk_apply, "BATCH", 10)
    for _ in range(30):
        ProductFactory(unit_price=Decimal("10.00"))

    # per batch: ids, lock, baseline check + insert, claim, history read + insert; plus the BulkEdit
    with django_assert_max_num_queries(3 * 8 + 8):
        edit = run("change_price", mode="raise", amount="1", ending="")
    assert edit.changed_count == 30
    assert set(Product.objects.values_list("unit_price", flat=True)) == {Decimal("11.00")}


# --- the admin -----------------------------------------------------------------------


def post_action(client, name, products, url=PRODUCTS, **data):
    payload = {"action": f"bulk_{name}", ACTION_CHECKBOX_NAME: [p.pk for p in products]}
    payload.update(
        {
            f"bulk-{key}" if not key.startswith("_") and key not in ("select_across", "skip_refused") else key: value
            for key, value in data.items()
        }
    )
    return client.post(url, payload)


def test_admin_price_flow_parameters_preview_confirm(admin_client):
    a, b = ProductFactory(unit_price=Decimal("10.00")), ProductFactory(unit_price=Decimal("20.00"))
    untouched = ProductFactory(unit_price=Decimal("30.00"))

    start = post_action(admin_client, "change_price", [a, b])
    assert start.status_code == 200
    assert b'id="bulk-preview"' in start.content
    preview = post_action(
        admin_client, "change_price", [a, b], mode="raise_pct", amount="5", ending="", _bulk_step="preview"
    )
    assert preview.status_code == 200
    report = preview.context["report"]
    assert (report.changed, report.unchanged, report.refused) == (2, 0, 0)
    assert '10.00</span> → <span class="bulk-new">10.50' in preview.content.decode()
    assert values(a, b) == [Decimal("10.00"), Decimal("20.00")]

    done = post_action(
        admin_client, "change_price", [a, b], mode="raise_pct", amount="5", ending="", _bulk_step="apply"
    )

    assert done.status_code == 302
    assert values(a, b, untouched) == [Decimal("10.50"), Decimal("21.00"), Decimal("30.00")]
    edit = BulkEdit.objects.get()
    assert [str(m) for m in get_messages(done.wsgi_request)] == [
        f"Bulk edit #{edit.pk} (raise price 5%): 2 products were changed."
    ]


def test_admin_refusal_is_shown_and_nothing_written(admin_client):
    a, b = ProductFactory(inventory=5), ProductFactory(inventory=1, sku="LOW-1")

    preview = post_action(admin_client, "adjust_inventory", [a, b], delta="-2", _bulk_step="preview")
    assert preview.context["report"].refused == 1
    assert "inventory 1 -2 would be below 0" in preview.content.decode()
    assert 'name="skip_refused"' in preview.content.decode()
    refused = post_action(admin_client, "adjust_inventory", [a, b], delta="-2", _bulk_step="apply")

    assert refused.status_code == 200
    assert "1 product(s) would be refused, so nothing was changed." in refused.content.decode()
    assert values(a, b, field="inventory") == [5, 1]

    skipped = post_action(admin_client, "adjust_inventory", [a, b], delta="-2", _bulk_step="apply", skip_refused="1")
    assert skipped.status_code == 302
    assert values(a, b, field="inventory") == [3, 1]


def test_admin_select_across_uses_the_filtered_selection(admin_client):
    hoodies, mugs = CollectionFactory(title="Hoodies"), CollectionFactory(title="Mugs")
    shown = [ProductFactory(collection=hoodies, inventory=1) for _ in range(3)]
    other = ProductFactory(collection=mugs, inventory=1)
    url = f"{PRODUCTS}?collection__pk__exact={hoodies.pk}"

    response = post_action(
        admin_client, "adjust_inventory", shown[:1], url=url, delta="10", select_across="1", _bulk_step="apply"
    )

    assert response.status_code == 302
    assert values(*shown, other, field="inventory") == [11, 11, 11, 1]


def test_admin_move_to_collection_form_uses_autocomplete(admin_client):
    product = ProductFactory()
    response = post_action(admin_client, "move_to_collection", [product])
    assert 'data-ajax--url="/admin/autocomplete/"' in response.content.decode()


@pytest.mark.parametrize("junk", ["abc", "9" * 30, "-1", "1.5"])
@pytest.mark.parametrize("step", ["preview", "apply"])
@pytest.mark.parametrize(("action", "field"), [("move_to_collection", "collection"), ("add_promotion", "promotion")])
def test_admin_bulk_edit_with_a_forged_related_id_is_a_form_error(admin_client, junk, step, action, field):
    """The autocomplete widget re-renders the posted value: one that is not an id must not crash it."""
    product = ProductFactory()
    collection = product.collection_id
    response = post_action(admin_client, action, [product], **{field: junk, "_bulk_step": step})
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert Product.objects.get(pk=product.pk).collection_id == collection
    assert not BulkEdit.objects.exists()


def test_admin_invalid_parameters_show_form_errors(admin_client):
    product = ProductFactory()
    response = post_action(admin_client, "adjust_inventory", [product], delta="0", _bulk_step="apply")
    assert response.status_code == 200
    assert "Enter a number other than 0." in response.content.decode()
    assert not BulkEdit.objects.exists()


def test_bulk_edit_history_is_read_only(admin_client):
    product = ProductFactory(inventory=1)
    post_action(admin_client, "adjust_inventory", [product], delta="2", _bulk_step="apply")
    edit = BulkEdit.objects.get()

    listing = admin_client.get(reverse("admin:store_bulkedit_changelist"))
    assert listing.status_code == 200
    assert "adjust inventory by +2" in listing.content.decode()
    page = admin_client.get(reverse("admin:store_bulkedit_change", args=[edit.pk])).content.decode()
    assert 'name="_save"' not in page
    assert admin_client.get(reverse("admin:store_bulkedit_add")).status_code == 403


def test_set_choice_action_is_the_hook_for_set_status(monkeypatch):
    """SetChoiceAction on any field with choices (here the SKU, given choices for the test)."""
    action = bulk_actions.SetChoiceAction(name="set_sku", field="sku", label="Set SKU…")
    monkeypatch.setattr(action, "choices", lambda: [("NEW-1", "New one")])
    product = ProductFactory(sku="OLD-1")
    form = action.form_class({"value": "NEW-1"})
    assert form.is_valid(), form.errors
    assert not action.form_class({"value": "other"}).is_valid()

    edit = bulk_apply.bulk_edit_apply(
        action=action, products=Product.objects.all(), parameters=action.parameters(form.cleaned_data)
    )

    assert values(product, field="sku") == ["NEW-1"]
    assert edit.description == "set sku to New one"
    assert Product.history.filter(history_change_reason=f"Bulk edit #{edit.pk}: set sku to New one").count() == 1


@pytest.mark.parametrize("count", [5, 50])
def test_admin_preview_queries_do_not_grow_with_the_selection(admin_client, count, django_assert_max_num_queries):
    sale = PromotionFactory()
    products = [ProductFactory() for _ in range(count)]
    # The changelist query Django runs before any action, then one pass over the selection.
    with django_assert_max_num_queries(20):
        response = post_action(admin_client, "add_promotion", products, promotion=str(sale.pk), _bulk_step="preview")
    assert response.context["report"].changed == count
