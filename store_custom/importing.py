"""The ``tags`` column of product imports and exports.

store knows nothing of tags: this column registers with store's product columns
(``register_column`` in ``StoreCustomConfig.ready``) and is imported, exported and
previewed like store's own. A cell holds comma-separated labels; importing it
replaces the product's tags (in bulk, inside the import transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from store.fileformat.columns import ProductColumn
from store.models import Product
from store.sql import CHUNK, ID_LIST_CHUNK, chunks
from store_custom.selectors import product_tag_labels, product_tags_any
from tags.models import Tag, TaggedItem

TAG_MAX_LENGTH: int = Tag._meta.get_field("label").max_length or 0
ERROR_TAG_TOO_LONG = "tag {label!r} is too long: at most {limit} characters"
NOTE_NEW_TAGS = "{count} new tag(s) will be created: {labels}"
NOTES_SHOWN = 20

Labels = tuple[str, ...]


class ProductTagsColumn(ProductColumn):
    name, label = "tags", "Tags"
    synonyms = ("tag", "labels", "keywords")

    def _content_type(self) -> ContentType:
        return ContentType.objects.get_for_model(Product)

    def parse(self, raw: str) -> Labels:
        labels: dict[str, str] = {}
        for part in raw.split(","):
            label = " ".join(part.split())
            if label.startswith("'") and label[1:2] in ("=", "+", "-", "@"):
                label = label[1:]
            if not label:
                continue
            if len(label) > TAG_MAX_LENGTH:
                raise ValidationError(ERROR_TAG_TOO_LONG.format(label=label[:40], limit=TAG_MAX_LENGTH))
            labels.setdefault(label.casefold(), label)
        return tuple(sorted(labels.values(), key=str.casefold))

    def empty(self) -> Labels:
        return ()

    def same(self, first: Any, second: Any) -> bool:
        """Labels match tags case-insensitively ("Eco" is the tag "eco")."""
        return [label.casefold() for label in first or ()] == [label.casefold() for label in second or ()]

    def render(self, value: Any) -> str:
        return ", ".join(value or ())

    def current(self, product_ids: Sequence[int]) -> dict[int, Labels]:
        """The products' labels, sorted case-insensitively; untagged products are left out."""
        found: dict[int, Labels] = {}
        for chunk in chunks(list(product_ids), ID_LIST_CHUNK):
            for pk, labels in product_tag_labels(product_ids=chunk).items():
                if labels:
                    found[pk] = tuple(sorted(labels, key=str.casefold))
        return found

    def export_any(self) -> bool:
        return product_tags_any()

    def _tag_ids(self, labels: Iterable[str]) -> dict[str, int]:
        wanted = sorted({label.casefold(): label for label in labels}.values())
        ids: dict[str, int] = {}
        for chunk in chunks(wanted, CHUNK):
            ids.update(
                (label.casefold(), pk) for pk, label in Tag.objects.filter(label__in=chunk).values_list("id", "label")
            )
        return ids

    def notes(self, values: Iterable[Any]) -> list[str]:
        labels = {label.casefold(): label for value in values for label in value}
        if not labels:
            return []
        known = self._tag_ids(labels.values())
        new = sorted((label for key, label in labels.items() if key not in known), key=str.casefold)
        if not new:
            return []
        shown = ", ".join(new[:NOTES_SHOWN]) + (" …" if len(new) > NOTES_SHOWN else "")
        return [NOTE_NEW_TAGS.format(count=len(new), labels=shown)]

    def write(self, values: dict[int, Any]) -> None:
        content_type = self._content_type()
        all_labels = {label.casefold(): label for value in values.values() for label in value}
        ids = self._tag_ids(all_labels.values())
        missing = [label for key, label in all_labels.items() if key not in ids]
        if missing:
            Tag.objects.bulk_create([Tag(label=label) for label in missing], batch_size=CHUNK, ignore_conflicts=True)
            ids = self._tag_ids(all_labels.values())
        for chunk in chunks(list(values), CHUNK):
            TaggedItem.objects.filter(content_type=content_type, object_id__in=chunk).delete()
        TaggedItem.objects.bulk_create(
            [
                TaggedItem(tag_id=ids[label.casefold()], content_type=content_type, object_id=pk)
                for pk, labels in values.items()
                for label in labels
            ],
            batch_size=CHUNK,
            ignore_conflicts=True,
        )


product_tags_column = ProductTagsColumn()
