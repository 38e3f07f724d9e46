"""Revert a finished import from the change history it wrote.

    report = import_revert_preview(job=job)                      # reads only
    outcome = import_revert(job=job, user=u, skip_changed=False)  # RevertOutcome, or RevertRefused

An import writes one history row per product it touched, with the reason
"Import #N (file)": "+" for the products it created, "~" (after a baseline of the
state before) for the ones it updated. A revert walks those rows in chunks of
``CHUNK`` (bounded memory for 100k-row imports) and, in one transaction:

- puts every field of an updated product back to its value before the import
  (the product's previous history row), with the version claim of every other write;
- deletes the products the import created, unless an order, a cart, a collection
  (featured product) or a later change refers to them: those are kept and listed;
- refuses, by default, when a product was changed since the import (a later history
  row: its version moved) or deleted since: they are listed with both values, and
  ``skip_changed`` reverts the others.

The revert is recorded as an ImportJob of its own ("Revert of import #N", history
reason the same), so it shows in the import history and can be reverted in turn
(products it deleted are re-created from their "-" history rows). An import is
reverted at most once (ImportRevert.import_job is unique).

Tags, promotions (and other apps' columns whose ``write()`` replaces the value) are not in the
product history: an import records the values it replaced (``store.importing.related``) and the
revert writes them back, refusing as above when they changed since. The image URLs an import
added to a product it updated are removed with their images (the sources point to the import's
job). Imports written before those records existed (no ``related_recorded`` option) revert
their product fields only, and the preview says so.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from store import extensions
from store.audit import audit_event
from store.fileformat.columns import CORE_COLUMNS
from store.importing.related import (
    RELATED_RECORDED,
    RelatedChange,
    related_changes_of,
    related_current,
    related_values_keep,
    related_values_write,
)
from store.importing.service import import_job_reconcile
from store.models import (
    CartItem,
    Collection,
    ImportJob,
    ImportRevert,
    OrderItem,
    Product,
    ProductImage,
    ProductImageSource,
)
from store.search.services import search_index_delete, search_index_refresh
from store.services import User, product_history_insert
from store.sql import execute_many, quote, select_in
from store.variants.rollup import variant_parents_sync

logger = logging.getLogger(__name__)

CHUNK = 1000
SAMPLE_SIZE = 20
LISTED = 100
# The fields an import writes; a revert restores them.
FIELDS = (
    *(column.field for column in CORE_COLUMNS if column.field and column.field not in ("sku", "parent_id")),
    # a product an import gave options (with variants) goes back to being sold as it was
    "structure",
)
REVERTIBLE = (ImportJob.STATUS_SUCCEEDED, ImportJob.STATUS_PARTIAL)

REVERT_REASON = "Revert of import #{pk}"
ERROR_NOT_REVERTIBLE = "Import #{pk} wrote nothing ({status}), so there is nothing to revert."
ERROR_ALREADY_REVERTED = "Import #{pk} was already reverted ({by})."
ERROR_CHANGED = (
    "{count} product(s) changed since the import; nothing was reverted. "
    "Revert the others with --skip-changed (in the admin: the checkbox)."
)
ERROR_CONFLICT = "{count} product(s) were saved by someone else while the revert ran; nothing was reverted."
ERROR_INTEGRITY = "The database refused the revert ({error}); nothing was reverted."
WHY_ORDER = "in an order"
WHY_CART = "in a cart"
WHY_FEATURED = "featured product of a collection"
WHY_CHANGED = "changed since the import"
WHY_RELATED_CHANGED = "its {columns} changed since the import"
IMAGES_ADDED = "images added by the import"
NOTE_NOT_RECORDED = (
    "Import #{pk} ran before imports recorded the tags and promotions they replace: a revert puts back "
    "its product fields and removes the images it added, and leaves tags and promotions as they are."
)
WHY_DELETED = "deleted since the import"
WHY_NO_BASELINE = "no history row before the import"
WHY_TAKEN = "its SKU or slug is now used by another product"
WHY_VARIANTS_KEPT = "some of its variants are kept"

HistoricalProduct = Product.history.model
# simple-history builds that model class at runtime (its fields and the annotations this module
# adds, such as ``changed_since``), so type checkers cannot know its attributes.
HistoricalRow: TypeAlias = Any


class RevertRefused(ValidationError):
    def __init__(self, message: str, report: RevertReport):
        super().__init__(message, code="refused")
        self.report = report


@dataclass
class RevertItem:
    product_id: int
    sku: str
    title: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (name, now, after the revert)
    why: str = ""


@dataclass
class RevertReport:
    job_id: int
    #: said on the preview: what this revert cannot put back (an import older than the related records)
    notes: list[str] = field(default_factory=list)
    rows: int = 0  # history rows of the import
    restore: int = 0
    delete: int = 0
    recreate: int = 0
    kept: int = 0
    changed: int = 0
    sample: list[RevertItem] = field(default_factory=list)
    kept_items: list[RevertItem] = field(default_factory=list)
    changed_items: list[RevertItem] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return self.restore + self.delete + self.recreate

    def note(self, kind: str, item: RevertItem) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if kind in ("restore", "delete", "recreate") and len(self.sample) < SAMPLE_SIZE:
            self.sample.append(item)
        elif kind == "kept" and len(self.kept_items) < LISTED:
            self.kept_items.append(item)
        elif kind == "changed" and len(self.changed_items) < LISTED:
            self.changed_items.append(item)


@dataclass
class RevertOutcome:
    job: ImportJob  # the revert's own entry in the import history
    report: RevertReport


# --- Which history rows an import wrote -------------------------------------------------


def _history_filter(job: ImportJob) -> Q:
    reverted = ImportRevert.objects.filter(revert_job=job).values_list("import_job_id", flat=True).first()
    if reverted is not None:
        reason = Q(history_change_reason=REVERT_REASON.format(pk=reverted))
    else:
        reason = Q(history_change_reason__startswith=f"Import #{job.pk} (")
    # history_date is indexed: it keeps the scan to the import's time window.
    window = Q(history_date__gte=job.created_at)
    if job.finished_at is not None:
        window &= Q(history_date__lte=job.finished_at)
    return reason & window


def _history_chunks(job: ImportJob) -> Iterator[list[HistoricalRow]]:
    earlier = HistoricalProduct.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
    later = HistoricalProduct.objects.filter(id=OuterRef("id"), history_id__gt=OuterRef("history_id"))
    rows = (
        HistoricalProduct.objects.filter(_history_filter(job))
        .annotate(
            previous_id=Subquery(earlier.order_by("-history_id").values("history_id")[:1]),
            changed_since=Exists(later),
        )
        .order_by("history_id")
    )
    last = 0
    while True:
        chunk = list(rows.filter(history_id__gt=last)[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].history_id


def _check_revertible(job: ImportJob) -> None:
    import_job_reconcile(job=job)  # one its process left "writing" after it wrote: what it wrote
    if job.status not in REVERTIBLE:
        raise ValidationError(
            ERROR_NOT_REVERTIBLE.format(pk=job.pk, status=job.get_status_display().lower()), code="not_revertible"
        )
    done = ImportRevert.objects.filter(import_job=job).first()
    if done is not None:
        raise _already_reverted(job, done)


def _already_reverted(job: ImportJob, done: ImportRevert) -> ValidationError:
    by = f"import #{done.revert_job_id}" if done.revert_job_id else "earlier"
    return ValidationError(ERROR_ALREADY_REVERTED.format(pk=job.pk, by=by), code="already_reverted")


# --- Planning one chunk -----------------------------------------------------------------


@dataclass
class _ChunkPlan:
    restores: list[tuple[Product, HistoricalRow]] = field(default_factory=list)
    deletes: list[Product] = field(default_factory=list)
    recreates: list[HistoricalRow] = field(default_factory=list)
    #: tags, promotions…: the values before the import, written back (restored and re-created products)
    related: list[RelatedChange] = field(default_factory=list)
    #: the image sources the import added to products it updated: removed with their images
    image_sources: list[int] = field(default_factory=list)
    #: restored products whose fields were left as they are (only their tags, promotions or images go back):
    #: they get a history row too, so that reverting the revert finds them
    related_only: list[Product] = field(default_factory=list)


def _show(value: object) -> str:
    return "—" if value is None or value == "" else str(value)


def _collection_titles(ids: Iterable[int | None]) -> dict[int, str]:
    return dict(Collection.objects.filter(pk__in={pk for pk in ids if pk}).values_list("pk", "title"))


def _diff(before: HistoricalRow, now: dict[str, Any], titles: dict[int, str]) -> list[tuple[str, str, str]]:
    """(field, value now, value before the import) for each field that differs."""
    shown = []
    for name in FIELDS:
        old, new = now[name], getattr(before, name)
        if old != new:
            if name == "collection_id":
                shown.append(("collection", titles.get(old, _show(old)), titles.get(new, _show(new))))
            else:
                shown.append((name, _show(old), _show(new)))
    return shown


def _related_diff(
    changes: list[RelatedChange], current: dict[str, dict[int, Any]]
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(field, value now, value before the import) of each recorded change, and the columns changed since."""
    shown, moved = [], []
    for change in changes:
        column = change.column
        now = current.get(column.name, {}).get(change.product_id, column.empty())
        if not column.same(now, change.after):
            moved.append(column.name)
        shown.append((column.name, _show(column.render(now)), _show(column.render(change.before))))
    return shown, moved


