"""Product image files: what we accept, checked with Pillow before anything is stored.

Uploads (and, later, fetched URLs) are untrusted bytes. ``image_inspect`` refuses, with
a message naming the file and the reason:

- files over ``PRODUCT_IMAGE_MAX_BYTES`` (checked before a byte is decoded);
- SVG (it can carry script) and anything Pillow cannot identify;
- formats other than JPEG, PNG, WebP and GIF;
- more than ``PRODUCT_IMAGE_MAX_PIXELS`` pixels, read from the header before the pixels
  are decoded (a 50,000 × 50,000 PNG is a few KB on disk and 10 GB in memory);
- files Pillow cannot verify or decode (truncated, corrupt).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from PIL import Image

logger = logging.getLogger(__name__)

# Pillow format name -> file extension we store it under.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
ACCEPT = "image/jpeg,image/png,image/webp,image/gif"

IMAGE_EMPTY = "“%(name)s” is empty."
IMAGE_TOO_LARGE = "“%(name)s” is %(size)s; an image may be at most %(limit)s."
IMAGE_SVG = (
    "“%(name)s” is an SVG image. SVG is not accepted because it can carry scripts; upload a JPEG, PNG, WebP or GIF."
)
IMAGE_NOT_AN_IMAGE = "“%(name)s” is not an image (JPEG, PNG, WebP or GIF expected)."
IMAGE_FORMAT = "“%(name)s” is a %(format)s image; only JPEG, PNG, WebP and GIF are accepted."
IMAGE_TOO_MANY_PIXELS = "“%(name)s” is %(width)s × %(height)s pixels; an image may have at most %(limit)s megapixels."
IMAGE_BOMB = "“%(name)s” declares far more pixels than an image may have (at most %(limit)s megapixels)."
IMAGE_DAMAGED = "“%(name)s” is damaged or truncated and cannot be read (%(reason)s)."

# SVG and SVGZ, by name or by content (an XML prologue or an <svg> tag near the start).
SVG_SUFFIXES = (".svg", ".svgz")
SNIFF_BYTES = 1024


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return ALLOWED_FORMATS[self.format]


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g}"


# The attribute of the file object that remembers its ImageInfo (see image_inspect).
_INFO_ATTRIBUTE = "_product_image_info"


def _looks_like_svg(name: str, head: bytes) -> bool:
    if name.lower().endswith(SVG_SUFFIXES):
        return True
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<") and b"<svg" in text


def image_inspect(*, file: IO[bytes], name: str) -> ImageInfo:
    """Check an uploaded or fetched image file; return its format and size in pixels.

    Raises ``ValidationError`` (code and message naming ``name``) for anything we do
    not store. The result is remembered on the file object, so the form and the
    service that both check an upload decode it once.
    """
    cached = getattr(file, _INFO_ATTRIBUTE, None)
    if cached is not None:
        return cached
    params = {"name": name}
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    if size == 0:
        raise ValidationError(IMAGE_EMPTY, code="empty", params=params)
    if size > limit:
        raise ValidationError(
            IMAGE_TOO_LARGE,
            code="too_large",
            params={**params, "size": filesizeformat(size), "limit": filesizeformat(limit)},
        )
    file.seek(0)
    if _looks_like_svg(name, file.read(SNIFF_BYTES)):
        raise ValidationError(IMAGE_SVG, code="svg", params=params)
    max_pixels = settings.PRODUCT_IMAGE_MAX_PIXELS
    info = _open_and_verify(file, name=name, max_pixels=max_pixels)
    file.seek(0)
    with contextlib.suppress(AttributeError):  # objects with __slots__: just do not cache
        setattr(file, _INFO_ATTRIBUTE, info)
    return info


def _open_and_verify(file: IO[bytes], *, name: str, max_pixels: int) -> ImageInfo:
    params = {"name": name, "limit": _megapixels(max_pixels)}
    # Pillow parses untrusted bytes here and may raise almost any exception type on
    # junk (SyntaxError, struct.error, EOFError, ValueError...): each one means "damaged".
    with warnings.catch_warnings():
        # We enforce our own, lower, pixel limit below; Pillow's warning adds nothing.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        file.seek(0)
        try:
            image = Image.open(file)
        except Image.DecompressionBombError:
            raise ValidationError(IMAGE_BOMB, code="too_many_pixels", params=params) from None
        except Image.UnidentifiedImageError:
            raise ValidationError(IMAGE_NOT_AN_IMAGE, code="not_an_image", params=params) from None
        except Exception as error:
            raise _damaged(name, error) from error
        with image:
            if image.format not in ALLOWED_FORMATS:
                raise ValidationError(IMAGE_FORMAT, code="format", params={**params, "format": image.format})
            width, height = image.size
            if width * height > max_pixels:
                raise ValidationError(
                    IMAGE_TOO_MANY_PIXELS, code="too_many_pixels", params={**params, "width": width, "height": height}
                )
            info = ImageInfo(format=image.format, width=width, height=height)
            try:
                image.verify()
            except Exception as error:
                raise _damaged(name, error) from error
        # verify() leaves the image unusable and does not decode every format's
        # pixels (a truncated JPEG passes it): decode once, JPEGs at 1/8 scale.
        file.seek(0)
        try:
            with Image.open(file) as image:
                if image.format == "JPEG":
                    image.draft("RGB", (max(width // 8, 1), max(height // 8, 1)))
                image.load()
        except Exception as error:
            raise _damaged(name, error) from error
    return info


def _damaged(name: str, error: Exception) -> ValidationError:
    reason = str(error) or type(error).__name__
    logger.info("Refused damaged image %r: %s", name, reason)
    return ValidationError(IMAGE_DAMAGED, code="damaged", params={"name": name, "reason": reason})
