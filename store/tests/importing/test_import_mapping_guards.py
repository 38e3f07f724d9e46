"""Guards of mapped imports: the width of a header mapped column by column; who may change a
saved profile, and its history; a file column given twice to --map."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from store.importing.mapping import (
    ERROR_MAP_REPEATED,
    import_profile_save,
    mapping_from_profile,
    parse_map_option,
)
from store.models import ImportJob, ImportProfile, Product
from store.roles import IMPORTER, role_sync_all
from store.tests.importing.test_import_mapping import SUPPLIER, SUPPLIER_HEADER, mapping_post, supplier_mapping

pytestmark = pytest.mark.django_db

IMPORT = "admin:store_product_import"
SUPPLIER_CSV = (";".join(SUPPLIER_HEADER) + "\r\nSUP-1;Kettle;Steel;12,50;3;Home/Kitchen;Red\r\n").encode()


def wide_csv(width: int) -> bytes:
    header = ["Supplier Code", *(f"Attribute {n}" for n in range(1, width))]
    row = ["SUP-1", *("x" for _ in range(1, width))]
    return (",".join(header) + "\r\n" + ",".join(row) + "\r\n").encode()


def upload(client, data: bytes):
    file = SimpleUploadedFile("wide.csv", data)
    return client.post(reverse(IMPORT), {"preset": "auto", "encoding": "", "file": file})


@pytest.mark.parametrize("width", [501, 60_001])
def test_a_header_too_wide_to_map_is_refused_on_upload_with_its_width(admin_client, width):
    response = upload(admin_client, wide_csv(width))
    assert response.status_code == 302
    assert response.url == reverse(IMPORT)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"The file has {width:,} columns; the mapping page maps at most 500, one choice each. Delete the columns "
        "you do not import and upload the file again, or import it on the command line with --map."
    ]
    assert not ImportJob.objects.exists()  # no job waits for a mapping nobody can make


def test_a_header_at_the_limit_is_mapped_on_the_page(admin_client, django_assert_max_num_queries):
    response = upload(admin_client, wide_csv(500))
    job = ImportJob.objects.get()
    assert response.url == reverse("admin:store_product_import_mapping", args=[job.pk])
    with django_assert_max_num_queries(10):
        page = admin_client.get(response.url)
    assert page.status_code == 200
    assert len(page.context["form"].column_fields()) == 500


# --- Who changes a profile -----------------------------------------------------------------
@pytest.fixture
def importers(db) -> dict[str, tuple[User, Client]]:
    """Two users of the Importer role, each with a logged-in client."""
    role_sync_all()
    found = {}
    for name in ("ann", "bob"):
        user = User.objects.create_user(name, password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=IMPORTER))
        client = Client()
        client.force_login(user)
        found[name] = user, client
    return found


def profile_post(profile: ImportProfile, **changes) -> dict[str, str]:
    targets = ("sku", "title", "description", "unit_price", "inventory", "collection", "")
    data = {
        "name": profile.name,
        "decimal_mark": profile.decimal_mark,
        "thousands": "point",
        "collection_separator": profile.collection_separator,
        **{f"column_{n}": target for n, target in enumerate(targets)},
    }
    return {**data, **changes}


def test_an_importer_cannot_change_someone_elses_profile(importers):
    """Bob's change would map Ann's next file: he sees her profile read-only, and a forged POST is refused."""
    (ann, ann_client), (_bob, bob_client) = importers["ann"], importers["bob"]
    job_url = ann_client.post(
        "/admin/store/product/import/",
        {"preset": "auto", "encoding": "", "file": SimpleUploadedFile("acme.csv", SUPPLIER_CSV)},
    ).url
    ann_client.post(job_url, mapping_post(save_profile="on", profile_name="Acme"))
    profile = ImportProfile.objects.get()
    assert profile.created_by == ann
    url = reverse("admin:store_importprofile_change", args=[profile.pk])

    page = bob_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # read-only
    forged = bob_client.post(url, profile_post(profile, column_3="", column_6="unit_price"))
    assert forged.status_code == 403
    profile.refresh_from_db()
    assert profile.mapping["price"] == "unit_price"
    assert mapping_from_profile(profile, SUPPLIER_HEADER).targets[3] == "unit_price"  # Ann's next file
    with pytest.raises(PermissionDenied):
        import_profile_save(name="Acme", mapping=supplier_mapping(), user=importers["bob"][0], profile=profile)

    assert 'name="_save"' in ann_client.get(url).content.decode()
    assert ann_client.post(url, profile_post(profile, name="Acme homeware")).status_code == 302
    assert ImportProfile.objects.get().name == "Acme homeware"


@pytest.mark.parametrize("manager", ["superuser", "supervisor"])
def test_a_manager_changes_any_profile(importers, admin_client, manager):
    """A superuser, or whoever supervises imports (store.manage_others_imports), changes anyone's."""
    ann, (bob, bob_client) = importers["ann"][0], importers["bob"]
    if manager == "supervisor":
        bob.user_permissions.add(Permission.objects.get(codename="manage_others_imports"))
    client = admin_client if manager == "superuser" else bob_client
    profile = import_profile_save(name="Acme", mapping=supplier_mapping(), user=ann)
    url = reverse("admin:store_importprofile_change", args=[profile.pk])
    assert client.post(url, profile_post(profile, collection_separator=">")).status_code == 302
    profile.refresh_from_db()
    assert (profile.collection_separator, profile.created_by) == (">", ann)  # still Ann's


