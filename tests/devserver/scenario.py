"""Run inside `manage.py shell -c` with the dev settings (the debug toolbar installed) by
test_toolbar_writes.py: each raw-SQL write path of the code base, inside a request that the
debug toolbar's middleware instruments, as every page is under `make run`. Each function
prints one line of JSON: what the write did, as read back from the database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from debug_toolbar.middleware import DebugToolbarMiddleware
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from store import services
from store.bulk.actions import get_bulk_action
from store.bulk.apply import bulk_edit_apply
from store.importing.revert import import_revert
from store.importing.service import product_import
from store.models import Collection, ImportJob, ImportRevert, Product
from store.seeding import catalog_seed

# The toolbar's SQL panel title: "SQL" then e.g. "12 queries in 3.40ms".
QUERIES_RECORDED = re.compile(r"(\d+) quer(?:y|ies) in")


def toolbar_request(write: Callable[[], object]) -> int:
    """Run ``write`` in a request the debug toolbar instruments (its middleware, all its panels,
    its rendered toolbar); return how many queries its SQL panel recorded."""

    def view(request: HttpRequest) -> HttpResponse:
        write()
        return HttpResponse("<html><head></head><body><h1>Written</h1></body></html>")

    # REMOTE_ADDR 127.0.0.1 is in INTERNAL_IPS, and the product list shows the toolbar.
    request = RequestFactory().get("/admin/store/product/", HTTP_HOST="127.0.0.1")
    content = DebugToolbarMiddleware(view)(request).content.decode()
    assert 'id="djDebug"' in content, "the debug toolbar did not instrument the request"
    recorded = QUERIES_RECORDED.search(content)
    assert recorded, "the SQL panel is missing from the toolbar"
    return int(recorded.group(1))


def _staff() -> User:
    user, _ = User.objects.get_or_create(username="toolbar", defaults={"is_staff": True, "is_superuser": True})
    return user


def _products(prefix: str, prices: list[str]) -> list[Product]:
    collection, _ = Collection.objects.get_or_create(title=f"{prefix} shelf")
    return [
        Product.objects.create(
            sku=f"{prefix}-{n}",
            title=f"{prefix} product {n}",
            slug=f"{prefix.lower()}-product-{n}",
            unit_price=Decimal(price),
            inventory=10,
            collection=collection,
        )
        for n, price in enumerate(prices)
    ]


def _prices(prefix: str) -> dict[str, str]:
    return {
        sku: str(price)
        for sku, price in Product.objects.filter(sku__startswith=f"{prefix}-").values_list("sku", "unit_price")
    }


def bulk_edit() -> None:
    """Change price (raise 5%) on two products: the version claim and the history rows."""
    products = _products("TB-BULK", ["10.00", "19.99"])
    action = get_bulk_action("change_price")
    form = action.form_class({"mode": "raise_pct", "amount": "5", "ending": ""})
    assert form.is_valid(), form.errors
    edits = []
    queries = toolbar_request(
        lambda: edits.append(
            bulk_edit_apply(
                action=action,
                products=Product.objects.filter(pk__in=[p.pk for p in products]),
                parameters=action.parameters(form.cleaned_data),
                user=_staff(),
            )
        )
    )
    edit = edits[0]
    history = Product.history.filter(
        id__in=[p.pk for p in products], history_change_reason__startswith=f"Bulk edit #{edit.pk}"
    )
    print(
        json.dumps(
            {
                "queries": queries,
                "state": edit.state,
                "changed": edit.changed_count,
                "prices": _prices("TB-BULK"),
                "history": history.count(),
            }
        )
    )


def _import(path: Path, rows: list[str]) -> ImportJob:
    path.write_text("sku,title,unit_price,inventory,collection\n" + "".join(f"{row}\n" for row in rows))
    outcome = product_import(path=path, file_name=path.name, user=_staff())
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.job.message
    return outcome.job


def import_write() -> None:
    """An import that updates one product and creates one: the INSERTs, the guarded UPDATEs, history."""
    _products("TB-IMP", ["10.00"])
    jobs = []
    with TemporaryDirectory() as folder:
        queries = toolbar_request(
            lambda: jobs.append(
                _import(Path(folder) / "products.csv", ["TB-IMP-0,Kept,12.00,4,TB", "TB-IMP-9,New,9.00,12,TB"])
            )
        )
    history = (
        Product.history.filter(sku__startswith="TB-IMP-")
        .values_list("sku", "history_type")
        .order_by("sku", "history_id")
    )
    print(json.dumps({"queries": queries, "prices": _prices("TB-IMP"), "history": [list(row) for row in history]}))


def revert() -> None:
    """Revert an import that updated one product and created one: the restoring UPDATEs, history."""
    _products("TB-REV", ["10.00"])
    with TemporaryDirectory() as folder:
        job = _import(Path(folder) / "products.csv", ["TB-REV-0,Kept,12.00,4,TB", "TB-REV-9,New,9.00,12,TB"])
    queries = toolbar_request(lambda: import_revert(job=job, user=_staff()))
    revert = ImportRevert.objects.get(import_job=job)
    counts = {"restored": revert.restored_count, "deleted": revert.deleted_count}
    print(json.dumps({"queries": queries, "prices": _prices("TB-REV"), **counts}))


def history_insert() -> None:
    """The history rows a bulk write records (``product_history_insert``), on their own."""
    products = _products("TB-HIST", ["10.00", "11.00", "12.00"])
    queries = toolbar_request(
        lambda: services.product_history_insert(
            products=products, user=_staff(), reason="Toolbar check", history_type="~"
        )
    )
    print(
        json.dumps(
            {"queries": queries, "history": Product.history.filter(history_change_reason="Toolbar check").count()}
        )
    )


def seed() -> None:
    """seed_catalog's INSERTs (a command, but the same helper as the rest)."""
    before = Product.objects.count()
    result = []
    queries = toolbar_request(lambda: result.append(catalog_seed(products=30, customers=5, orders=5, seed=7)))
    print(json.dumps({"queries": queries, "products": Product.objects.count() - before, "orders": result[0].orders}))
