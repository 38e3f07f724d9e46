"""Product images on S3-compatible storage (django-storages), against moto's S3 server on 127.0.0.1.

No network beyond 127.0.0.1: the server runs in a thread of the test process, on a port
the OS picks.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.request

import boto3
import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from store.images import services as image_services
from store.models import ProductImage
from store.tests.admin_helpers import changeform_data
from store.tests.factories import ProductFactory, image_bytes, image_upload, product_image

pytestmark = pytest.mark.django_db

BUCKET = "product-images"
KEYS = {"access_key": "testing", "secret_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, settings, monkeypatch):
    """STORAGES["default"] on a fresh bucket; returns a boto3 client to look inside it."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask for instance credentials
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "querystring_auth": False,
                "file_overwrite": False,
                "default_acl": "public-read",
                **KEYS,
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_upload_thumbnail_urls_and_delete_go_through_the_bucket(
    s3, s3_endpoint, admin_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        image = image_services.product_image_save(
            image=ProductImage(
                product=product, image=image_upload("front.jpg", image_bytes("JPEG", size=(900, 600))), alt_text="Front"
            )
        )
    image.refresh_from_db()
    assert keys(s3) == {image.image.name, image.thumbnail.name}
    assert image.thumbnail.name.startswith(f"products/{product.pk}/thumbnails/")

    # The API hands out the bucket's URLs, and they serve the bytes.
    (api_image,) = admin_client.get(f"/api/products/{product.pk}/").json()["images"]
    assert api_image["url"] == f"{s3_endpoint}/{BUCKET}/{image.image.name}"
    assert api_image["thumbnail_url"] == f"{s3_endpoint}/{BUCKET}/{image.thumbnail.name}"
    # Readable without credentials (AWS_DEFAULT_ACL=public-read, or a bucket policy).
    with urllib.request.urlopen(api_image["thumbnail_url"], timeout=5) as response:  # 127.0.0.1 only
        assert response.read()[:4] == b"RIFF"  # WebP

    # The product list's thumbnail column points at the bucket too.
    assert f'src="{api_image["thumbnail_url"]}"' in admin_client.get(reverse("admin:store_product_changelist")).text

    with django_capture_on_commit_callbacks(execute=True):
        product.delete()
        assert keys(s3) == {image.image.name, image.thumbnail.name}  # not before the commit
    assert keys(s3) == set()


def test_admin_upload_lands_in_the_bucket(s3, admin_client, django_capture_on_commit_callbacks):
    product = ProductFactory()
    url = reverse("admin:store_product_change", args=[product.pk])
    data = changeform_data(admin_client.get(url)) | {
        "images-TOTAL_FORMS": "1",
        "images-0-image": image_upload("side.png", image_bytes("PNG")),
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, data).status_code == 302
    stored = product.images.get()
    assert keys(s3) == {stored.image.name, stored.thumbnail.name}


def test_a_second_image_never_overwrites_the_first(s3):
    product = ProductFactory()
    first, second = product_image(product, thumbnail=False), product_image(product, thumbnail=False)
    assert first.image.name != second.image.name
    assert len(keys(s3)) == 2


def test_settings_switch_to_s3_when_a_bucket_is_given():
    """base.py reads the bucket, endpoint and keys from the environment (a fresh process)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.base",
        "AWS_STORAGE_BUCKET_NAME": "shop-media",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ACCESS_KEY_ID": "key-id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "PYTHONPATH": str(django_settings.BASE_DIR),
    }
    code = "import json; from django.conf import settings; print(json.dumps(settings.STORAGES['default']))"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=django_settings.BASE_DIR
    )
    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout)
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert {
        key: storage["OPTIONS"][key]
        for key in ("bucket_name", "endpoint_url", "access_key", "secret_key", "querystring_auth", "file_overwrite")
    } == {
        "bucket_name": "shop-media",
        "endpoint_url": "http://127.0.0.1:9000",
        "access_key": "key-id",
        "secret_key": "secret",
        "querystring_auth": False,
        "file_overwrite": False,
    }
