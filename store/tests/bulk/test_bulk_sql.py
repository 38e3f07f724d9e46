"""Set-based bulk edits (issue 22): an action's SQL form agrees with its Python ``evaluate`` exactly.

The SQL form computes the new values, the refusals and the unchanged rows in the database;
``evaluate`` (with ``price_new``) is the reference. Both are run over the same rows, on SQLite
(prices stored as REALs) and MariaDB (DECIMALs), and a whole edit through each path must leave
the same values, the same history rows and the same report.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store import services
from store.bulk import actions as bulk_actions
from store.bulk import apply as bulk_apply
from store.bulk import jobs as bulk_jobs
from store.bulk.actions import (
    CHANGE,
    ENDINGS,
    MAX_INVENTORY,
    PRICE_LOWER_PCT,
    PRICE_MODES,
    REFUSED,
    UNCHANGED,
    get_bulk_action,
    price_new,
)
from store.models import BulkEdit, BulkEditJob, Product
from store.sql import as_money, quote
from store.tests.factories import CollectionFactory

pytestmark = pytest.mark.django_db

# Prices that stress rounding: half cents after a percentage, REALs that are not exact, the limits.
EDGE_PRICES = ["1.00", "1.01", "9.99", "10.10", "10.15", "19.99", "33.33", "0.01", "99999999.99", "12345678.91"]


def some_prices(count: int, seed: int) -> list[Decimal]:
    rng = random.Random(seed)
    prices = [Decimal(price) for price in EDGE_PRICES if Decimal(price) >= 1]
    while len(prices) < count:
        cents = rng.choice([rng.randint(100, 10_000), rng.randint(100, 1_000_000), rng.randint(100, 9_999_999_999)])
        prices.append(Decimal(cents) / 100)
    return prices


def catalog(prices: list[Decimal], *, seed: int = 1, prefix: str = "P", collection=None) -> list[Product]:
    """Products at ``prices``, one in three with a compare-at price just above (or far above) it."""
    rng = random.Random(seed)
    collection = collection or CollectionFactory()
    products = []
    for n, price in enumerate(prices):
        compare_at = None
        if n % 3 == 0 and price < Decimal("99999999.00"):
            compare_at = price + Decimal(rng.choice(["0.01", "0.50", "1.00", "5.00", "100.00"]))
        products.append(
            Product(
                title=f"{prefix} {n}",
                slug=f"{prefix.lower()}-{n}",
                sku=f"{prefix}-{n:05d}",
                unit_price=price,
                compare_at_price=compare_at,
                inventory=rng.choice([0, 1, 3, 50, MAX_INVENTORY - 2, MAX_INVENTORY]),
                collection=collection,
            )
        )
    return Product.objects.bulk_create(products)


def sql_outcomes(action: bulk_actions.BulkAction, parameters: dict[str, Any]) -> dict[int, tuple[str, Any]]:
    """Each product's kind and (for a change) new value, as the SQL form computes them."""
    form = action.sql(parameters)
    assert form is not None
    (name, (expression, expression_params)), *_ = form.sets
    refused, refused_params = form.refused
    unchanged, unchanged_params = form.unchanged
    true = bulk_apply._true
    sql = (
        f"SELECT p.{quote('id')}, {true(refused)}, {true(unchanged)}, "
        f"CASE WHEN {true(refused)} = 0 THEN {expression} END FROM {quote(Product._meta.db_table)} p"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*refused_params, *unchanged_params, *refused_params, *expression_params])
        rows = cursor.fetchall()
    kinds: dict[int, tuple[str, Any]] = {}
    for pk, is_refused, is_unchanged, new in rows:
        if is_refused:
            kinds[pk] = (REFUSED, None)
        elif is_unchanged:
            kinds[pk] = (UNCHANGED, None)
        else:
            kinds[pk] = (CHANGE, as_money(new) if name == "unit_price" else new)
    return kinds


