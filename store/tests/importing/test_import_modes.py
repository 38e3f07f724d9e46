"""Import modes (issue 20 §3): create and update, update only, create only, and "a blank cell keeps
the current value"; in the service, the admin (upload, mapping step, preview), the CLI and profiles."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from store.importing import modes, presets
from store.importing.jobs import import_job_preview_run, import_job_submit
from store.importing.mapping import ColumnMapping, import_profile_save
from store.importing.service import plan_file, product_import
from store.models import ImportJob, Product
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory

pytestmark = pytest.mark.django_db

HEADER = ["sku", "title", "description", "unit_price", "inventory", "collection", "promotions"]
KNOWN = {"sku": "K-1", "title": "Known", "unit_price": "12.00", "inventory": "3", "collection": "Kitchen"}
NEW = {"sku": "N-1", "title": "New", "unit_price": "5.00", "inventory": "1", "collection": "Kitchen"}
IMPORT = "/admin/store/product/import/"
KEEP_BLANK = modes.ModeChoice(keep_blank=True)


@pytest.fixture
def known():
    product = ProductFactory(
        sku="K-1",
        title="Known",
        description="Kept words",
        unit_price=Decimal("10.00"),
        inventory=3,
        collection=CollectionFactory(title="Kitchen"),
    )
    product.promotions.add(PromotionFactory())
    return product


def run(path: Path, **kwargs):
    return product_import(path=path, file_name=path.name, **kwargs)


# --- The service ----------------------------------------------------------------------------
def test_create_and_update_is_the_default(write_csv, known):
    outcome = run(write_csv([KNOWN, NEW], header=HEADER))
    assert (outcome.job.created_count, outcome.job.updated_count) == (1, 1)
    assert outcome.plan.mode_text == f"Mode: create and update; {modes.BLANK_CLEARS}."


def test_update_only_refuses_unknown_skus_by_row(write_csv, known):
    outcome = run(write_csv([KNOWN, NEW], header=HEADER), mode=modes.ModeChoice(modes.MODE_UPDATE_ONLY))
    assert outcome.job.status == ImportJob.STATUS_FAILED
    assert [(e.row, e.column, e.value, e.reason) for e in outcome.plan.errors] == [
        (3, "sku", "N-1", modes.ERROR_NOT_IN_CATALOG)
    ]
    assert outcome.plan.mode_text.startswith("Mode: update only")
    assert not Product.objects.filter(sku="N-1").exists()
    assert Product.objects.get(sku="K-1").unit_price == Decimal("10.00")  # all or nothing
    skipping = run(
        write_csv([KNOWN, NEW], header=HEADER), mode=modes.ModeChoice(modes.MODE_UPDATE_ONLY), skip_invalid=True
    )
    assert (skipping.job.status, skipping.job.created_count, skipping.job.updated_count) == ("partial", 0, 1)
    assert Product.objects.get(sku="K-1").unit_price == Decimal("12.00")
    assert not Product.objects.filter(sku="N-1").exists()


def test_create_only_skips_and_lists_known_skus(write_csv, known):
    outcome = run(write_csv([KNOWN, NEW], header=HEADER), mode=modes.ModeChoice(modes.MODE_CREATE_ONLY))
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED
    assert (outcome.job.created_count, outcome.job.updated_count, outcome.job.skipped_count) == (1, 0, 1)
    assert outcome.plan.skipped == [(2, f"K-1: {modes.SKIP_IN_CATALOG}")]
    assert Product.objects.get(sku="K-1").unit_price == Decimal("10.00")
    assert Product.objects.filter(sku="N-1").exists()


def test_by_default_a_blank_cell_clears_promotions_and_description(write_csv, known):
    outcome = run(write_csv([{**KNOWN, "unit_price": "10.00"}], header=HEADER))
    assert outcome.plan.updates[0].changes.keys() == {"description", "promotions"}
    known.refresh_from_db()
    assert (known.description, known.promotions.count()) == ("", 0)


def test_keep_blank_keeps_every_blank_cell_of_an_existing_product(write_csv, known):
    row = {**KNOWN, "title": "", "unit_price": "", "inventory": "", "collection": "", "promotions": ""}
    outcome = run(write_csv([row, {**NEW, "description": ""}], header=HEADER), mode=KEEP_BLANK)
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.plan.errors
    assert (outcome.job.created_count, outcome.job.updated_count, outcome.job.unchanged_count) == (1, 0, 1)
    assert outcome.plan.mode_text == f"Mode: create and update; {modes.BLANK_KEEPS}."
    known.refresh_from_db()
    assert (known.title, known.description, known.unit_price, known.inventory) == (
        "Known",
        "Kept words",
        Decimal("10.00"),
        3,
    )
    assert known.promotions.count() == 1
    assert Product.objects.get(sku="N-1").description == ""
    changed = run(write_csv([{**KNOWN, "description": "New words"}], header=HEADER), mode=KEEP_BLANK)
    assert changed.plan.updates[0].changes.keys() == {"unit_price", "description"}  # a filled cell still writes


def test_keep_blank_still_needs_the_values_of_a_new_product(write_csv):
    outcome = run(write_csv([{**NEW, "title": "", "unit_price": ""}], header=HEADER), mode=KEEP_BLANK)
    assert [(e.row, e.column, e.reason) for e in outcome.plan.errors] == [
        (2, "title", "required for a new product"),
        (2, "unit_price", "required for a new product"),
    ]


def test_a_preset_fills_blank_cells_of_new_products_only(write_csv):
    """WooCommerce's "Uncategorized" and a blank Stock: for a new product; an existing one keeps its values."""
    header = ["SKU", "Name", "Regular price", "Stock", "Categories"]
    product = ProductFactory(sku="W-1", inventory=4, collection=CollectionFactory(title="Hats"))
    outcome = run(
        write_csv([["W-1", product.title, str(product.unit_price), "", ""], ["W-2", "Two", "3", "", ""]], header=header)
    )
    assert outcome.plan.preset == presets.PRESET_WOOCOMMERCE
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.plan.errors
    product.refresh_from_db()
    assert (product.inventory, product.collection.title) == (4, "Hats")
    new = Product.objects.get(sku="W-2")
    assert (new.inventory, new.collection.title) == (0, presets.UNCATEGORIZED)


