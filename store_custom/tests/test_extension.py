"""store_custom's one StoreExtension, and store without it (a second process without the app)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings

from store import extensions
from store.admin.catalog import ProductAdmin
from store.bulk import actions as bulk_actions
from store.exports.resources import ProductResource
from store.models import Product
from store_custom.admin import CustomProductAdmin
from store_custom.extension import TAGS


@pytest.mark.django_db
def test_store_custom_registers_one_declaration_covering_each_concept():
    assert extensions.extensions() == (TAGS,)
    assert "tags" in ProductResource().export(queryset=Product.objects.none()).headers
    assert [f.name for f in extensions.api_fields()] == ["tags"]
    assert [r.prefix for r in extensions.api_routes()] == ["tags"]
    assert {"add_tags", "remove_tags"} <= {action.name for action in bulk_actions.bulk_actions()}
    assert extensions.admin_list_columns() == CustomProductAdmin.list_columns
    assert extensions.admin_inlines() == CustomProductAdmin.inlines
    assert extensions.admin_list_filters() == CustomProductAdmin.list_filter
    assert not issubclass(CustomProductAdmin, ProductAdmin)  # additions, not a second ModelAdmin


WITHOUT_STORE_CUSTOM = textwrap.dedent(
    """
    import csv, json, pathlib, sys, django
    django.setup()
    from django.test.utils import setup_test_environment
    setup_test_environment()
    from django.core.management import call_command
    from rest_framework.test import APIClient
    from store import extensions
    from store.bulk import actions as bulk_actions
    from store.bulk import apply as bulk_apply
    from store.importing.service import product_import
    from store.models import Product
    from store.exports.resources import ProductResource

    call_command("migrate", verbosity=0)
    path = pathlib.Path(sys.argv[1])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "unit_price", "inventory", "collection"])
        writer.writerow(["M-1", "Mug", "5.00", "3", "Mugs"])
    outcome = product_import(path=path, file_name="mugs.csv")
    product = Product.objects.get(sku="M-1")
    api = APIClient()
    detail = api.get(f"/api/products/{product.pk}/")
    listed = api.get("/api/products/")
    exported = ProductResource().export(queryset=Product.objects.all())
    product.delete()
    print(json.dumps({
        "extensions": len(extensions.extensions()),
        "imported": outcome.job.created_count,
        "detail": [detail.status_code, "tags" in detail.json()],
        "list": [listed.status_code, len(listed.json()["results"]), "tags" in listed.json()["results"][0]],
        "tags_endpoint": api.get("/api/tags/").status_code,
        "export_has_tags": "tags" in exported.headers,
        "bulk": sorted(action.name for action in bulk_actions.bulk_actions()),
        "deleted": not Product.objects.exists(),
    }))
    """
)


@pytest.mark.slow
def test_without_store_custom_the_api_import_and_bulk_edits_work_without_tags(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_without_store_custom",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'no_store_custom.sqlite3'}",
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_STORE_CUSTOM, str(tmp_path / "mugs.csv")],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "extensions": 0,
        "imported": 1,
        "detail": [200, False],
        "list": [200, 1, False],
        "tags_endpoint": 404,
        "export_has_tags": False,
        "bulk": [
            "add_promotion",
            "adjust_inventory",
            "change_price",
            "move_to_collection",
            "remove_promotion",
            "set_status",
        ],
        "deleted": True,
    }