def python_outcomes(action: bulk_actions.BulkAction, parameters: dict[str, Any]) -> dict[int, tuple[str, Any]]:
    products = list(Product.objects.order_by("pk"))
    kinds: dict[int, tuple[str, Any]] = {}
    for outcome in action.evaluate(products, parameters):
        if outcome.kind != CHANGE:
            kinds[outcome.product.pk] = (outcome.kind, None)
        elif action.name == "change_price":
            kinds[outcome.product.pk] = (CHANGE, outcome.values["unit_price"])
        else:
            kinds[outcome.product.pk] = (CHANGE, outcome.product.inventory + parameters["delta"])
    return kinds


PRICE_AMOUNTS = ["0.01", "0.50", "1", "5", "10.10", "12.50", "33.33", "50", "99.99", "100", "250.75", "99999999.99"]


@pytest.mark.parametrize("ending", [value for value, _ in ENDINGS])
@pytest.mark.parametrize("mode", [value for value, _ in PRICE_MODES])
def test_the_price_sql_equals_price_new(mode, ending):
    """Over a few hundred prices and a dozen amounts a mode and ending: the same kind and the same cents."""
    catalog(some_prices(150, seed=len(mode) + len(ending)))
    rng = random.Random(7)
    amounts = PRICE_AMOUNTS + [str(Decimal(rng.randint(1, 9_999)) / 100) for _ in range(8)]
    action = get_bulk_action("change_price")
    for amount in amounts:
        if mode == PRICE_LOWER_PCT and Decimal(amount) >= 100:
            continue  # the form refuses it
        parameters = {"mode": mode, "amount": amount, "ending": ending}
        assert sql_outcomes(action, parameters) == python_outcomes(action, parameters), parameters


def test_price_new_itself_is_the_reference_for_half_cents():
    """The cases the SQL must round like Python: half a cent goes up, endings replace the cents."""
    assert price_new(old=Decimal("10.10"), mode="raise_pct", amount=Decimal("5")) == Decimal("10.61")
    assert price_new(old=Decimal("10.30"), mode="lower_pct", amount=Decimal("5")) == Decimal("9.79")
    assert price_new(old=Decimal("10.10"), mode="raise_pct", amount=Decimal("5"), ending="0.95") == Decimal("10.95")


@pytest.mark.parametrize("delta", [-MAX_INVENTORY, -50, -3, -1, 1, 2, 50, MAX_INVENTORY])
def test_the_inventory_sql_equals_evaluate(delta):
    catalog(some_prices(40, seed=delta % 97))
    action = get_bulk_action("adjust_inventory")
    parameters = {"delta": delta}
    assert sql_outcomes(action, parameters) == python_outcomes(action, parameters)


# --- a whole edit through each path -------------------------------------------------------


def twin_catalogs(count: int = 60) -> tuple[list[Product], list[Product]]:
    """Two catalogs alike in everything but sku, slug and title: one for each path."""
    prices, collection = some_prices(count, seed=3), CollectionFactory()
    return (
        catalog(prices, seed=4, prefix="S", collection=collection),
        catalog(prices, seed=4, prefix="R", collection=collection),
    )


def edit_state(products: list[Product], edit: BulkEdit) -> dict[str, Any]:
    """What an edit left: the products' columns, its history rows and its counts, sku-free."""
    rows = Product.objects.filter(pk__in=[p.pk for p in products]).order_by("pk")
    history = Product.history.filter(history_change_reason=str(edit)[:100]).order_by("id")
    return {
        "products": [(p.unit_price, p.inventory, p.status, p.collection_id, p.version) for p in rows],
        "history": [
            (h.unit_price, h.inventory, h.status, h.collection_id, h.history_type, h.history_user_id) for h in history
        ],
        "counts": (edit.state, edit.selected_count, edit.changed_count, edit.unchanged_count, edit.refused_count),
        "message": edit.message,
    }