def test_an_unknown_mode_is_refused():
    with pytest.raises(Exception, match="Unknown import mode 'upsert'"):
        modes.import_mode_resolve(modes.ModeChoice("upsert"))


# --- Profiles ---------------------------------------------------------------------------------
SUPPLIER_HEADER = ["Code", "Name", "Price", "Qty", "Group"]


def supplier_file(write_csv, rows):
    return write_csv(rows, header=SUPPLIER_HEADER, name="supplier.csv")


def test_a_profile_saves_a_mode_and_an_explicit_choice_wins(write_csv, known):
    mapping = ColumnMapping(
        header=tuple(SUPPLIER_HEADER), targets=("sku", "title", "unit_price", "inventory", "collection")
    )
    profile = import_profile_save(name="Feed", mapping=mapping, mode=modes.MODE_UPDATE_ONLY, keep_blank=True)
    path = supplier_file(write_csv, [["K-1", "", "11.00", "", ""], ["N-1", "New", "5", "1", "Kitchen"]])
    plan = plan_file(path=path, file_name="supplier.csv")
    assert (plan.profile_id, plan.mode, plan.keep_blank) == (profile.pk, modes.MODE_UPDATE_ONLY, True)
    assert plan.mode_text == f"Mode: {modes.MODE_NAMES['update_only']}; {modes.BLANK_KEEPS} (from the profile «Feed»)."
    assert [(e.row, e.reason) for e in plan.errors] == [(3, modes.ERROR_NOT_IN_CATALOG)]
    assert plan.updates[0].changes == {"unit_price": ("10.00", "11.00")}
    chosen = plan_file(
        path=path, file_name="supplier.csv", mode=modes.ModeChoice(modes.MODE_CREATE_UPDATE, keep_blank=False)
    )
    assert (chosen.mode, chosen.keep_blank) == (modes.MODE_CREATE_UPDATE, False)
    assert [(e.row, e.column, e.reason) for e in chosen.errors] == [(2, "Name", "required")]  # blank: not kept now
    assert chosen.mode_text == f"Mode: create and update; {modes.BLANK_CLEARS}."