def test_a_profile_whose_owner_is_gone_is_a_managers_to_change(importers, admin_client):
    orphan = import_profile_save(name="Orphan", mapping=supplier_mapping(), user=None)
    url = reverse("admin:store_importprofile_change", args=[orphan.pk])
    assert importers["bob"][1].post(url, profile_post(orphan, name="Mine")).status_code == 403
    assert admin_client.post(url, profile_post(orphan, name="Kept")).status_code == 302
    assert ImportProfile.objects.get().name == "Kept"


def test_every_change_of_a_profile_is_in_its_history_with_who_made_it(importers, admin_client, admin_user):
    (ann, ann_client) = importers["ann"]
    profile = import_profile_save(name="Acme", mapping=supplier_mapping(), user=ann)
    url = reverse("admin:store_importprofile_change", args=[profile.pk])
    ann_client.post(url, profile_post(profile, column_3="", column_6="unit_price"))
    admin_client.post(url, profile_post(profile, name="Acme homeware"))

    versions = list(profile.history.order_by("history_id"))
    assert [(v.history_type, v.history_user, v.name) for v in versions] == [
        ("+", ann, "Acme"),
        ("~", ann, "Acme"),
        ("~", admin_user, "Acme homeware"),
    ]
    assert versions[0].mapping["price"] == "unit_price"
    assert versions[1].mapping["colour"] == "unit_price"
    page = admin_client.get(reverse("admin:store_importprofile_history", args=[profile.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme homeware" in html
    assert ann.username in html

    other = import_profile_save(name="Other", mapping=supplier_mapping(header=("Code", *SUPPLIER_HEADER[1:])), user=ann)
    admin_client.post(reverse("admin:store_importprofile_delete", args=[profile.pk]), {"post": "yes"})
    admin_client.post(
        reverse("admin:store_importprofile_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [other.pk], "post": "yes"},
    )
    assert not ImportProfile.objects.exists()
    for pk in (profile.pk, other.pk):
        deleted = ImportProfile.history.filter(id=pk).latest("history_id")
        assert (deleted.history_type, deleted.history_user) == ("-", admin_user)


def test_a_past_version_of_a_profile_is_shown_never_restored(importers, admin_client):
    ann = importers["ann"][0]
    profile = import_profile_save(name="Acme", mapping=supplier_mapping(), user=ann)
    version = profile.history.get().history_id
    url = reverse("admin:store_importprofile_simple_history", args=[profile.pk, version])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, profile_post(profile, name="Reverted")).status_code == 403
    assert ImportProfile.objects.get().name == "Acme"


# --- --map on the command line -------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "column"),
    [
        ("Supplier Code=sku,Product Name=title,Price=unit_price,Price=ignore", "Price"),
        ("Supplier Code=sku,Product Name=title,Price=unit_price,price=description", "price"),
        ("Supplier Code=sku,Qty=inventory,Product Name=title,qty.=ignore", "qty."),
    ],
)
def test_a_column_given_twice_in_map_is_refused_naming_it(spec, column):
    """The later entry used to win silently (Price=unit_price, then Price=ignore: no prices imported)."""
    with pytest.raises(ValidationError) as refused:
        parse_map_option(spec, SUPPLIER_HEADER)
    first = "Price" if column.lower() == "price" else "Qty"
    assert refused.value.messages == [ERROR_MAP_REPEATED.format(column=column, first=first)]
    with pytest.raises(CommandError) as stopped:
        call_command("import_products", str(SUPPLIER), "--map", spec, "--decimal-comma", stdout=StringIO())
    assert f"The file column {column!r} is given more than once in --map" in str(stopped.value)
    assert not ImportJob.objects.exists()
    assert not Product.objects.exists()
