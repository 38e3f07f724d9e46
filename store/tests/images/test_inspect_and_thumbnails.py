"""Product image files: upload checks, thumbnails, files removed on commit only."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django_tasks import default_task_backend
from PIL import Image

from store.images import inspect as images
from store.images import services as image_services
from store.images.inspect import image_inspect
from store.images.thumbnails import product_image_make_thumbnail
from store.models import Product, ProductImage
from store.tests.factories import ProductFactory, image_bytes, image_upload, product_image

pytestmark = pytest.mark.django_db


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height, with no pixel data: a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def noisy(fmt: str, size=(300, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 50).convert("RGB").save(buffer, fmt)
    return buffer.getvalue()


def inspect(data: bytes, name: str):
    return image_inspect(file=io.BytesIO(data), name=name)


class TestInspect:
    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
    def test_accepted_formats(self, fmt):
        info = inspect(image_bytes(fmt, size=(64, 48)), f"photo.{fmt.lower()}")
        assert (info.format, info.width, info.height) == (fmt, 64, 48)

    @pytest.mark.parametrize(
        ("name", "data", "code", "message"),
        [
            (
                "notes.png",
                b"hello, this is a text file\n" * 10,
                "not_an_image",
                "“notes.png” is not an image (JPEG, PNG, WebP or GIF expected).",
            ),
            (
                "logo.svg",
                b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                "svg",
                "“logo.svg” is an SVG image. SVG is not accepted because it can carry scripts; "
                "upload a JPEG, PNG, WebP or GIF.",
            ),
            ("renamed.png", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "svg", None),
            (
                "bomb.png",
                png_header_only(50_000, 50_000),
                "too_many_pixels",
                "“bomb.png” declares far more pixels than an image may have (at most 40 megapixels).",
            ),
            (
                "big.png",
                png_header_only(8000, 6000),
                "too_many_pixels",
                "“big.png” is 8000 × 6000 pixels; an image may have at most 40 megapixels.",
            ),
            (
                "scan.bmp",
                image_bytes("BMP"),
                "format",
                "“scan.bmp” is a BMP image; only JPEG, PNG, WebP and GIF are accepted.",
            ),
            ("scan.tiff", image_bytes("TIFF"), "format", None),
            ("empty.png", b"", "empty", "“empty.png” is empty."),
        ],
    )
    def test_refused_with_the_file_and_the_reason(self, name, data, code, message):
        with pytest.raises(ValidationError) as refused:
            inspect(data, name)
        assert refused.value.code == code
        assert name in refused.value.messages[0]
        if message:
            assert refused.value.messages == [message]

    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
    def test_truncated_files_are_refused(self, fmt):
        data = noisy(fmt)
        with pytest.raises(ValidationError) as refused:
            inspect(data[: len(data) // 3], f"cut.{fmt.lower()}")
        assert refused.value.code == "damaged"
        assert refused.value.messages[0].startswith(f"“cut.{fmt.lower()}” is damaged or truncated")

    def test_oversize_file_is_refused_before_decoding(self, settings, monkeypatch):
        settings.PRODUCT_IMAGE_MAX_BYTES = 1000
        monkeypatch.setattr(images.Image, "open", lambda *a, **k: pytest.fail("decoded an oversize file"))
        with pytest.raises(ValidationError) as refused:
            inspect(noisy("PNG"), "huge.png")
        assert refused.value.code == "too_large"
        assert refused.value.messages[0].startswith("“huge.png” is ")
        assert refused.value.messages[0].endswith("an image may be at most 1000\xa0bytes.")

    def test_pixel_limit_is_a_setting(self, settings):
        settings.PRODUCT_IMAGE_MAX_PIXELS = 64 * 48 - 1
        with pytest.raises(ValidationError, match="64 × 48 pixels"):
            inspect(image_bytes("PNG", size=(64, 48)), "a.png")


class TestSave:
    def test_stores_under_a_random_name_with_the_real_format(self):
        product = ProductFactory()
        upload = image_upload("../../etc/passwd.gif", image_bytes("JPEG", size=(30, 20)))
        image = product_image(product, upload=upload, thumbnail=False, alt_text="Front")
        assert image.image.name.startswith(f"products/{product.pk}/")
        assert image.image.name.endswith(".jpg")
        assert "passwd" not in image.image.name
        assert (image.width, image.height, image.thumbnail.name) == (30, 20, "")
        assert default_storage.exists(image.image.name)

    def test_bad_bytes_are_refused_and_nothing_is_stored(self):
        product = ProductFactory()
        with pytest.raises(ValidationError, match="“notes.png” is not an image"):
            image_services.product_image_save(
                image=ProductImage(product=product, image=image_upload("notes.png", b"plain text" * 20))
            )
        assert not ProductImage.objects.exists()

    def test_the_thumbnail_is_made_after_commit(self, django_capture_on_commit_callbacks):
        product = ProductFactory()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            image = image_services.product_image_save(
                image=ProductImage(
                    product=product, image=image_upload("big.jpg", image_bytes("JPEG", size=(1200, 600)))
                )
            )
            assert ProductImage.objects.get(pk=image.pk).thumbnail.name == ""
        assert len(callbacks) == 1
        image.refresh_from_db()
        assert image.thumbnail.name.startswith(f"products/{product.pk}/thumbnails/")
        with default_storage.open(image.thumbnail.name) as stored, Image.open(stored) as thumb:
            assert (thumb.format, thumb.size) == ("WEBP", (320, 160))

    def test_the_thumbnail_is_a_task_enqueued_on_commit(self, settings, django_capture_on_commit_callbacks):
        settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
        product = ProductFactory()
        with django_capture_on_commit_callbacks(execute=True):
            image = image_services.product_image_save(
                image=ProductImage(product=product, image=image_upload("a.png", image_bytes("PNG")))
            )
            assert default_task_backend.results == []
        [queued] = default_task_backend.results
        assert (queued.task.name, queued.args) == ("product_image_thumbnail", [image.pk])
        image.refresh_from_db()
        assert image.thumbnail.name == ""  # the worker makes it, not the request

    def test_thumbnail_keeps_transparency_and_replaces_the_previous_one(self):
        image = product_image(
            ProductFactory(), upload=image_upload("logo.png", image_bytes("PNG", colour=(0, 0, 0, 0)))
        )
        first = image.thumbnail.name
        with default_storage.open(first) as stored, Image.open(stored) as thumb:
            assert thumb.mode == "RGBA"
        assert product_image_make_thumbnail(image_id=image.pk)
        image.refresh_from_db()
        assert image.thumbnail.name != first
        assert default_storage.exists(image.thumbnail.name)
        assert not default_storage.exists(first)

    def test_thumbnail_of_a_deleted_image_is_a_no_op(self):
        assert product_image_make_thumbnail(image_id=987654) is False


class TestFilesGoOnCommit:
    def test_deleting_an_image_removes_its_files_on_commit(self, django_capture_on_commit_callbacks):
        image = product_image(ProductFactory())
        names = [image.image.name, image.thumbnail.name]
        with django_capture_on_commit_callbacks(execute=True):
            image_services.product_image_delete(image=image)
            assert all(default_storage.exists(name) for name in names)  # not before the commit
        assert not any(default_storage.exists(name) for name in names)

    def test_a_rolled_back_delete_keeps_the_files(self, django_capture_on_commit_callbacks):
        image = product_image(ProductFactory())
        pk = image.pk

        def delete_then_fail():
            with transaction.atomic():
                image_services.product_image_delete(image=image)
                raise RuntimeError("the rest of the edit failed")

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError, match="the rest of the edit failed"),
        ):
            delete_then_fail()
        assert callbacks == []
        assert ProductImage.objects.filter(pk=pk).exists()
        assert default_storage.exists(image.image.name)
        assert default_storage.exists(image.thumbnail.name)

    def test_deleting_products_removes_their_images_files(self, django_capture_on_commit_callbacks):
        products = ProductFactory.create_batch(2)
        stored = [product_image(product) for product in products for _ in range(2)]
        with django_capture_on_commit_callbacks(execute=True):
            Product.objects.filter(pk__in=[p.pk for p in products]).delete()
        assert not ProductImage.objects.exists()
        assert not any(default_storage.exists(i.image.name) or default_storage.exists(i.thumbnail.name) for i in stored)
