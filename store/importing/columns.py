"""store's own extra columns of the product import and export: ``status`` and ``images``.

Registered in ``StoreConfig.ready`` through the same hooks other apps use (hooks.py),
so planning, the preview, writing and the exports handle them like ``tags``.

- ``status``: draft, active or archived. A blank cell (or no column) keeps an existing
  product's status; a new product then gets the database default, active.
- ``images``: URLs separated by ``|``, in position order. Importing adds the URLs a
  product does not have yet as ``ProductImageSource`` rows (one multi-row INSERT per
  chunk, duplicates ignored on the unique (product, url_hash)); a background task per
  URL fetches them once the import commits (``store/image_fetch.py``). Images missing
  from the cell are kept: remove them on the product page.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from store.models import Product, ProductImage, ProductImageSource

from .planning import CHUNK, _chunks

STATUSES = tuple(Product.Status.values)
ERROR_STATUS = "not a valid status: expected one of " + ", ".join(STATUSES)
ERROR_IMAGE_URL = "not an http(s) URL: {url!r}"
ERROR_IMAGE_URL_LONG = "image URL too long: {length} characters, at most 2048"
NOTE_IMAGES = "{count} image URL(s) will be fetched in the background after the import"
URL_MAX = 2048
# An alt text travels with its URL inside the parsed value (Shopify's "Image Alt Text").
ALT_SEPARATOR = "\t"

#: the ImportJob being written, so that its image sources point back to it (set by service.py)
import_job_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("import_job_id", default=None)


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class StatusColumn:
    column = "status"

    def parse(self, raw: str) -> str | None:
        value = raw.strip().casefold()
        if not value:
            return None  # keep (planning skips None); new products get the default
        if value not in STATUSES:
            raise ValidationError(ERROR_STATUS)
        return value

    def current(self, product_ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for chunk in _chunks(list(product_ids), CHUNK):
            found.update(Product.objects.filter(id__in=chunk).values_list("id", "status"))
        return found

    def empty(self) -> str:
        return Product.Status.ACTIVE

    def render(self, value: str | None) -> str:
        return value or ""

    def notes(self, values: Iterable[str | None]) -> list[str]:
        return []

    def write(self, values: dict[int, str | None]) -> None:
        by_status: dict[str, list[int]] = {}
        for pk, value in values.items():
            if value:
                by_status.setdefault(value, []).append(pk)
        for value, ids in by_status.items():
            for chunk in _chunks(ids, CHUNK):
                Product.objects.filter(id__in=chunk).update(status=value)


class ImageUrls(tuple):
    """The URLs of a cell, in order; compares as a tuple of URLs. ``alts`` maps URL -> alt text."""

    def __new__(cls, urls: Iterable[str] = (), alts: dict[str, str] | None = None):
        value = super().__new__(cls, urls)
        value.alts = alts or {}
        return value

    def __reduce__(self):
        return self.__class__, (tuple(self), self.alts)


def image_storage_url(name: str) -> str:
    """The absolute URL of a stored file (S3's own; local files under SITE_URL)."""
    url = default_storage.url(name)
    if url.startswith("/"):
        url = settings.SITE_URL + url
    return url


class ImagesColumn:
    column = "images"

    def parse(self, raw: str) -> ImageUrls:
        urls: dict[str, None] = {}
        alts: dict[str, str] = {}
        for part in raw.split("|"):
            url, _, alt = part.partition(ALT_SEPARATOR)
            url = url.strip()
            if not url:
                continue
            if len(url) > URL_MAX:
                raise ValidationError(ERROR_IMAGE_URL_LONG.format(length=len(url)))
            parts = urlsplit(url)
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise ValidationError(ERROR_IMAGE_URL.format(url=url[:80]))
            urls.setdefault(url, None)
            if alt.strip():
                alts.setdefault(url, alt.strip()[:255])
        return ImageUrls(urls, alts)

    def current(self, product_ids: Sequence[int]) -> dict[int, ImageUrls]:
        """Each product's images as URLs, in position order: its images, then URLs still pending."""
        found: dict[int, list[str]] = {}
        for chunk in _chunks(list(product_ids), CHUNK):
            for pk, name, source in (
                ProductImage.objects.filter(product_id__in=chunk)
                .order_by("product_id", "position", "id")
                .values_list("product_id", "image", "source_url")
            ):
                found.setdefault(pk, []).append(source or image_storage_url(name))
            for pk, url in (
                ProductImageSource.objects.filter(product_id__in=chunk)
                .exclude(state=ProductImageSource.State.DONE)
                .order_by("product_id", "position", "id")
                .values_list("product_id", "url")
            ):
                if url not in found.get(pk, ()):
                    found.setdefault(pk, []).append(url)
        return {pk: ImageUrls(urls) for pk, urls in found.items()}

    def empty(self) -> ImageUrls:
        return ImageUrls()

    def render(self, value: Iterable[str]) -> str:
        return "|".join(value)

    def notes(self, values: Iterable[ImageUrls]) -> list[str]:
        count = sum(len(value) for value in values)
        return [NOTE_IMAGES.format(count=count)] if count else []

    def write(self, values: dict[int, ImageUrls]) -> None:
        """Add the URLs each product lacks; enqueue their fetches once the import commits."""
        job_id = import_job_id.get()
        items = [
            (pk, url, position, value.alts.get(url, ""))
            for pk, value in values.items()
            for position, url in enumerate(value)
        ]
        for chunk in _chunks(items, CHUNK):
            ProductImageSource.objects.bulk_create(
                [
                    ProductImageSource(
                        product_id=pk,
                        url=url,
                        url_hash=url_hash(url),
                        position=position,
                        alt_text=alt,
                        import_job_id=job_id,
                    )
                    for pk, url, position, alt in chunk
                ],
                ignore_conflicts=True,
                batch_size=CHUNK,
            )
        product_ids = list(values)
        transaction.on_commit(lambda: image_sources_enqueue(product_ids=product_ids), robust=True)


def image_sources_enqueue(*, product_ids: Sequence[int]) -> int:
    """Enqueue one fetch task per pending source of these products that has no image yet."""
    from store.tasks import product_image_fetch

    count = 0
    for chunk in _chunks(list(product_ids), CHUNK):
        pending = ProductImageSource.objects.filter(
            product_id__in=chunk, state=ProductImageSource.State.PENDING, attempts=0
        ).values_list("id", flat=True)
        for source_id in pending:
            product_image_fetch.enqueue(source_id, 1)
            count += 1
    return count


status_column = StatusColumn()
images_column = ImagesColumn()
