"""Product image thumbnails: made by a worker after the image row commits.

``product_image_save`` (``store.images.services``) calls ``thumbnail_schedule``; the
``product_image_thumbnail`` task runs ``product_image_make_thumbnail`` on a worker.
"""

from __future__ import annotations

import io
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django_tasks import task
from PIL import Image, ImageOps

from store.models import ProductImage

logger = logging.getLogger(__name__)


def thumbnail_schedule(*, image_id: int) -> None:
    """Enqueue the thumbnail task once the image row is committed (a worker makes it).

    ``robust``: a queue that cannot be reached loses the thumbnail (logged; the admin
    shows the original until ``product_image_make_thumbnail`` runs again), never the save.
    """
    transaction.on_commit(lambda: product_image_thumbnail.enqueue(image_id), robust=True)


def product_image_make_thumbnail(*, image_id: int) -> bool:
    """Make (or remake) the thumbnail of one image through the storage API; True when made.

    A WebP no larger than PRODUCT_THUMBNAIL_SIZE on its longest side, upright (EXIF
    orientation applied), transparency kept. Idempotent and safe to retry: the new name
    is written only if the row still holds the same original, and a thumbnail made for
    an image deleted or replaced meanwhile is removed again.
    """
    image = ProductImage.objects.filter(pk=image_id).first()
    if image is None or not image.image:
        return False
    original, previous = image.image.name, image.thumbnail.name
    size = settings.PRODUCT_THUMBNAIL_SIZE
    try:
        with image.image.open("rb") as stored, Image.open(stored) as picture:
            if picture.width * picture.height > settings.PRODUCT_IMAGE_MAX_PIXELS:
                logger.warning("Image %s is too large to thumbnail (%s)", image_id, picture.size)
                return False
            if picture.format == "JPEG":
                picture.draft("RGB", (size * 2, size * 2))
            thumbnail = ImageOps.exif_transpose(picture)
            thumbnail.thumbnail((size, size), Image.Resampling.LANCZOS)
            has_alpha = thumbnail.mode in ("RGBA", "LA", "PA") or "transparency" in thumbnail.info
            thumbnail = thumbnail.convert("RGBA" if has_alpha else "RGB")
            buffer = io.BytesIO()
            thumbnail.save(buffer, "WEBP", quality=80, method=4)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        logger.warning("Could not make a thumbnail of image %s (%s): %s", image_id, original, error)
        return False
    stem = original.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    field = ProductImage._meta.get_field("thumbnail")
    name = field.storage.save(field.generate_filename(image, f"{stem}.webp"), ContentFile(buffer.getvalue()))
    if not ProductImage.objects.filter(pk=image_id, image=original).update(thumbnail=name):
        field.storage.delete(name)
        return False
    if previous and previous != name:
        field.storage.delete(previous)
    return True


@task()
def product_image_thumbnail(image_id: int) -> bool:
    """Make the thumbnail of ProductImage ``image_id`` (idempotent; a deleted image is skipped)."""
    return product_image_make_thumbnail(image_id=image_id)
