"""Reads about product images: what the product page says of the image URLs still being fetched
or that failed (``product_image_fetch_notes``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, CharField, Count, F, Value, When

from store.models import ProductImageSource

NOTES_SHOWN = 20


@dataclass(frozen=True)
class ImageFetchNote:
    """``count`` image URLs of one import (``import_job_id``, None once the job is gone) that are
    still being fetched (``pending``) or could not be (``failed``, with the ``reason``).
    ``uploader_id``: who uploaded that import (the admin links to it for those who may see it)."""

    state: str
    count: int
    import_job_id: int | None
    uploader_id: int | None
    reason: str

    @property
    def failed(self) -> bool:
        return self.state == ProductImageSource.State.FAILED


def product_image_fetch_notes(*, product_id: int) -> list[ImageFetchNote]:
    """The product's image URLs still being fetched or failed, one note per import (and per
    reason, for the failed ones), the failed first, newest import first, at most NOTES_SHOWN.
    One query, whatever the number of URLs or imports (the product's index, grouped)."""
    reason = Case(
        When(state=ProductImageSource.State.FAILED, then=F("error")),
        default=Value(""),
        output_field=CharField(),
    )
    rows = (
        ProductImageSource.objects.filter(
            product_id=product_id,
            state__in=[ProductImageSource.State.PENDING, ProductImageSource.State.FAILED],
        )
        .annotate(reason=reason)
        .values("state", "import_job_id", "import_job__user_id", "reason")
        .annotate(count=Count("id"))
        .order_by("state", F("import_job_id").desc(nulls_last=True), "reason")[:NOTES_SHOWN]
    )
    return [
        ImageFetchNote(
            state=row["state"],
            count=row["count"],
            import_job_id=row["import_job_id"],
            uploader_id=row["import_job__user_id"],
            reason=row["reason"],
        )
        for row in rows
    ]