def _added_images(job: ImportJob, product_ids: list[int]) -> dict[int, list[int]]:
    """The image sources ``job`` added to these products: {product id: [source id]}."""
    found: dict[int, list[int]] = {}
    if product_ids:
        sources = ProductImageSource.objects.filter(import_job=job, product_id__in=product_ids)
        for source_id, product_id in sources.values_list("id", "product_id"):
            found.setdefault(product_id, []).append(source_id)
    return found


def _plan_chunk(rows: list[HistoricalRow], report: RevertReport, *, job: ImportJob, lock: bool) -> _ChunkPlan:
    ids = [row.id for row in rows]
    products = Product.objects.filter(pk__in=ids)
    if lock:
        products = products.select_for_update()
    current = {product.pk: product for product in products}
    previous = {
        row.history_id: row
        for row in HistoricalProduct.objects.filter(history_id__in=[row.previous_id for row in rows if row.previous_id])
    }
    created = [row.id for row in rows if row.history_type == "+" and row.id in current]
    referenced: dict[int, str] = {}
    # Raw IN lists (select_in): a 1,000-value __in through the ORM costs ~10 ms of Python each.
    for model, column, why in (
        (OrderItem, "product_id", WHY_ORDER),
        (CartItem, "product_id", WHY_CART),
        (Collection, "featured_product_id", WHY_FEATURED),
    ):
        for (pk,) in select_in(model, (column,), column, created):
            referenced.setdefault(pk, why)
    recreating = [row for row in rows if row.history_type == "-" and row.id not in current]
    taken = (
        set(
            Product.objects.filter(
                Q(sku__in=[r.sku for r in recreating]) | Q(slug__in=[r.slug for r in recreating])
            ).values_list("sku", "slug")
        )
        if recreating
        else set()
    )
    taken_values = {value for pair in taken for value in pair}
    titles = _collection_titles(
        [p.collection_id for p in current.values()] + [h.collection_id for h in previous.values()]
    )
    undone = [row.id for row in rows if row.history_type != "+"]  # restored or re-created: their related values
    related = related_changes_of(job_id=job.pk, product_ids=undone)
    related_now = related_current(change for changes in related.values() for change in changes)
    images = _added_images(job, [row.id for row in rows if row.history_type == "~" and row.id in current])
    plan = _ChunkPlan()
    for row in rows:
        product = current.get(row.id)
        item = RevertItem(product_id=row.id, sku=row.sku, title=row.title)
        if row.history_type == "+":
            if product is None:
                continue  # already gone: nothing to undo
            kept_why = WHY_CHANGED if row.changed_since else referenced.get(row.id)
            if kept_why:
                item.why = kept_why
                report.note("kept", item)
            else:
                item.fields = [("product", "exists", "deleted")]
                report.note("delete", item)
                plan.deletes.append(product)
        elif row.history_type == "-":
            if product is not None or row.changed_since or row.sku in taken_values or row.slug in taken_values:
                item.why = WHY_CHANGED if product is not None or row.changed_since else WHY_TAKEN
                report.note("changed", item)
            else:
                item.fields = [("product", "deleted", "re-created")]
                item.fields += [(c.column.name, "—", _show(c.column.render(c.before))) for c in related.get(row.id, [])]
                report.note("recreate", item)
                plan.recreates.append(row)
                plan.related.extend(related.get(row.id, []))
        else:
            before = previous.get(row.previous_id)
            changes = related.get(row.id, [])
            related_fields, moved = _related_diff(changes, related_now) if product is not None else ([], [])
            if product is None or before is None or row.changed_since or moved:
                item.why = (
                    WHY_DELETED
                    if product is None
                    else WHY_NO_BASELINE
                    if before is None
                    else WHY_CHANGED
                    if row.changed_since
                    else WHY_RELATED_CHANGED.format(columns=", ".join(moved))
                )
                if product is not None and before is not None:
                    item.fields = _diff(before, {name: getattr(product, name) for name in FIELDS}, titles)
                item.fields += related_fields
                report.note("changed", item)
                continue
            field_changes = _diff(before, {name: getattr(product, name) for name in FIELDS}, titles)
            added = images.get(row.id, [])
            item.fields = field_changes + related_fields
            if added:
                item.fields.append((IMAGES_ADDED, str(len(added)), "removed"))
            if item.fields:
                report.note("restore", item)
            if field_changes:
                plan.restores.append((product, before))
            elif changes or added:
                plan.related_only.append(product)
            plan.related.extend(changes)
            plan.image_sources.extend(added)
    return plan


