"""Writes of product images: the upload checks, a random name, the thumbnail task.

The admin's image inline, the URL fetcher (``store.images.fetch``) and the demo set-up call
these; they live beside the inspection and the thumbnails they run.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from store.images.inspect import image_inspect
from store.images.thumbnails import thumbnail_schedule
from store.models import ProductImage


@transaction.atomic
def product_image_save(*, image: ProductImage) -> ProductImage:
    """Save a new or edited product image; a new file is checked, renamed and thumbnailed.

    A new file (an upload or fetched bytes not yet in storage) must pass
    ``store.images.inspect.image_inspect``; it is stored under a random name with the extension of
    its real format, and its width and height are recorded. Raises ``ValidationError``.
    """
    new_file = bool(image.image) and not image.image._committed
    if new_file:
        upload = image.image.file
        info = image_inspect(file=upload, name=image.image.name)
        image.image.name = f"{uuid.uuid4().hex}.{info.extension}"
        image.width, image.height = info.width, info.height
        image.thumbnail = ""
    image.full_clean()
    image.save()
    if new_file:
        thumbnail_schedule(image_id=image.pk)
    return image


def product_image_delete(*, image: ProductImage) -> None:
    """Delete the row; its files go once the deletion commits (receivers.delete_image_files)."""
    image.delete()
