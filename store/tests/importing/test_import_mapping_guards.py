"""Guards of the mapping step: the width of a header mapped column by column."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from store.models import ImportJob

pytestmark = pytest.mark.django_db

IMPORT = "admin:store_product_import"


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