def import_revert_preview(*, job: ImportJob) -> RevertReport:
    """What ``import_revert`` would do now. Reads only; raises ValidationError when not revertible."""
    _check_revertible(job)
    report = _new_report(job)
    parents: list[Product] = []
    deleted: set[int] = set()
    for rows in _history_chunks(job):
        report.rows += len(rows)
        plan = _plan_chunk(rows, report, job=job, lock=False)
        parents.extend(product for product in plan.deletes if product.is_parent)
        deleted.update(product.pk for product in plan.deletes if not product.is_parent)
    if parents:
        _parents_going(parents, report, deleted=deleted)
    return report


def _new_report(job: ImportJob) -> RevertReport:
    report = RevertReport(job_id=job.pk)
    if not job.options.get(RELATED_RECORDED):
        report.notes.append(NOTE_NOT_RECORDED.format(pk=job.pk))
    return report


# --- Writing --------------------------------------------------------------------------


def _restore(restores: list[tuple[Product, HistoricalRow]], now: datetime) -> None:
    sets = ", ".join(f"{quote(name)} = %s" for name in FIELDS)
    sql = (
        f"UPDATE {quote(Product._meta.db_table)} SET {sets}, {quote('last_update')} = %s, "
        f"{quote('version')} = {quote('version')} + 1 WHERE {quote('id')} = %s AND {quote('version')} = %s"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    params = [
        (*(getattr(before, name) for name in FIELDS), moment, product.pk, product.version)
        for product, before in restores
    ]
    claimed = execute_many(sql, params)
    if claimed != len(restores):
        raise ValidationError(ERROR_CONFLICT.format(count=len(restores) - max(claimed, 0)), code="conflict")
    search_index_refresh(product_ids=[product.pk for product, _before in restores])


def _remove_images(source_ids: list[int]) -> None:
    """Image sources an import added, and the images fetched from them (files once the revert commits)."""
    image_ids = [
        pk for pk in ProductImageSource.objects.filter(pk__in=source_ids).values_list("image_id", flat=True) if pk
    ]
    ProductImageSource.objects.filter(pk__in=source_ids).delete()
    ProductImage.objects.filter(pk__in=image_ids).delete()


def _delete(products: list[Product], *, user: User, reason: str, now: datetime, revert_job: ImportJob) -> None:
    ids = [product.pk for product in products]
    # Their tags and promotions, so that reverting this revert re-creates the products whole.
    related_values_keep(job_id=revert_job.pk, product_ids=ids)
    product_history_insert(products=products, user=user, reason=reason, history_type="-", date=now)
    Product.promotions.through.objects.filter(product_id__in=ids).delete()
    # Images the import fetched for its new products: rows now, files once the revert commits.
    ProductImageSource.objects.filter(product_id__in=ids).delete()
    ProductImage.objects.filter(product_id__in=ids).delete()
    # Raw SQL sends no post_delete: apps holding generic references (tags) drop theirs here.
    extensions.products_deleted(product_ids=ids)
    search_index_delete(product_ids=ids)
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        # Raw on purpose: Django's delete() would load each row and send two signals per product.
        cursor.execute(f"DELETE FROM {quote(Product._meta.db_table)} WHERE {quote('id')} IN ({placeholders})", ids)
    # Products that keep their other variants: sent again by the sync feed, no longer found by
    # the deleted variants' SKUs (as ``variant_services.variant_delete`` does for one variant).
    kept_parents = sorted({product.parent_id for product in products if product.parent_id} - set(ids))
    if kept_parents:
        Product.objects.filter(pk__in=kept_parents).update(last_update=now)
        search_index_refresh(product_ids=kept_parents)


def _parents_going(parents: list[Product], report: RevertReport, *, deleted: set[int]) -> list[Product]:
    """The products with variants the import created that go: not those that still have variants
    besides ``deleted`` (kept: an order refers to one, or one was added since); the report says so."""
    ids = [product.pk for product in parents]
    with_variants = {
        row.parent_id for row in select_in(Product, ("id", "parent_id"), "parent_id", ids) if row.id not in deleted
    }
    for product in parents:
        if product.pk in with_variants:
            report.delete -= 1
            report.sample = [item for item in report.sample if item.product_id != product.pk]
            report.note(
                "kept", RevertItem(product_id=product.pk, sku=product.sku, title=product.title, why=WHY_VARIANTS_KEPT)
            )
    return [product for product in parents if product.pk not in with_variants]


def _priced_by(rows: list[Any]) -> set[int]:
    """The products with variants whose price follows these rows (products or history rows):
    a variant's product, and a product with variants itself (``store.variants.rollup``)."""
    return {
        row.parent_id if row.structure == Product.Structure.VARIANT else row.id
        for row in rows
        if row.structure in (Product.Structure.VARIANT, Product.Structure.PARENT)
    }


def _restored(product: Product, before: HistoricalRow) -> Product:
    """The product as the restore wrote it (for its history row)."""
    restored = copy.copy(product)
    for name in FIELDS:
        setattr(restored, name, getattr(before, name))
    return restored


def _recreate(rows: list[HistoricalRow], now: datetime) -> list[Product]:
    tracked = [field.attname for field in HistoricalProduct.tracked_fields]
    products = [Product(**{name: getattr(row, name) for name in tracked}, version=1, last_update=now) for row in rows]
    Product.objects.bulk_create(products, batch_size=CHUNK)
    search_index_refresh(product_ids=[product.pk for product in products])  # bulk_create sends no post_save
    return products


def import_revert(
    *, job: ImportJob, user: User = None, skip_changed: bool = False, source: str = ImportJob.SOURCE_CLI
) -> RevertOutcome:
    """Revert ``job`` in one transaction; raise RevertRefused (nothing written) when products changed since."""
    started = time.monotonic()
    _check_revertible(job)
    reason = REVERT_REASON.format(pk=job.pk)
    report = _new_report(job)
    try:
        with transaction.atomic():
            revert_job = ImportJob.objects.create(
                user=user if isinstance(user, get_user_model()) and user.pk else None,
                source=source,
                file_name=reason,
                status=ImportJob.STATUS_SUCCEEDED,
                options={"reverts": job.pk, "skip_changed": skip_changed, RELATED_RECORDED: True},
            )
            # The unique import_job makes a concurrent second revert fail here.
            revert = ImportRevert.objects.create(import_job=job, revert_job=revert_job, user=revert_job.user)
            parents: list[Product] = []
            priced: set[int] = set()  # products with variants whose variants this revert writes
            for rows in _history_chunks(job):
                report.rows += len(rows)
                plan = _plan_chunk(rows, report, job=job, lock=True)
                if report.changed and not skip_changed:
                    continue  # keep counting, so the refusal lists everything; write nothing
                now = timezone.now()
                if plan.restores:
                    _restore(plan.restores, now)
                if plan.restores or plan.related_only:
                    product_history_insert(
                        products=[_restored(product, before) for product, before in plan.restores] + plan.related_only,
                        user=user,
                        reason=reason,
                        history_type="~",
                        date=now,
                    )
                # Products with variants go last, once their variants are gone (their rows point to them).
                parents.extend(product for product in plan.deletes if product.is_parent)
                deletes = [product for product in plan.deletes if not product.is_parent]
                if deletes:
                    _delete(deletes, user=user, reason=reason, now=now, revert_job=revert_job)
                if plan.recreates:
                    product_history_insert(
                        products=_recreate(plan.recreates, now), user=user, reason=reason, history_type="+", date=now
                    )
                written = [product for product, _before in plan.restores] + plan.deletes + plan.recreates
                priced.update(_priced_by(written))
                if plan.related:
                    related_values_write(job_id=revert_job.pk, changes=plan.related)
                if plan.image_sources:
                    _remove_images(plan.image_sources)
            if report.changed and not skip_changed:
                raise RevertRefused(ERROR_CHANGED.format(count=report.changed), report)
            # Once the variants are gone: those left are the ones kept.
            if going := _parents_going(parents, report, deleted=set()):
                _delete(going, user=user, reason=reason, now=timezone.now(), revert_job=revert_job)
            variant_parents_sync(parent_ids=priced)  # those gone are skipped
            _record(revert_job, revert, report, started)
    except IntegrityError as error:
        done = ImportRevert.objects.filter(import_job=job).first()
        if done is not None:  # a second revert of the same import, submitted at the same time: it lost
            raise _already_reverted(job, done) from error
        raise ValidationError(ERROR_INTEGRITY.format(error=error), code="integrity") from error
    except RevertRefused:
        audit_event("import.revert_refused", user=user, job_id=job.pk, changed=report.changed)
        raise
    audit_event(
        "import.revert",
        user=user,
        job_id=job.pk,
        revert_job_id=revert_job.pk,
        restored=report.restore,
        deleted=report.delete,
        recreated=report.recreate,
        kept=report.kept,
        skipped=report.changed,
    )
    return RevertOutcome(job=revert_job, report=report)


def _record(revert_job: ImportJob, revert: ImportRevert, report: RevertReport, started: float) -> None:
    message = (
        f"{report.restore} restored, {report.delete} deleted, {report.recreate} re-created, "
        f"{report.kept} kept (still referred to), {report.changed} changed since and left as they are."
    )
    revert_job.rows_total = report.rows
    revert_job.created_count, revert_job.updated_count = report.recreate, report.restore
    revert_job.skipped_count = report.kept + report.changed
    revert_job.message = message
    revert_job.duration = round(time.monotonic() - started, 3)
    revert_job.finished_at = timezone.now()
    revert_job.save()
    revert.restored_count, revert.deleted_count = report.restore, report.delete
    revert.kept_count, revert.skipped_count = report.kept, report.changed
    revert.duration, revert.message = revert_job.duration, message
    revert.save()