# --- A background job carries the mode to the worker ----------------------------------------------
def test_a_background_import_plans_with_the_chosen_mode(write_csv, known, admin_user):
    path = write_csv([KNOWN, NEW], header=HEADER)
    job = import_job_submit(
        path=path, file_name=path.name, user=admin_user, mode=modes.ModeChoice(modes.MODE_CREATE_ONLY)
    )
    assert job.options["mode"] == modes.MODE_CREATE_ONLY
    import_job_preview_run(job_id=job.pk, attempt=job.attempt)  # what the worker runs (a no-op if it already ran)
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_PREVIEW
    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 0, 1)


# --- The admin ----------------------------------------------------------------------------------
def upload(client, path: Path, **data):
    with path.open("rb") as handle:
        payload = {"preset": "auto", "encoding": "", "file": SimpleUploadedFile(path.name, handle.read()), **data}
    return client.post(IMPORT, payload)


def test_the_upload_form_offers_the_modes_and_the_preview_states_it(admin_client, write_csv, known):
    form = admin_client.get(IMPORT).content.decode()
    assert 'name="mode"' in form
    assert 'name="blank_cells"' in form
    response = upload(admin_client, write_csv([KNOWN, NEW], header=HEADER), mode="update_only", blank_cells="keep")
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.options["mode"], job.options["keep_blank"]) == ("update_only", True)
    preview = admin_client.get(response.url)
    html = preview.content.decode()
    assert f'<p class="import-mode" id="import-mode">Mode: {modes.MODE_NAMES["update_only"]}; ' in html
    assert modes.ERROR_NOT_IN_CATALOG in html


def test_the_mapping_step_offers_the_mode_and_saves_it_in_the_profile(admin_client, write_csv, known):
    path = supplier_file(write_csv, [["K-1", "", "11.00", "", ""], ["N-1", "New", "5", "1", "Kitchen"]])
    mapping_url = upload(admin_client, path, mode="update_only").url
    page = admin_client.get(mapping_url)
    assert page.context["form"]["mode"].value() == "update_only"  # as chosen on upload
    post = {f"column_{n}": target for n, target in enumerate(("sku", "title", "unit_price", "inventory", "collection"))}
    post.update(
        {
            "decimal": ".",
            "thousands": "comma",
            "collection_separator": "",
            "mode": "create_only",
            "blank_cells": "keep",
            "save_profile": "on",
            "profile_name": "Feed",
            "_map": "1",
        }
    )
    response = admin_client.post(mapping_url, post)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.options["mode"], job.options["keep_blank"]) == ("create_only", True)
    assert (job.profile.mode, job.profile.keep_blank) == ("create_only", True)
    assert (job.created_count, job.skipped_count) == (1, 1)
    profile_page = admin_client.get(reverse("admin:store_importprofile_change", args=[job.profile.pk]))
    assert profile_page.context["adminform"].form["mode"].value() == "create_only"


# --- The command line -------------------------------------------------------------------------------
def cli(*args) -> str:
    out = StringIO()
    call_command("import_products", *map(str, args), stdout=out)
    return out.getvalue()


def test_the_cli_takes_a_mode_and_keep_blank(write_csv, known):
    path = write_csv([KNOWN, NEW], header=HEADER)
    with pytest.raises(CommandError):
        cli(path, "--mode", "update-only")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_products", str(path), "--mode", "update-only", stdout=out)
    assert f"Mode: {modes.MODE_NAMES['update_only']}" in " ".join(out.getvalue().split())
    assert not Product.objects.filter(sku="N-1").exists()
    output = cli(write_csv([{**KNOWN, "title": "", "description": ""}], header=HEADER), "--keep-blank")
    assert f"Mode: create and update; {modes.BLANK_KEEPS}." in output
    known.refresh_from_db()
    assert (known.unit_price, known.description, known.promotions.count()) == (Decimal("12.00"), "Kept words", 1)
    assert ImportJob.objects.order_by("-pk").first().options["keep_blank"] is True