def report_state(report: bulk_apply.BulkReport, products: list[Product]) -> dict[str, Any]:
    position = {p.pk: n for n, p in enumerate(products)}
    return {
        "counts": (report.changed, report.unchanged, report.refused),
        "sample": [(position[o.product.pk], o.old, o.new) for o in report.sample],
        "refusals": [(position[o.product.pk], o.old, o.reason) for o in report.refusals],
    }


EDITS = [
    ("change_price", {"mode": "raise_pct", "amount": "5", "ending": ""}),
    ("change_price", {"mode": "lower_pct", "amount": "95", "ending": "0.99"}),
    ("change_price", {"mode": "lower", "amount": "15", "ending": "0.95"}),
    ("change_price", {"mode": "set", "amount": "19.99", "ending": ""}),
    ("adjust_inventory", {"delta": -3}),
    ("adjust_inventory", {"delta": 5}),
    ("set_status", {"value": "archived"}),
]


@pytest.mark.parametrize("skip_refused", [True, False])
@pytest.mark.parametrize(("name", "parameters"), EDITS)
def test_a_set_based_edit_equals_the_row_by_row_edit(name, parameters, skip_refused, admin_user, monkeypatch):
    """Values, history rows, counts, the report's sample and refusals: the same through both paths."""
    monkeypatch.setattr(bulk_apply, "BATCH", 25)
    sql_products, python_products = twin_catalogs()
    action = get_bulk_action(name)
    results = []
    for products, path in ((sql_products, "sql"), (python_products, "rows")):
        with monkeypatch.context() as patched:
            if path == "rows":
                patched.setattr(bulk_apply, "_sql_batch", lambda *args, **kwargs: None)
            selection = Product.objects.filter(pk__in=[p.pk for p in products])
            preview = bulk_apply.bulk_edit_preview(action=action, products=selection, parameters=parameters)
            try:
                edit = bulk_apply.bulk_edit_apply(
                    action=action, products=selection, parameters=parameters, user=admin_user, skip_refused=skip_refused
                )
                refused_report = None
            except bulk_apply.BulkEditRefused as refused:
                edit = BulkEdit.objects.latest("pk")
                refused_report = report_state(refused.report, products)
            results.append((report_state(preview, products), refused_report, edit_state(products, edit)))
    for left, right in zip(results[0], results[1], strict=True):
        if isinstance(left, dict):
            for key in left:
                assert left[key] == right[key], key
    assert results[0] == results[1]


def test_move_to_collection_equals_the_row_by_row_edit(admin_user, monkeypatch):
    target = CollectionFactory(title="Target")
    sql_products, python_products = twin_catalogs(12)
    Product.objects.filter(pk__in=[sql_products[0].pk, python_products[0].pk]).update(collection=target)
    action = get_bulk_action("move_to_collection")
    states = []
    for products, path in ((sql_products, "sql"), (python_products, "rows")):
        with monkeypatch.context() as patched:
            if path == "rows":
                patched.setattr(bulk_apply, "_sql_batch", lambda *args, **kwargs: None)
            edit = bulk_apply.bulk_edit_apply(
                action=action,
                products=Product.objects.filter(pk__in=[p.pk for p in products]),
                parameters={"collection_id": target.pk},
                user=admin_user,
            )
            states.append(edit_state(products, edit))
    assert states[0] == states[1]
    assert states[0]["counts"] == ("done", 12, 11, 1, 0)


