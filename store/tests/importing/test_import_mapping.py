"""Supplier files: the column guesser, mappings, value conventions, saved profiles, the admin's
mapping step and the ImportProfile admin. The CLI flags are in test_import_mapping_command.py."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from store.fileformat.columns import product_columns
from store.importing import mapping as mapping_module
from store.importing.mapping import (
    ERROR_NO_SKU,
    IGNORE,
    ColumnMapping,
    apply_mapping,
    collection_path,
    guess_mapping,
    header_signature,
    import_profile_save,
    normalise_column,
    parse_map_option,
    profile_for_header,
)
from store.importing.parsing import parse_file, read_header
from store.importing.planning import (
    ERROR_PRICE_GROUPING,
    ERROR_PRICE_MARKS_SWAPPED,
    NumberConvention,
    parse_inventory,
    parse_price,
)
from store.importing.service import plan_file, product_import_expire_previews
from store.models import ImportJob, ImportProfile, Product

pytestmark = pytest.mark.django_db

SUPPLIER = Path(__file__).parents[1] / "data" / "supplier_semicolon.csv"
SUPPLIER_HEADER = ["Supplier Code", "Product Name", "Description", "Price", "Qty", "Category", "Colour"]
SUPPLIER_TARGETS = ("sku", "title", "description", "unit_price", "inventory", "collection", IGNORE)
IMPORT = "/admin/store/product/import/"


def supplier_mapping(**changes) -> ColumnMapping:
    values = {
        "header": tuple(SUPPLIER_HEADER),
        "targets": SUPPLIER_TARGETS,
        "decimal": ",",
        "thousands": ".",
        "collection_separator": "/",
        **changes,
    }
    return ColumnMapping(**values)


def upload(client, path: Path = SUPPLIER, **data):
    with path.open("rb") as handle:
        payload = {"preset": "auto", "encoding": "", "file": SimpleUploadedFile(path.name, handle.read()), **data}
    return client.post(IMPORT, payload)


def mapping_post(header=SUPPLIER_HEADER, targets=SUPPLIER_TARGETS, **data) -> dict[str, str]:
    post = {f"column_{position}": target for position, target in enumerate(targets)}
    post.update({"decimal": ",", "thousands": "point", "collection_separator": "/", "_map": "1"})
    post.update(data)
    return post


# --- The guesser --------------------------------------------------------------------------
def test_column_names_are_normalised():
    assert normalise_column("\ufeffUnit_Price ") == "unit price"
    assert normalise_column("UNIT-PRICE") == "unit price"
    assert normalise_column("Qty.") == "qty"
    assert header_signature(["Supplier Code", "Price"]) == header_signature(["supplier_code", " PRICE "])
    assert header_signature(["Supplier Code", "Price"]) != header_signature(["Price", "Supplier Code"])


def test_the_guesser_knows_common_supplier_names():
    assert guess_mapping(SUPPLIER_HEADER) == list(SUPPLIER_TARGETS)
    assert guess_mapping(["Item code", "Name", "Unit price", "Quantity", "Category"]) == [
        "sku",
        "title",
        "unit_price",
        "inventory",
        "collection",
    ]
    assert guess_mapping(["Product code", "Product name", "Stock", "PRICE", "tags"]) == [
        "sku",
        "title",
        "inventory",
        "unit_price",
        "tags",
    ]
    assert guess_mapping(["SKU", "unit_price", "Weight (kg)"]) == ["sku", "unit_price", IGNORE]


def test_the_guesser_guesses_each_product_column_once():
    # "Price" and "Unit price" both mean unit_price: the first one gets it, the second is left to the user.
    assert guess_mapping(["Code", "Price", "Unit price"]) == ["sku", "unit_price", IGNORE]


def test_the_targets_are_the_column_table():
    assert mapping_module.target_columns() == [column.name for column in product_columns()]
    assert {"sku", "title", "unit_price", "inventory", "collection", "status", "images", "tags"} <= set(
        mapping_module.target_columns()
    )


# --- Mappings -----------------------------------------------------------------------------
def test_a_mapping_must_name_sku_and_each_product_column_once():
    assert supplier_mapping().errors() == []
    no_sku = supplier_mapping(targets=(IGNORE, *SUPPLIER_TARGETS[1:]))
    assert no_sku.errors() == [ERROR_NO_SKU]
    twice = supplier_mapping(targets=("sku", "title", "title", "unit_price", "inventory", "collection", IGNORE))
    assert twice.errors() == [
        "title is chosen for more than one file column (Product Name, Description): choose it once."
    ]
    assert "Unknown product column 'colour'" in supplier_mapping(targets=(*SUPPLIER_TARGETS[:6], "colour")).errors()[0]
    assert supplier_mapping(decimal=",", thousands=",").errors() == [
        "The decimal mark and the thousands separator must differ."
    ]


def test_applying_a_mapping_gives_native_values_and_collection_paths():
    preset = apply_mapping(parse_file(SUPPLIER), supplier_mapping())
    assert preset.name == "mapped"
    assert preset.source_columns["unit_price"] == "Price"
    assert preset.ignored_columns == ["Colour"]
    first = next(preset.rows)
    assert first.row == 2
    assert first.values == {
        "sku": "SUP-1001",
        "title": "Enamel mug 350 ml",
        "description": "Speckled enamel mug, dishwasher safe",
        "unit_price": "12,50",  # converted by planning, with the convention, never here
        "inventory": "120",
        "collection": "Home > Kitchen",
    }
    assert preset.convention == NumberConvention(decimal=",", thousands=".")


def test_a_mapping_made_for_other_columns_is_refused():
    other = supplier_mapping(header=("Code", *SUPPLIER_HEADER[1:]))
    with pytest.raises(ValidationError, match="This mapping was made for the columns Code"):
        apply_mapping(parse_file(SUPPLIER), other)


def test_collection_paths():
    assert collection_path("Home/Kitchen", "/") == "Home > Kitchen"
    assert collection_path(" Home / Kitchen / ", "/") == "Home > Kitchen"
    assert collection_path("Garden > Tools", ">") == "Garden > Tools"
    assert collection_path("Home|Living", "|") == "Home > Living"
    assert collection_path("Home/Kitchen", "") == "Home/Kitchen"


# --- Conventions ----------------------------------------------------------------------------
COMMA = NumberConvention(decimal=",", thousands=".")


def test_prices_with_a_decimal_comma_are_exact():
    assert parse_price("1.234,50", convention=COMMA) == Decimal("1234.50")
    assert parse_price("12,50", convention=COMMA) == Decimal("12.50")
    assert parse_price("1.299,00", convention=COMMA) == Decimal("1299.00")
    assert parse_price("1 299,00", convention=NumberConvention(decimal=",", thousands=" ")) == Decimal("1299.00")
    assert parse_price("1299,5", convention=NumberConvention(decimal=",", thousands="")) == Decimal("1299.50")
    with pytest.raises(ValidationError) as refused:
        parse_price("12.50", convention=COMMA)  # a decimal point in a decimal-comma file
    assert refused.value.messages == [ERROR_PRICE_GROUPING]
    with pytest.raises(ValidationError) as swapped:
        parse_price("1,234.50", convention=COMMA)
    assert swapped.value.messages == [ERROR_PRICE_MARKS_SWAPPED]
    with pytest.raises(ValidationError):
        parse_price("1.2345,00", convention=COMMA)  # not groups of three


def test_inventory_follows_the_thousands_separator():
    assert parse_inventory("1.250", convention=COMMA) == 1250
    assert parse_inventory("2.400", convention=COMMA) == 2400
    assert parse_inventory("1,250", convention=NumberConvention(decimal=".", thousands=",")) == 1250
    with pytest.raises(ValidationError):
        parse_inventory("1.25", convention=COMMA)
    with pytest.raises(ValidationError):
        parse_inventory("1,250")  # the native format keeps refusing it


def test_the_supplier_file_plans_with_exact_prices_and_inventory():
    plan = plan_file(path=SUPPLIER, file_name="supplier.csv", mapping=supplier_mapping())
    assert plan.errors == []
    assert len(plan.creates) == 20
    by_sku = {create.sku: plan.values_of(create) for create in plan.creates}
    assert by_sku["SUP-1001"]["unit_price"] == Decimal("12.50")
    assert by_sku["SUP-1005"]["unit_price"] == Decimal("1299.00")
    assert by_sku["SUP-1018"]["unit_price"] == Decimal("1049.00")
    assert by_sku["SUP-1003"]["inventory"] == 1250
    assert by_sku["SUP-1003"]["collection"] == "Home > Kitchen > Textiles"
    assert "Home > Kitchen" in plan.new_collections
    assert plan.notes[0].startswith("Columns mapped: Supplier Code → sku, Product Name → title")
    assert "Ignored columns: Colour" in plan.notes


def test_a_value_against_the_convention_is_refused_with_row_column_value_and_reason(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "Supplier Code;Product Name;Description;Price;Qty;Category;Colour\n"
        "A-1;One;;12,50;1;Home;\n"
        "A-2;Two;;12.50;1;Home;\n"
        "A-3;Three;;4;1.5;Home;\n",
        encoding="utf-8",
    )
    plan = plan_file(path=path, file_name="mixed.csv", mapping=supplier_mapping())
    errors = [(error.row, error.column, error.value, error.reason) for error in plan.errors]
    assert errors == [
        (3, "Price", "12.50", ERROR_PRICE_GROUPING),
        (4, "Qty", "1.5", ERROR_PRICE_GROUPING),
    ]
    assert [create.sku for create in plan.creates] == ["A-1"]


# --- Profiles -------------------------------------------------------------------------------
def test_a_saved_profile_maps_the_next_file_with_the_same_header(admin_user):
    profile = import_profile_save(name="Acme", mapping=supplier_mapping(), user=admin_user)
    assert profile.header == ["supplier code", "product name", "description", "price", "qty", "category", "colour"]
    assert profile.mapping == {
        "supplier code": "sku",
        "product name": "title",
        "description": "description",
        "price": "unit_price",
        "qty": "inventory",
        "category": "collection",
    }
    assert (profile.decimal_mark, profile.thousands_separator, profile.collection_separator) == (",", ".", "/")
    assert profile.created_by == admin_user
    assert profile_for_header([name.upper().replace(" ", "_") for name in SUPPLIER_HEADER]) == profile
    assert profile_for_header(SUPPLIER_HEADER[:-1]) is None
    plan = plan_file(path=SUPPLIER, file_name="again.csv")  # no mapping given: the profile is found
    assert (plan.preset, plan.profile_id, plan.profile_name) == ("mapped", profile.pk, "Acme")
    assert {create.sku: plan.values_of(create)["unit_price"] for create in plan.creates}["SUP-1005"] == Decimal(
        "1299.00"
    )


def test_profiles_refuse_a_taken_name_or_header():
    import_profile_save(name="Acme", mapping=supplier_mapping())
    with pytest.raises(ValidationError) as taken:
        import_profile_save(name="Acme", mapping=supplier_mapping(header=("Code", *SUPPLIER_HEADER[1:])))
    assert taken.value.message_dict == {"name": ["A profile named 'Acme' already exists: choose another name."]}
    with pytest.raises(ValidationError) as same:
        import_profile_save(name="Other", mapping=supplier_mapping())
    assert same.value.message_dict == {"name": ["The profile 'Acme' is already saved for this header: edit that one."]}
    with pytest.raises(ValidationError):
        import_profile_save(name="Broken", mapping=supplier_mapping(header=("Code",), targets=("title",)))
    twins = ColumnMapping(header=("Code", "Price", "price "), targets=("sku", "unit_price", IGNORE))
    with pytest.raises(ValidationError, match="more than one column named 'price'"):
        import_profile_save(name="Twins", mapping=twins)
    assert ImportProfile.objects.count() == 1


def test_the_cli_map_option_is_checked_against_the_header():
    assert parse_map_option(
        "supplier_code=sku, Product Name=title,price=unit_price,Colour=ignore", SUPPLIER_HEADER
    ) == [
        "sku",
        "title",
        IGNORE,
        "unit_price",
        IGNORE,
        IGNORE,
        IGNORE,
    ]
    with pytest.raises(ValidationError) as refused:
        parse_map_option("Code=sku,Price=cost,Name", SUPPLIER_HEADER)
    assert refused.value.messages == [
        "The file has no column 'Code'; its columns are: " + ", ".join(SUPPLIER_HEADER) + ".",
        "Unknown product column 'cost' for file column 'Price'; the product columns are: "
        + ", ".join(mapping_module.target_columns())
        + ".",
        "Each --map entry is FILE COLUMN=product column; 'Name' has no '='.",
    ]


def test_the_header_is_read_without_reading_the_rows():
    header, rows = read_header(SUPPLIER)
    assert header == SUPPLIER_HEADER
    assert [row[0] for row in rows] == ["SUP-1001", "SUP-1002", "SUP-1003"]


# --- The admin's mapping step -------------------------------------------------------------------
def test_an_unknown_header_leads_to_the_mapping_page_with_guesses(admin_client):
    response = upload(admin_client)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"{IMPORT}{job.pk}/mapping/"
    assert job.status == ImportJob.STATUS_MAPPING
    assert job.upload  # kept in the private storage: the file is not uploaded twice
    assert job.options["header"] == SUPPLIER_HEADER
    page = admin_client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    form = page.context["form"]
    assert [form[f"column_{n}"].value() for n in range(7)] == list(SUPPLIER_TARGETS)
    assert '<option value="unit_price" selected>unit_price</option>' in html
    assert "e.g. 12,50, 49,90, 8,95" in html
    # The preview URL of a job waiting for its mapping leads to the mapping page.
    assert admin_client.get(f"{IMPORT}{job.pk}/").url == response.url


def test_mapping_errors_are_form_errors(admin_client):
    job_url = upload(admin_client).url
    duplicate = admin_client.post(job_url, mapping_post(targets=("sku", "title", "title", "", "", "", "")))
    assert duplicate.status_code == 200
    assert "title is chosen for more than one file column (Product Name, Description)" in duplicate.content.decode()
    no_sku = admin_client.post(job_url, mapping_post(targets=("", "title", "", "unit_price", "", "", "")))
    assert ERROR_NO_SKU in no_sku.content.decode()
    unnamed = admin_client.post(job_url, mapping_post(save_profile="on", profile_name=" "))
    assert "Give the profile a name" in unnamed.content.decode()
    assert ImportJob.objects.get().status == ImportJob.STATUS_MAPPING
    assert not ImportProfile.objects.exists()


def test_mapping_then_preview_then_confirm_writes_exact_prices(admin_client):
    job_url = upload(admin_client).url
    response = admin_client.post(job_url, mapping_post(save_profile="on", profile_name="Acme kitchen"))
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"{IMPORT}{job.pk}/"
    assert job.status == ImportJob.STATUS_PREVIEW
    assert job.upload  # kept until confirmed, so that the preview can go back to its mapping
    profile = ImportProfile.objects.get()
    assert job.profile == profile
    assert job.column_mapping["targets"] == list(SUPPLIER_TARGETS)
    preview = admin_client.get(response.url)
    html = preview.content.decode()
    assert preview.context["plan"].rows_total == 20
    assert len(preview.context["plan"].creates) == 20
    edit = reverse("admin:store_importprofile_change", args=[profile.pk])
    assert f'Mapped with profile «<a href="{edit}">Acme kitchen</a>»' in html
    assert "1299.00" in html
    confirmed = admin_client.post(response.url, {"_confirm": "1"})
    assert confirmed.status_code == 302
    job.refresh_from_db()
    assert not job.upload  # confirmed: the plan held what the write needed
    assert Product.objects.count() == 20
    assert Product.objects.get(sku="SUP-1005").unit_price == Decimal("1299.00")
    assert Product.objects.get(sku="SUP-1001").unit_price == Decimal("12.50")
    assert Product.objects.get(sku="SUP-1016").inventory == 2400
    assert Product.objects.get(sku="SUP-1003").collection.title == "Home > Kitchen > Textiles"


def test_a_file_with_a_saved_header_skips_the_mapping_step(admin_client, tmp_path):
    import_profile_save(name="Acme", mapping=supplier_mapping())
    again = tmp_path / "acme-march.csv"
    again.write_text(
        "SUPPLIER_CODE;product name;Description;PRICE;qty;category;colour\n"
        "SUP-2001;Bread bin;;1.049,00;3;Home/Kitchen;red\n",
        encoding="utf-8",
    )
    response = upload(admin_client, again)
    job = ImportJob.objects.get()
    assert response.url == f"{IMPORT}{job.pk}/"
    assert job.status == ImportJob.STATUS_PREVIEW
    html = admin_client.get(response.url).content.decode()
    assert "Mapped with profile «" in html
    assert ">Acme</a>»" in html
    assert "1049.00" in html


def test_a_mapping_without_saving_says_how_columns_were_mapped(admin_client):
    job_url = upload(admin_client).url
    admin_client.post(job_url, mapping_post(targets=("sku", "title", "", "unit_price", "", "", "")))
    job = ImportJob.objects.get()
    html = admin_client.get(f"{IMPORT}{job.pk}/").content.decode()
    assert "Columns mapped: Supplier Code → sku, Product Name → title, Price → unit_price." in html
    assert "Mapped with profile" not in html
    assert not ImportProfile.objects.exists()


def test_cancelling_the_mapping_step_drops_the_file(admin_client):
    job_url = upload(admin_client).url
    response = admin_client.post(job_url, {"_cancel": "1"})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert (job.status, job.upload) == (ImportJob.STATUS_CANCELLED, "")


def test_an_abandoned_mapping_step_expires(admin_client):
    upload(admin_client)
    ImportJob.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert product_import_expire_previews() == 1
    job = ImportJob.objects.get()
    assert (job.status, job.upload) == (ImportJob.STATUS_EXPIRED, "")


def staff(client, *perms: str, username: str = "staffer") -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client.force_login(user)
    return user


def test_the_mapping_step_needs_the_import_permission(client, admin_client):
    job_url = upload(admin_client).url
    staff(client, "store.view_product")
    assert client.get(job_url).status_code == 403
    assert client.post(job_url, mapping_post()).status_code == 403
    assert ImportJob.objects.get().status == ImportJob.STATUS_MAPPING


def test_someone_elses_mapping_step_is_not_found(client, admin_client):
    job_url = upload(admin_client).url
    staff(client, "store.import_product", "store.view_product")
    assert client.get(job_url).status_code == 404
    assert client.post(job_url, mapping_post()).status_code == 404


def test_saving_a_profile_needs_the_add_permission(client):
    staff(client, "store.import_product", "store.view_product")
    job_url = upload(client).url
    page = client.get(job_url)
    assert "save_profile" not in page.context["form"].fields
    client.post(job_url, mapping_post(save_profile="on", profile_name="Sneaky"))
    assert not ImportProfile.objects.exists()
    assert ImportJob.objects.get().status == ImportJob.STATUS_PREVIEW


# --- The ImportProfile admin ----------------------------------------------------------------------
def test_profiles_are_listed_edited_and_deleted(admin_client, django_assert_max_num_queries):
    for number in range(5):
        import_profile_save(
            name=f"Supplier {number}", mapping=supplier_mapping(header=(f"Code {number}", *SUPPLIER_HEADER[1:]))
        )
    changelist = reverse("admin:store_importprofile_changelist")
    with django_assert_max_num_queries(12):
        listed = admin_client.get(changelist, {"q": "Supplier 3"})
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [ImportProfile.objects.get(name="Supplier 3")]
    assert "code 3 → sku" in listed.content.decode()
    profile = ImportProfile.objects.get(name="Supplier 3")
    url = reverse("admin:store_importprofile_change", args=[profile.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["adminform"].form["column_3"].value() == "unit_price"
    data = {
        "name": "Supplier three",
        "decimal_mark": ".",
        "thousands": "none",
        "collection_separator": ">",
        **{f"column_{n}": target for n, target in enumerate(("sku", "title", "", "unit_price", "", "", "tags"))},
    }
    assert admin_client.post(url, data).status_code == 302
    profile.refresh_from_db()
    assert profile.name == "Supplier three"
    assert profile.mapping == {"code 3": "sku", "product name": "title", "price": "unit_price", "colour": "tags"}
    assert (profile.decimal_mark, profile.thousands_separator, profile.collection_separator) == (".", "", ">")
    bad = admin_client.post(url, {**data, "column_0": "", "column_2": "title"})
    assert bad.status_code == 200
    errors = bad.context["adminform"].form.non_field_errors()
    assert ERROR_NO_SKU in errors
    assert "title is chosen for more than one file column (product name, description): choose it once." in errors
    assert admin_client.get(reverse("admin:store_importprofile_add")).status_code == 403
    deleted = admin_client.post(reverse("admin:store_importprofile_delete", args=[profile.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert not ImportProfile.objects.filter(pk=profile.pk).exists()


def test_the_profile_admin_needs_its_permissions(client):
    profile = import_profile_save(name="Acme", mapping=supplier_mapping())
    staff(client, "store.import_product", "store.view_product")
    assert client.get(reverse("admin:store_importprofile_changelist")).status_code == 403
    assert client.get(reverse("admin:store_importprofile_change", args=[profile.pk])).status_code == 403


def test_read_header_agrees_with_the_parser_on_trailing_blank_cells(tmp_path):
    path = tmp_path / "trailing.csv"
    path.write_text("Code;Name;Price;Qty;Category;\nA-1;One;12,50;1.000;Home;\n", encoding="utf-8")
    header = ["Code", "Name", "Price", "Qty", "Category", ""]
    assert read_header(path)[0] == parse_file(path).header == header
    mapping = ColumnMapping(header=tuple(header), targets=tuple(guess_mapping(header)), decimal=",", thousands=".")
    plan = plan_file(path=path, file_name="trailing.csv", mapping=mapping)
    assert plan.errors == []
    assert [
        (create.sku, plan.values_of(create)["unit_price"], plan.values_of(create)["inventory"])
        for create in plan.creates
    ] == [("A-1", Decimal("12.50"), 1000)]


def test_a_profile_deleted_after_the_mapping_step_still_plans(admin_user):
    profile = import_profile_save(name="Gone", mapping=supplier_mapping())
    mapping = supplier_mapping(profile_id=profile.pk, profile_name=profile.name)
    profile.delete()
    plan = plan_file(path=SUPPLIER, file_name="late.csv", mapping=mapping)
    assert (plan.profile_id, plan.profile_name, len(plan.creates)) == (None, "Gone", 20)
