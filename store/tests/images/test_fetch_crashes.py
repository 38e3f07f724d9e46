"""Image fetches whose worker dies (issue 19 item 2): the image and its source's state commit
together, and a fetch killed mid-download is queued again by housekeeping (as a new attempt)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

from store.housekeeping import housekeeping
from store.images import fetch
from store.models import ProductImage, ProductImageSource
from store.tests.crash import ProcessKilled, die_after_commit
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def source():
    product = ProductFactory()
    return ProductImageSource.objects.create(
        product=product, url="https://images.example.com/a.png", url_hash="a" * 64, alt_text="A"
    )


def served(url: str) -> fetch.Fetched:
    return fetch.Fetched(url=url, data=png())


def test_a_fetch_killed_after_its_commit_has_its_image_and_its_state(source, monkeypatch):
    monkeypatch.setattr(fetch, "fetch_image", served)
    die_after_commit(monkeypatch, fetch, "product_image_save")

    with pytest.raises(ProcessKilled):
        fetch.image_source_fetch(source_id=source.pk, attempt=1)

    source.refresh_from_db()
    assert source.state == ProductImageSource.State.DONE
    assert source.image == ProductImage.objects.get(product=source.product)
    later = timezone.now() + timedelta(seconds=settings.IMAGE_FETCH_STALE_AFTER + 1)
    assert housekeeping(now=later)["stale_image_fetches"] == 0  # nothing left to do


def test_a_fetch_killed_mid_download_is_fetched_again_after_housekeeping(source, monkeypatch):
    def killed(url: str) -> fetch.Fetched:
        raise ProcessKilled

    monkeypatch.setattr(fetch, "fetch_image", killed)
    with pytest.raises(ProcessKilled):
        fetch.image_source_fetch(source_id=source.pk, attempt=1)
    source.refresh_from_db()
    assert (source.state, source.attempts) == (ProductImageSource.State.PENDING, 1)

    monkeypatch.setattr(fetch, "fetch_image", served)
    later = timezone.now() + timedelta(seconds=settings.IMAGE_FETCH_STALE_AFTER + 1)
    assert housekeeping(now=later)["stale_image_fetches"] == 1  # the immediate backend runs it

    source.refresh_from_db()
    assert (source.state, source.attempts) == (ProductImageSource.State.DONE, 2)
    assert ProductImage.objects.filter(product=source.product).count() == 1