def test_a_batch_costs_a_few_queries_whatever_its_size(
    admin_user, settings, monkeypatch, django_assert_max_num_queries
):
    """Per batch, whatever its size: preflight ids window, ids, count (and the report's first rows); then
    ids window, ids, count, refusals shown (until the report lists 100), baseline, UPDATE, history, the
    counts, progress; and a look at the history (the highest product id, one count) for the job."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # run below
    monkeypatch.setattr(bulk_apply, "BATCH", 50)
    catalog(some_prices(200, seed=5))
    job = bulk_jobs.bulk_edit_job_create(
        user=admin_user,
        action=get_bulk_action("change_price"),
        parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
        filters="",
        selected_ids=None,
        skip_refused=True,
    )
    # 4 batches of 50 (about 17 queries each, savepoints included), the job's own bookkeeping (about 20)
    # and the look at the history (2; these products have none, so each batch checks its baselines)
    with django_assert_max_num_queries(4 * 17 + 20 + 2):
        bulk_jobs.bulk_edit_job_run(job_id=job.pk, attempt=job.attempt)
    job = BulkEditJob.objects.select_related("bulk_edit").get(pk=job.pk)
    assert job.bulk_edit is not None, job.error
    assert job.bulk_edit.state == BulkEdit.STATE_DONE
    assert job.bulk_edit.changed_count + job.bulk_edit.refused_count == 200


def test_a_product_saved_during_a_set_based_batch_stops_the_job_saying_what_was_written(
    admin_user, settings, monkeypatch
):
    """Saved between the batch's count and its UPDATE: that batch rolls back, the ones before stay."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    monkeypatch.setattr(bulk_apply, "BATCH", 2)
    products = catalog([Decimal("10.00")] * 5)
    Product.objects.update(compare_at_price=None)
    real_claim = bulk_apply._claim_where
    calls = []

    def someone_saves_in_the_second_batch(batch, now):
        calls.append(batch.ids)
        if len(calls) == 2:
            Product.objects.get(pk=batch.ids[0]).save()
        real_claim(batch, now)

    monkeypatch.setattr(bulk_apply, "_claim_where", someone_saves_in_the_second_batch)
    job = bulk_jobs.bulk_edit_job_create(
        user=admin_user,
        action=get_bulk_action("change_price"),
        parameters={"mode": "raise", "amount": "1", "ending": ""},
        filters="",
        selected_ids=[p.pk for p in products],
    )
    bulk_jobs.bulk_edit_job_run(job_id=job.pk, attempt=job.attempt)

    job = BulkEditJob.objects.select_related("bulk_edit").get(pk=job.pk)
    edit = job.bulk_edit
    assert edit is not None, (job.state, job.error, job.message)
    assert edit.state == BulkEdit.STATE_STOPPED
    assert edit.message == (
        "1 product(s) were saved by someone else while the bulk edit ran; nothing was changed. "
        f"Stopped after 2 product(s) were changed (the selected products with id up to {products[1].pk}); "
        f'the others were not touched. The history rows "Bulk edit #{edit.pk}" list every change.'
    )
    assert [p.unit_price for p in Product.objects.order_by("pk")] == [Decimal("11.00")] * 2 + [Decimal("10.00")] * 3
    assert bulk_apply.bulk_edit_history_rows(edit).count() == 2


@pytest.mark.parametrize("every", [1, 3, 17])
def test_the_walk_gives_the_selections_ids_batch_by_batch_however_sparse(monkeypatch, every):
    """Windows of primary keys, widened where the selection is sparse: the same batches as a plain keyset walk."""
    monkeypatch.setattr(bulk_apply, "BATCH", 4)
    products = catalog(some_prices(90, seed=every))
    chosen = [p.pk for n, p in enumerate(products) if n % every == 0 or 40 <= n < 46]
    batches = list(bulk_apply._batches_of_ids(Product.objects.filter(pk__in=chosen)))
    assert batches == [chosen[start : start + 4] for start in range(0, len(chosen), 4)]


def run_raise_job(user, products: list[Product]) -> BulkEditJob:
    job = bulk_jobs.bulk_edit_job_create(
        user=user,
        action=get_bulk_action("change_price"),
        parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
        filters="",
        selected_ids=[p.pk for p in products],
    )
    bulk_jobs.bulk_edit_job_run(job_id=job.pk, attempt=job.attempt)
    return BulkEditJob.objects.select_related("bulk_edit").get(pk=job.pk)


@pytest.mark.parametrize("path", ["sql", "rows"])
def test_a_job_gives_a_baseline_to_exactly_the_products_without_history(admin_user, settings, monkeypatch, path):
    """Products without history among products with: each gets its baseline (old price, dated at its
    last write) before the edit's row, whichever batch and look at the history it falls in."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    monkeypatch.setattr(bulk_apply, "BATCH", 4)
    if path == "rows":
        monkeypatch.setattr(bulk_apply, "_sql_batch", lambda *args, **kwargs: None)
    products = catalog([Decimal("10.00")] * 100)
    Product.objects.update(compare_at_price=None)
    without = {45, 46, 99}  # looks of 40 ids: the first finds every history, the others do not
    services._history_baseline(products=[p for n, p in enumerate(products) if n not in without])
    before = {p.pk: p.last_update for p in Product.objects.all()}

    job = run_raise_job(admin_user, products)

    assert job.bulk_edit is not None, job.error
    assert job.bulk_edit.state == BulkEdit.STATE_DONE
    for n, product in enumerate(products):
        rows = list(Product.history.filter(id=product.pk).order_by("history_id"))
        assert [(r.history_change_reason, r.unit_price) for r in rows] == [
            (services.HISTORY_BASELINE_REASON, Decimal("10.00")),
            (str(job.bulk_edit), Decimal("10.50")),
        ], n
        assert rows[0].history_date == before[product.pk]


def test_a_job_over_products_with_history_looks_at_it_once_a_span_and_writes_no_baseline(
    admin_user, settings, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    monkeypatch.setattr(bulk_apply, "BATCH", 4)
    products = catalog([Decimal("10.00")] * 100)
    Product.objects.update(compare_at_price=None)
    services._history_baseline(products=products)
    history = quote(Product.history.model._meta.db_table)

    with CaptureQueriesContext(connection) as queries:
        job = run_raise_job(admin_user, products)

    assert job.bulk_edit is not None, job.error
    assert job.bulk_edit.state == BulkEdit.STATE_DONE
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f"INSERT INTO {history}")]
    assert len(inserts) == 25  # one a batch: the edit's rows, and no baseline
    looks = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(DISTINCT")]
    assert len(looks) == 3  # 100 ids, 40 a look
    assert Product.history.filter(history_change_reason=str(job.bulk_edit)).count() == 100


@pytest.mark.parametrize(
    ("chosen", "form"),
    [
        (lambda n: True, "BETWEEN %s AND %s"),
        (lambda n: n % 7 != 3, "NOT IN"),  # a range less a few ids
        (lambda n: n % 3 == 0, " IN ("),  # too sparse for a range: the list
    ],
    ids=["range", "range-less-a-few", "list"],
)
def test_a_batch_is_exactly_its_products_whichever_form_names_them(chosen, form, admin_user, monkeypatch):
    monkeypatch.setattr(bulk_apply, "BATCH", 200)
    monkeypatch.setattr(bulk_apply, "GAPS_SHOWN", 30)
    products = catalog([Decimal("10.00")] * 150)
    Product.objects.update(compare_at_price=None)
    ids = [p.pk for n, p in enumerate(products) if chosen(n)]
    condition, params = bulk_apply.ids_condition(ids)
    assert form in condition
    assert (form == " IN (") is ("BETWEEN" not in condition)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.{quote('id')} FROM {quote(Product._meta.db_table)} p WHERE {condition}", params)
        assert sorted(pk for (pk,) in cursor.fetchall()) == ids

    edit = bulk_apply.bulk_edit_apply(
        action=get_bulk_action("change_price"),
        products=Product.objects.filter(pk__in=ids),
        parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
        user=admin_user,
    )

    assert edit.changed_count == len(ids)
    raised = set(Product.objects.filter(unit_price=Decimal("10.50")).values_list("pk", flat=True))
    assert raised == set(ids)
    assert set(Product.history.filter(history_change_reason=str(edit)).values_list("id", flat=True)) == set(ids)
