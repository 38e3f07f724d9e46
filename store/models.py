"""Catalog, customers and orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Self

from django.apps import apps
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from simple_history.models import HistoricalRecords

from store.jobs.models import BackgroundJob, JobState, JobStates, PrivateJob
from store.validators import validate_gtin

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from django.contrib.auth.models import User
    from django.core.files.storage import Storage
    from django.db.models.constraints import BaseConstraint
    from django.db.models.sql.where import WhereNode

MIN_UNIT_PRICE = Decimal("1.00")
CENT = Decimal("0.01")
OPTION_COUNT = 3
ERROR_COMPARE_AT_PRICE = "the compare-at price must be higher than the price ({price})"
ERROR_SHARED_REQUIRED = "required for a product (a variant takes it from its product)"
ERROR_VARIANT_PARENT = "a variant belongs to a product with variants"
ERROR_VARIANT_SHARED = "a variant takes this from its product"
ERROR_NOT_VARIANT_PARENT = "only a variant belongs to another product"
ERROR_PARENT_STOCK = "a product with variants has no stock of its own: its variants have"
#: CHECK constraints whose rules ``Product.clean()`` checks in Python: a form's or a service's
#: ``full_clean()`` then costs no query for them (Django validates a CheckConstraint by a query)
CHECKED_BY_CLEAN = frozenset(
    {"product_structure_fields", "product_parent_not_stocked", "product_compare_at_above_price"}
)


class Collection(models.Model):
    title = models.CharField(max_length=255, unique=True)
    featured_product = models.ForeignKey("Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Promotion(models.Model):
    description = models.CharField(max_length=255)
    discount = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        help_text="Percentage off, 0–100.",
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(discount__gte=0) & models.Q(discount__lte=100),
                name="promotion_discount_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.discount}%)"


def price_with_tax(amount: Decimal) -> Decimal:
    """``amount`` x (1 + settings.TAX_RATE), rounded half-up to cents."""
    rate = Decimal(str(getattr(settings, "TAX_RATE", "0.1")))
    return (amount * (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


class ProductQuerySet(models.QuerySet["Product"]):
    #: (the conditions, how to count rows that meet them): ``counted_by``
    _counted_by: tuple[WhereNode, Callable[[], int]] | None = None
    #: (the conditions, the ids of rows among which are those that meet them): ``found_among``
    _found_among: tuple[WhereNode, Callable[[int], list[int] | None], models.QuerySet[Product]] | None = None

    def counted_by(self, count: Callable[[], int]) -> ProductQuerySet:
        """This queryset, whose ``count()`` is ``count()`` (the same number, read otherwise) while
        its conditions are these: an ordering or an annotation keeps it, a further filter drops it
        (the count is then the queryset's own)."""
        clone = self.all()
        clone._counted_by = (clone.query.where.clone(), count)
        return clone

    def found_among(
        self, ids: Callable[[int], list[int] | None], *, within: models.QuerySet[Product]
    ) -> ProductQuerySet:
        """This queryset, whose rows are among the ids ``ids(limit)`` reads (None: more than
        ``limit``), some of the rows of ``within`` (the queryset it was filtered from), while its
        conditions are these or more of them (a further filter keeps it: its rows are fewer; an
        ``OR`` drops it). ``found`` gives them back."""
        clone = self.all()
        clone._found_among = (clone.query.where.clone(), ids, within)
        return clone

    def found(self) -> tuple[Callable[[int], list[int] | None], models.QuerySet[Product]] | None:
        """``found_among``'s ``ids`` and ``within``, while its rows are still some of those (None:
        unknown)."""
        if self._found_among is None:
            return None
        where, ids, within = self._found_among
        current = self.query.where
        # Conditions only added (AND) to those it was found among: its rows are some of theirs.
        added = current.connector == where.connector == "AND" and not (current.negated or where.negated)
        if not (added and current.children[: len(where.children)] == where.children) or self.query.combinator:
            return None
        return ids, within

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone._counted_by = self._counted_by
        clone._found_among = self._found_among
        return clone

    def count(self) -> int:
        if self._result_cache is None and self._counted_by is not None:
            where, count = self._counted_by
            query = self.query
            # The same rows, one each: no slice, DISTINCT, GROUP BY (values().annotate()) or UNION.
            same_rows = not (query.is_sliced or query.distinct or query.combinator or query.group_by is not None)
            if same_rows and where == query.where:
                return count()
        return super().count()

    def delete(self) -> tuple[int, dict[str, int]]:
        """Variants go first, then their products (see ``Product.delete``)."""
        with transaction.atomic(using=self.db):
            parents = list(self.filter(structure=Product.Structure.PARENT).values_list("pk", flat=True))
            deleted, counts = 0, dict[str, int]()
            if parents:
                deleted, counts = Product.objects.filter(parent_id__in=parents).delete()
            more, more_counts = super().delete()
            for label, count in more_counts.items():
                counts[label] = counts.get(label, 0) + count
            return deleted + more, counts


class Product(models.Model):
    class Status(models.TextChoices):
        # Shopify's three states. Only active products are in the catalog API.
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    class Structure(models.TextChoices):
        STANDALONE = "standalone", "Product without variants"
        PARENT = "parent", "Product with variants"
        VARIANT = "variant", "Variant"

    class WeightUnit(models.TextChoices):
        G = "g", "g"
        KG = "kg", "kg"
        LB = "lb", "lb"
        OZ = "oz", "oz"

    title = models.CharField(max_length=255)
    # NULL for a variant: its product's slug is the page's address.
    slug = models.SlugField(max_length=255, unique=True, null=True, blank=True)
    sku = models.CharField("SKU", max_length=64, unique=True, help_text="Stock keeping unit; imports match on it.")
    description = models.TextField(blank=True)
    unit_price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        db_index=True,
        validators=[MinValueValidator(MIN_UNIT_PRICE)],
    )
    inventory = models.IntegerField(db_index=True, validators=[MinValueValidator(0)])
    # WooCommerce's "Manage stock?", Shopify's inventory tracker: off, the shop does not count this
    # product's stock and sells it whatever ``inventory`` says (never "out of stock" or "low").
    # db_default too: imports and seeding INSERT rows without the column.
    track_inventory = models.BooleanField(
        "track inventory",
        default=True,
        db_default=True,
        help_text="Off: the stock is not counted; the product is sold whatever its inventory says.",
    )
    last_update = models.DateTimeField(auto_now=True, db_index=True)
    # NULL for a variant (it is in its product's collection).
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="products", null=True, blank=True)
    promotions = models.ManyToManyField(Promotion, blank=True, related_name="products")
    # The model (and the database, for raw INSERTs of seeding and imports) default to
    # active: imports, seeding and fixtures create sellable products, as before status
    # existed. Only the admin's add form starts new products as draft.
    # NULL for a variant: it is published, drafted or archived with its product.
    status = models.CharField(  # noqa: DJ001 (NULL: a variant has its product's, by CHECK constraint)
        max_length=10,
        choices=Status.choices,
        default=Status.ACTIVE,
        db_default=Status.ACTIVE,
        null=True,
        blank=True,
        help_text="Only active products are served by the catalog API (the storefront).",
    )
    # --- Variants (docs/decisions/0017-variants-as-parent-child-rows.md) ---
    # One table, parent and child rows, as django-oscar's ``structure``: a standalone product is
    # sold as it is; a parent holds what its variants share (title, description, slug,
    # collection, status, images, tags, promotions) and its option names; a variant is the
    # sellable unit (SKU, price, inventory, barcode) with its option values. Every row that
    # existed before variants is standalone (the column's default: no rows are rewritten).
    structure = models.CharField(
        max_length=10,
        choices=Structure.choices,
        default=Structure.STANDALONE,
        db_default=Structure.STANDALONE,
        editable=False,
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="variants", editable=False
    )
    # A product with variants: whether any of its variants' stock is tracked (False: "Not tracked"
    # in the product list). Derived from its variants and kept by every write of them
    # (``store.variants.rollup``), so that the stock filter finds such products in the
    # (structure, track_inventory, has_tracked_variant) index; meaningless on other rows.
    has_tracked_variant = models.BooleanField(default=False, db_default=False, editable=False)
    option1_name = models.CharField("option 1", max_length=64, blank=True, default="", db_default="")
    option2_name = models.CharField("option 2", max_length=64, blank=True, default="", db_default="")
    option3_name = models.CharField("option 3", max_length=64, blank=True, default="", db_default="")
    option1 = models.CharField("option 1 value", max_length=64, blank=True, default="", db_default="")
    option2 = models.CharField("option 2 value", max_length=64, blank=True, default="", db_default="")
    option3 = models.CharField("option 3 value", max_length=64, blank=True, default="", db_default="")
    variant_image = models.ForeignKey(
        "ProductImage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="One of the product's images, shown for this variant.",
    )
    # --- What stores keep on a product (Shopify, WooCommerce) ---
    vendor = models.CharField("vendor", max_length=255, blank=True, default="", db_default="")
    barcode = models.CharField(
        "barcode",
        max_length=14,
        blank=True,
        default="",
        db_default="",
        validators=[validate_gtin],
        help_text="GTIN-8, -12 (UPC), -13 (EAN) or -14, with its check digit.",
    )
    compare_at_price = models.DecimalField(
        "compare-at price",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="The price before a reduction, shown struck through; higher than the price.",
    )
    cost_per_item = models.DecimalField(
        "cost per item", max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    weight = models.DecimalField(
        "weight", max_digits=10, decimal_places=3, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    weight_unit = models.CharField(
        "weight unit", max_length=2, choices=WeightUnit.choices, default=WeightUnit.KG, db_default=WeightUnit.KG
    )
    seo_title = models.CharField("SEO title", max_length=255, blank=True, default="", db_default="")
    seo_description = models.CharField("SEO description", max_length=320, blank=True, default="", db_default="")
    # Bumped on every write; optimistic concurrency checks compare it.
    version = models.PositiveIntegerField(default=1, editable=False)

    # --- Change history (admin catalog) ---
    # Snapshots on every save(); services add rows for bulk writes. version and
    # last_update are left out: history_date already says when, and they would
    # clutter every diff. The history is read by product (``id``), date, reason and row id only:
    # the indexes simple-history would copy from the product's own (SKU, slug, price, stock and
    # the foreign keys) serve no read of it and cost every history row written (issue 22).
    history = HistoricalRecords(
        excluded_fields=["version", "last_update", "has_tracked_variant"],
        no_db_index=["slug", "sku", "unit_price", "inventory", "collection", "parent", "variant_image"],
    )
    # Read by simple-history when save() records a row, when set (services set them): who
    # made the change, and the date of a baseline row.
    _history_user: AbstractBaseUser | None
    _history_date: datetime
    # (title, sku) as read from the database (from_db).
    _search_loaded: tuple[str, str]

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        permissions = [("import_product", "Can import products")]
        indexes = [
            # Covers the dashboard's stock aggregate (counts by inventory, Σ price × inventory, of
            # products whose stock is tracked): an index-only scan, about 3.5x faster than the table
            # scan at 1M rows on MariaDB.
            models.Index(fields=["inventory", "unit_price", "track_inventory"], name="product_stock_value_idx"),
            # The status filter with the default order (title, then id: the index's own
            # tail on InnoDB and SQLite) walks this index and stops at the page; the API's
            # active-only lists by title use it too, and the dashboard counts by status from it.
            models.Index(fields=["status", "title"], name="product_status_title_idx"),
            # A collection's active products counted index-only (the API's collection list
            # counts each one). On MariaDB it also serves the foreign key, whose implicit
            # index InnoDB then drops: the table keeps the same number of indexes.
            models.Index(fields=["collection", "status"], name="product_collection_status_idx"),
            # The product list shows products, rows without a parent (selectors.product_list_products):
            # each of its header sorts walks one of these (parent NULL, then the column, then id, the
            # index's own tail) and stops after a page, however many variants the table holds.
            models.Index(fields=["parent", "title"], name="product_parent_title_idx"),
            models.Index(fields=["parent", "sku"], name="product_parent_sku_idx"),
            models.Index(fields=["parent", "unit_price"], name="product_parent_price_idx"),
            models.Index(fields=["parent", "inventory"], name="product_parent_inventory_idx"),
            # A product with variants' tracked stock (the list's stock summary and badge, and the
            # inventory filter: the lowest tracked variant) read from the index alone, without a
            # lookup of each variant's row.
            models.Index(fields=["parent", "track_inventory", "inventory"], name="product_parent_stock_idx"),
            # The collection filter in the list's default order: a walk of the collection's
            # products by title that stops after a page (its whole collection sorted otherwise).
            models.Index(fields=["collection", "title"], name="product_collection_title_idx"),
            # The "last updated" filter's capped count of products (no parent) read from the index
            # alone: the last_update index read each row in the range for its parent (60k at 1M).
            models.Index(fields=["parent", "last_update"], name="product_parent_update_idx"),
            # "Not tracked" (rows whose own stock is not counted): in the sellable-units view, its
            # capped count and, when few match, its page are two ranges of this index; the SKU walk
            # read every unit to find none (185 ms at 1M sellable units). Structure first: the view's
            # own count (structure IN …) is then two ranges too, where (track_inventory, structure)
            # had MariaDB read the 200k untracked products with variants first. In the product
            # list, products with variants none of which is tracked are a third column's range: the
            # lowest tracked variant of each product, tested product by product, read all 200k
            # products with variants at 1M sellable units to find none (24x its time at 10k).
            models.Index(
                fields=["structure", "track_inventory", "has_tracked_variant"], name="product_structure_tracked_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(unit_price__gte=MIN_UNIT_PRICE), name="product_unit_price_min_1"),
            models.CheckConstraint(condition=models.Q(inventory__gte=0), name="product_inventory_non_negative"),
            # A variant has a parent and nothing of its own that its product shares; every other
            # row has no parent and its own slug, collection and status.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        structure="variant",
                        parent__isnull=False,
                        slug__isnull=True,
                        collection__isnull=True,
                        status__isnull=True,
                    )
                    | models.Q(
                        structure__in=["standalone", "parent"],
                        parent__isnull=True,
                        slug__isnull=False,
                        collection__isnull=False,
                        status__isnull=False,
                    )
                ),
                name="product_structure_fields",
            ),
            # A parent is not sold itself: its stock is its variants' (never low or out of stock).
            models.CheckConstraint(
                condition=~models.Q(structure="parent") | models.Q(inventory=0, track_inventory=False),
                name="product_parent_not_stocked",
            ),
            # The price before a reduction: above the price, or none (migration 0028).
            models.CheckConstraint(
                condition=models.Q(compare_at_price__isnull=True)
                | models.Q(compare_at_price__gt=models.F("unit_price")),
                name="product_compare_at_above_price",
            ),
        ]

    def __str__(self) -> str:
        if self.structure == self.Structure.VARIANT and self.parent is not None:
            return f"{self.parent.title} — {self.title}"
        return self.title

    def clean(self) -> None:
        """Rules of one row: what each structure needs, and a compare-at price above the price."""
        super().clean()
        errors: dict[str, str] = {}
        if self.structure == self.Structure.VARIANT:
            if self.parent_id is None:
                errors["parent"] = ERROR_VARIANT_PARENT
            for name in ("slug", "collection_id", "status"):
                if getattr(self, name) is not None:
                    errors[name.removesuffix("_id")] = ERROR_VARIANT_SHARED
        else:
            for name in ("slug", "collection_id", "status"):
                if getattr(self, name) in (None, ""):
                    errors[name.removesuffix("_id")] = ERROR_SHARED_REQUIRED
            if self.parent_id is not None:
                errors["parent"] = ERROR_NOT_VARIANT_PARENT
        if self.structure == self.Structure.PARENT and (self.inventory or self.track_inventory):
            errors["inventory"] = ERROR_PARENT_STOCK
        if (
            self.compare_at_price is not None
            and self.unit_price is not None
            and self.compare_at_price <= self.unit_price
        ):
            errors["compare_at_price"] = ERROR_COMPARE_AT_PRICE.format(price=self.unit_price)
        if errors:
            raise ValidationError(errors)

    def delete(self, using: Any = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        """A product's variants are deleted with it (as ``parent``'s CASCADE says), first: on MySQL
        Django would otherwise NULL their ``parent`` before deleting them, which the structure
        CHECK refuses. An order line of a variant protects it, and so its product."""
        with transaction.atomic(using=using):
            if self.structure == self.Structure.PARENT and self.pk is not None:
                Product.objects.filter(parent_id=self.pk).delete()
            return super().delete(using=using, keep_parents=keep_parents)

    def get_constraints(self) -> list[tuple[type[models.Model], Sequence[BaseConstraint]]]:
        """The constraints ``validate_constraints()`` checks by a query: not those ``clean()`` checks."""
        return [
            (model, [constraint for constraint in constraints if constraint.name not in CHECKED_BY_CLEAN])
            for model, constraints in super().get_constraints()
        ]

    @property
    def is_variant(self) -> bool:
        return self.structure == self.Structure.VARIANT

    @property
    def is_parent(self) -> bool:
        return self.structure == self.Structure.PARENT

    @property
    def option_names(self) -> list[str]:
        """A parent's option names, in order (``["Colour", "Size"]``)."""
        return [name for name in (self.option1_name, self.option2_name, self.option3_name) if name]

    @property
    def option_values(self) -> list[str]:
        """A variant's option values, in order (``["Green", "S"]``)."""
        return [value for value in (self.option1, self.option2, self.option3) if value]

    @property
    def option_label(self) -> str:
        """A variant's name among its product's: "Green / S"."""
        return " / ".join(self.option_values)

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Product:
        """The instance, remembering the title and SKU it was read with (when both were read):
        a save that changed neither leaves the search index alone (``store.receivers``)."""
        instance = super().from_db(db, field_names, values)
        loaded = instance.__dict__
        if "title" in loaded and "sku" in loaded:
            instance._search_loaded = (loaded["title"], loaded["sku"])
        return instance

    @property
    def price_with_tax(self) -> Decimal:
        """unit_price x (1 + settings.TAX_RATE), rounded half-up to cents."""
        return price_with_tax(self.unit_price)

    @property
    def in_stock(self) -> bool:
        """Sellable: its stock is not tracked, or some is left."""
        return not self.track_inventory or self.inventory > 0

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


# --- Products with variants (docs/decisions/0017-variants-as-parent-child-rows.md) -------
#: the rows that are sold: orders, carts, stock figures, alerts count these
SELLABLE_STRUCTURES = (Product.Structure.STANDALONE, Product.Structure.VARIANT)


class ProductSearchTerm(models.Model):
    """One word a product is found by (``store.search.terms``): the product search's index.

    The primary key (term, title, product) is the index: a search word is a range of it
    (``term >= 'bott' AND term < 'bottu'``, binary order on both databases), read without
    touching the product table. ``title`` is a copy of the product's title (same column type
    and collation, so the same order): a whole word's matches are a range of the key already
    in the list's order (title, id), and a page of "every word whole" walks it and stops after
    the page (``store.search.selectors``). A product's terms all carry its one title, so the
    key is as unique as (term, product). Kept in step by ``store.search.services`` on every
    write path (save, imports, revert, seeding); no foreign key constraint, so the raw deletes
    of those paths remove a product's terms in any order.
    """

    pk = models.CompositePrimaryKey("term", "title", "product")
    term = models.CharField(max_length=64)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="search_terms"
    )
    title = models.CharField(max_length=255)
    # A variant's own terms (its SKU, its option label), which the order-line picker searches;
    # the product list searches the others (a product's, its variants' words included), read
    # from the primary key's rows with no product row to look up.
    is_variant = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            # A product's terms: the refresh's DELETE, and the ranking's per-row lookups
            # ("does this product's title start with the search?" is a range of this index).
            models.Index(fields=["product", "term"], name="productsearchterm_product_idx"),
        ]

    def __str__(self) -> str:
        return self.term


def product_image_upload_to(instance: ProductImage, filename: str) -> str:
    """products/<product id>/<name>: services name files with a random stem, never the upload's."""
    return f"products/{instance.product_id}/{filename}"


def product_thumbnail_upload_to(instance: ProductImage, filename: str) -> str:
    return f"products/{instance.product_id}/thumbnails/{filename}"


class ProductImage(models.Model):
    """One picture of a product. Files go through Django's storage API (local or S3)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=product_image_upload_to, max_length=255)
    # Made from `image` after commit by store.images.thumbnails; blank until then.
    thumbnail = models.ImageField(upload_to=product_thumbnail_upload_to, max_length=255, blank=True, editable=False)
    alt_text = models.CharField(
        "alt text", max_length=255, blank=True, help_text="Describes the image for screen readers and search engines."
    )
    position = models.PositiveIntegerField(default=0, help_text="Lower comes first; the first image is the main one.")
    # Where an import fetched the image from; blank for uploads.
    source_url = models.URLField("source URL", max_length=2048, blank=True, editable=False)
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            # A product's images in order, and the product list's "first image" subquery.
            models.Index(fields=["product", "position", "id"], name="productimage_order_idx"),
        ]

    def __str__(self) -> str:
        return self.alt_text or self.image.name.rsplit("/", 1)[-1]


class ProductImageSource(models.Model):
    """An image URL an import listed for a product: fetched by a background job (store/image_fetch.py).

    One row per (product, URL), matched on ``url_hash`` (sha256 of the URL: MariaDB cannot
    index a 2048-character column), so the same URL is fetched once, also across re-imports.
    A failing URL stays ``failed`` with its reason; the import job's page lists it.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be fetched"
        DONE = "done", "Fetched"
        FAILED = "failed", "Failed"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="image_sources")
    url = models.URLField("URL", max_length=2048)
    url_hash = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    alt_text = models.CharField("alt text", max_length=255, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    import_job = models.ForeignKey(
        "ImportJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="image_sources"
    )
    image = models.ForeignKey(ProductImage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "url_hash"], name="productimagesource_product_url_uniq"),
        ]

    def __str__(self) -> str:
        return self.url


class Customer(models.Model):
    MEMBERSHIP_BRONZE = "B"
    MEMBERSHIP_SILVER = "S"
    MEMBERSHIP_GOLD = "G"
    MEMBERSHIP_CHOICES = [
        (MEMBERSHIP_BRONZE, "Bronze"),
        (MEMBERSHIP_SILVER, "Silver"),
        (MEMBERSHIP_GOLD, "Gold"),
    ]

    first_name = models.CharField(max_length=255)
    last_name = models.CharField(max_length=255)
    email = models.EmailField(unique=True)
    phone = models.CharField(max_length=255)
    birth_date = models.DateField(null=True, blank=True)
    membership = models.CharField(max_length=1, choices=MEMBERSHIP_CHOICES, default=MEMBERSHIP_BRONZE)

    class Meta:
        ordering = ["first_name", "last_name"]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Address(models.Model):
    street = models.CharField(max_length=255)
    city = models.CharField(max_length=255)
    zip = models.CharField(max_length=20)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")

    class Meta:
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.street}, {self.zip} {self.city}"


class Order(models.Model):
    PAYMENT_STATUS_PENDING = "P"
    PAYMENT_STATUS_COMPLETE = "C"
    PAYMENT_STATUS_FAILED = "F"
    PAYMENT_STATUS_CHOICES = [
        (PAYMENT_STATUS_PENDING, "Pending"),
        (PAYMENT_STATUS_COMPLETE, "Complete"),
        (PAYMENT_STATUS_FAILED, "Failed"),
    ]

    placed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    payment_status = models.CharField(
        max_length=1, choices=PAYMENT_STATUS_CHOICES, default=PAYMENT_STATUS_PENDING, db_index=True
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")

    class Meta:
        ordering = ["-placed_at"]

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orderitems")
    quantity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    # Price at the time of the order; later price changes do not rewrite history.
    unit_price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orderitem_quantity_min_1"),
        ]

    def __str__(self) -> str:
        # As an order page's line says it ("2 × Travel Mug"), not by ids; the inline loads the products.
        return f"{self.quantity} × {self.product}"


class Cart(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Cart {self.id}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    quantity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cartitem_unique_cart_product"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="cartitem_quantity_min_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"


# --- Import/export ----------------------------------------------------------
def private_storage() -> Storage:
    """Files only their owner may download (export files): ``STORAGES["private"]``, never
    under MEDIA_URL. The admin streams them behind a permission check."""
    return storages["private"]


def import_files_storage() -> Storage:
    """Import files (failed rows) live in the private storage too: the admin streams them
    behind a permission check, and every web process and worker sees them."""
    return private_storage()


class ImportJob(BackgroundJob):
    """One product import run, from the admin or the CLI: the import history.

    ``status`` is a small state machine; only ``store.importing.service`` moves it, always with a
    conditional UPDATE (``… WHERE id = %s AND status = <expected>``), so two requests can never
    both take the same step:

        admin:  running (checking the file) ──> preview | failed
                mapping (a supplier file, store.importing.mapping_jobs) ──mapped──> running | queued
                mapping ──cancel──> cancelled; ──not mapped within PREVIEW_TTL_SECONDS──> expired
                preview ──confirm──> writing ──> succeeded | partial | failed
                preview ──cancel──> cancelled
                preview ──not confirmed within PREVIEW_TTL_SECONDS──> expired
        CLI:    running ──> succeeded | partial | failed | dry_run
        job (a file over IMPORT_INLINE_MAX_ROWS rows, or the CLI's --background; a worker
        does each step; ``store.importing.jobs``):
                queued ──worker──> running ──> preview | failed
                preview ──confirm──> writing ──worker──> succeeded | partial | failed
                queued | running | writing ──cancel──> cancelled (a running write rolls back)
                running | writing ──no heartbeat for JOB_HEARTBEAT_TIMEOUT──> failed: worker lost ──retry──>
                queued (no plan yet) | writing (the plan)
    """

    SOURCE_ADMIN = "admin"
    SOURCE_CLI = "cli"
    SOURCE_CHOICES = [(SOURCE_ADMIN, "Admin"), (SOURCE_CLI, "Command line")]

    STATUS_QUEUED = "queued"
    STATUS_MAPPING = "mapping"
    STATUS_RUNNING = "running"
    STATUS_PREVIEW = "preview"
    STATUS_WRITING = "writing"
    STATUS_DRY_RUN = "dry_run"
    STATUS_SUCCEEDED = "succeeded"
    STATUS_PARTIAL = "partial"
    STATUS_FAILED = "failed"
    STATUS_CANCELLED = "cancelled"
    STATUS_EXPIRED = "expired"
    STATUS_CHOICES = [
        (STATUS_QUEUED, "Queued"),
        (STATUS_MAPPING, "Awaiting column mapping"),
        (STATUS_RUNNING, "In progress (previewing)"),
        (STATUS_PREVIEW, "Previewed, awaiting confirmation"),
        (STATUS_WRITING, "Confirmed, writing"),
        (STATUS_DRY_RUN, "Dry run (nothing written)"),
        (STATUS_SUCCEEDED, "Imported"),
        (STATUS_PARTIAL, "Imported valid rows, skipped invalid ones"),
        (STATUS_FAILED, "Failed (nothing written)"),
        (STATUS_CANCELLED, "Cancelled (nothing written)"),
        (STATUS_EXPIRED, "Preview expired unconfirmed (nothing written)"),
    ]
    # States a job never leaves.
    FINAL_STATUSES = frozenset(
        {STATUS_DRY_RUN, STATUS_SUCCEEDED, STATUS_PARTIAL, STATUS_FAILED, STATUS_CANCELLED, STATUS_EXPIRED}
    )
    JOB_PAGE_STATES = {
        STATUS_QUEUED: "queued",
        STATUS_RUNNING: "previewing",
        STATUS_PREVIEW: "ready to confirm",
        STATUS_WRITING: "writing",
        STATUS_SUCCEEDED: "done",
        STATUS_PARTIAL: "done (invalid rows skipped)",
        STATUS_FAILED: "failed",
        STATUS_CANCELLED: "cancelled",
        STATUS_EXPIRED: "expired",
    }
    job_related = ("user", "confirmed_by")
    # The job engine's view of ``status`` (store.jobs): a worker holds a job while it previews
    # (running) or writes (writing); mapping and preview wait for a user, not a worker.
    job_states = JobStates(
        field="status",
        queued=STATUS_QUEUED,
        running=(STATUS_RUNNING, STATUS_WRITING),
        active=(STATUS_QUEUED, STATUS_RUNNING, STATUS_WRITING),
        cancellable=(STATUS_QUEUED, STATUS_RUNNING, STATUS_WRITING, STATUS_PREVIEW, STATUS_MAPPING),
        retryable=(STATUS_FAILED, STATUS_CANCELLED),
        ended=tuple(sorted(FINAL_STATUSES)),
        done=STATUS_SUCCEEDED,
        failed=STATUS_FAILED,
        cancelled=STATUS_CANCELLED,
    )

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="uploaded by",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(max_length=10, choices=SOURCE_CHOICES)
    file_name = models.CharField(max_length=255)
    preset = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, db_index=True)
    options = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    # While a preview awaits confirmation these are the plan's counts; once the job is
    # finished they are what was written (0 new and 0 updated when nothing was).
    created_count = models.PositiveIntegerField("new", default=0)
    updated_count = models.PositiveIntegerField("updated", default=0)
    unchanged_count = models.PositiveIntegerField("unchanged", default=0)
    skipped_count = models.PositiveIntegerField("skipped", default=0)
    error_count = models.PositiveIntegerField("errors", default=0)
    duration = models.FloatField("duration (s)", default=0)
    message = models.TextField(blank=True)
    failed_rows = models.FileField(storage=import_files_storage, upload_to="failed/", blank=True)
    # --- Imports run as jobs by a worker (store.importing.jobs) ---
    # The uploaded file's name in the private storage, kept until the job ends. The step's
    # attempt, task, start, heartbeat and rows so far are BackgroundJob's fields.
    upload = models.CharField(max_length=255, blank=True)
    # --- Supplier files mapped column by column (store.importing.mapping) ---
    # The mapping chosen on the mapping step or given on the CLI (ColumnMapping.to_json()); a
    # background preview reads it from here. Empty: a preset or a saved profile maps the file.
    column_mapping = models.JSONField(default=dict, blank=True)
    profile = models.ForeignKey("ImportProfile", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("manage_others_imports", "Can see, confirm and cancel other users' imports"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.file_name}"

    @property
    def requested_by(self) -> User | None:
        """Who started it (``store.jobs.job_notify_end`` emails them)."""
        return self.user

    @property
    def is_background(self) -> bool:
        return bool(self.options.get("background"))

    @property
    def state_label(self) -> str:
        """The state as the job page says it; a failure with its reason."""
        if self.status == self.STATUS_FAILED and self.message:
            return self.message if self.message.startswith("failed:") else f"failed: {self.message}"
        return self.JOB_PAGE_STATES.get(self.status, self.status)

    @property
    def progress_total(self) -> int | None:
        """The rows to write while writing (the plan's), else the file's rows."""
        if self.status == self.STATUS_WRITING and self.created_count + self.updated_count:
            return self.created_count + self.updated_count
        return self.rows_total or None

    def outcome_fields(self, message: str) -> dict[str, Any]:
        """An import that failed or was cancelled says why in ``message`` and wrote nothing (0 new, 0 updated)."""
        return {"message": message, "created_count": 0, "updated_count": 0}

    @property
    def outcome_message(self) -> str:
        return self.message


class ImportProfile(models.Model):
    """How to read one supplier's files: which file column feeds which product column, and how
    the file writes numbers and collection paths. A file whose header matches ``header_signature``
    is mapped with it automatically (``store.importing.mapping``)."""

    DECIMAL_CHOICES = [(".", "Point: 12.50"), (",", "Comma: 12,50")]
    # Import modes (what they do: store.importing.modes, which reads them from here).
    MODE_CREATE_UPDATE, MODE_UPDATE_ONLY, MODE_CREATE_ONLY = "create_update", "update_only", "create_only"
    MODE_CHOICES = [
        (MODE_CREATE_UPDATE, "Create and update: a new SKU creates a product, a known one updates it"),
        (MODE_UPDATE_ONLY, "Update only: a SKU not in the catalog is an error"),
        (MODE_CREATE_ONLY, "Create only: a SKU already in the catalog is skipped and listed"),
    ]
    THOUSANDS_CHOICES = [(",", "Comma: 1,234"), (".", "Point: 1.234"), (" ", "Space: 1 234"), ("", "None: 1234")]

    name = models.CharField(max_length=100, unique=True)
    # The file's column names, normalised (store.importing.mapping.normalise_column), in file order.
    header = models.JSONField(default=list)
    # sha256 of the normalised header: how a new file finds its profile.
    header_signature = models.CharField(max_length=64, unique=True, editable=False)
    # normalised file column -> product column; columns not listed are ignored.
    mapping = models.JSONField(default=dict)
    decimal_mark = models.CharField(max_length=1, choices=DECIMAL_CHOICES, default=".")
    thousands_separator = models.CharField(max_length=1, choices=THOUSANDS_CHOICES, default=",", blank=True)
    collection_separator = models.CharField(
        max_length=5, blank=True, help_text='Between the levels of a category path, e.g. "/" or ">"; blank: none.'
    )
    # How its files import (store.importing.modes), unless the upload or the command line chooses.
    mode = models.CharField("import mode", max_length=20, choices=MODE_CHOICES, default=MODE_CREATE_UPDATE)
    keep_blank = models.BooleanField(
        "a blank cell keeps the current value",
        default=False,
        help_text="Off: a blank description, tags or promotions cell clears it.",
    )
    # The owner: only they, or whoever supervises imports (store.manage_others_imports), change or
    # delete it: it maps their files (store.importing.mapping.import_profile_can_change).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="owner",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who changed what, and when (the admin's History page).
    history = HistoricalRecords(excluded_fields=["updated_at"])

    _history_user: AbstractBaseUser | None

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ExportJob(PrivateJob):
    """A large export run by a worker: the changelist (as filtered) written to a file in storage."""

    model_label = models.CharField(max_length=100)  # "store.product"
    file_format = models.CharField(max_length=10)  # store.exporting.FORMATS
    excel_bom = models.BooleanField(default=False)
    # The changelist's query string (search, filters, ordering) when the export was asked for.
    filters = models.TextField(blank=True)
    scope = models.CharField(max_length=20, default="changelist")
    # A name in the private storage (STORAGES["private"]), under exports/.
    file = models.FileField(storage=private_storage, upload_to="exports/", max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export #{self.pk} of {self.model_name_plural} ({self.format_name})"

    @property
    def model_name_plural(self) -> str:
        """What was exported, as the admin names it ("products"), not the model's label."""
        try:
            return str(apps.get_model(self.model_label)._meta.verbose_name_plural)
        except (LookupError, ValueError):
            return self.model_label

    @property
    def format_name(self) -> str:
        """The file's format as people say it: CSV, CSV for Excel, XLSX, JSON, Shopify CSV."""
        if self.excel_bom:
            return "CSV for Excel"
        return "Shopify CSV" if self.file_format == "shopify" else self.file_format.upper()


# --- Bulk edits and alerts ----------------------------------------------------
class BulkEdit(models.Model):
    """One bulk edit of products ("Bulk edit #N" in the history), from the admin or a job."""

    STATE_RUNNING = "running"
    STATE_DONE = "done"
    STATE_REFUSED = "refused"
    STATE_FAILED = "failed"
    # Only a job (per-batch commits) can end part-way; the message says what was written.
    STATE_STOPPED = "stopped"
    STATE_CANCELLED = "cancelled"
    STATE_CHOICES = [
        (STATE_RUNNING, "Running"),
        (STATE_DONE, "Done"),
        (STATE_REFUSED, "Refused (nothing written)"),
        (STATE_FAILED, "Failed (nothing written)"),
        (STATE_STOPPED, "Stopped part-way (see the message)"),
        (STATE_CANCELLED, "Cancelled (see the message)"),
    ]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=50)
    description = models.CharField(max_length=200)
    parameters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=STATE_CHOICES, default=STATE_RUNNING, db_index=True)
    selected_count = models.PositiveIntegerField("selected", default=0)
    changed_count = models.PositiveIntegerField("changed", default=0)
    unchanged_count = models.PositiveIntegerField("unchanged", default=0)
    refused_count = models.PositiveIntegerField("refused", default=0)
    # A job's writes go in pk order, one batch per transaction: every selected product with id
    # up to this one is written (recorded by the batch's own transaction).
    last_id = models.PositiveBigIntegerField("written up to id", null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bulk edit #{self.pk}: {self.description}"


class BulkEditJob(PrivateJob):
    """A bulk edit of more than BULK_INLINE_MAX products, run by a worker (store.bulk.jobs).

    The selection is kept as the changelist's query string (and the ticked ids, unless
    "select all" was used); the worker rebuilds it as the user who asked. ``bulk_edit``
    is the "Bulk edit #N" of the history, made when the worker starts writing: from then on
    its counts and message are the job's (read through it, never copied).
    """

    CANCELLED_NOTHING_WRITTEN = "Cancelled. Stopped before anything was written."

    action = models.CharField(max_length=50)
    description = models.CharField(max_length=200)
    parameters = models.JSONField(default=dict, blank=True)
    skip_refused = models.BooleanField(default=False)
    filters = models.TextField(blank=True)
    # The ticked product ids, or null when "Select all N matching" was used.
    selected_ids = models.JSONField(null=True, blank=True)
    bulk_edit = models.OneToOneField(BulkEdit, on_delete=models.SET_NULL, null=True, blank=True, related_name="job")
    # What the check before writing counted ({"changed", "unchanged", "refused"}); nothing written by then.
    checked = models.JSONField(default=dict, blank=True)
    # What the user confirmed: when the preview was made, and the versions of the products it
    # showed ({"<id>": version}); a product written since is refused, or skipped and named.
    preview_at = models.DateTimeField(null=True, blank=True)
    preview_versions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bulk edit job #{self.pk}: {self.description}"

    @property
    def changed_count(self) -> int:
        """Products written: the bulk edit's count (nothing before it exists)."""
        return self.bulk_edit.changed_count if self.bulk_edit is not None else 0

    @property
    def unchanged_count(self) -> int:
        if self.bulk_edit is not None:
            return self.bulk_edit.unchanged_count
        return int(self.checked.get("unchanged", 0))

    @property
    def refused_count(self) -> int:
        if self.bulk_edit is not None:
            return self.bulk_edit.refused_count
        return int(self.checked.get("refused", 0))

    @property
    def message(self) -> str:
        """How the job ended, in a sentence: its bulk edit's message, once that has ended."""
        edit = self.bulk_edit
        if edit is not None and edit.state != BulkEdit.STATE_RUNNING:
            return edit.message
        if edit is None and self.state == JobState.CANCELLED:
            return self.CANCELLED_NOTHING_WRITTEN
        return ""


class ImportRevert(models.Model):
    """A revert of one import; an import is reverted at most once (the unique key says so)."""

    import_job = models.OneToOneField(ImportJob, on_delete=models.PROTECT, related_name="revert")
    # The revert's own entry in the import history: it can be reverted in turn.
    revert_job = models.OneToOneField(
        ImportJob, on_delete=models.PROTECT, related_name="reverts", null=True, blank=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    restored_count = models.PositiveIntegerField("restored", default=0)
    deleted_count = models.PositiveIntegerField("deleted", default=0)
    kept_count = models.PositiveIntegerField("kept", default=0)
    skipped_count = models.PositiveIntegerField("skipped (changed since)", default=0)
    duration = models.FloatField("duration (s)", default=0)
    message = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Revert of import #{self.import_job_id}"


class ImportRelatedChange(models.Model):
    """What an import (or a revert) changed in a product column with rows of its own (tags,
    promotions): the value before and after, so that a revert can put it back.

    Product fields are in the change history (django-simple-history); these columns are not.
    Written only where the value changed (``store.importing.related``); the column's name is
    the import column's (``store.fileformat.columns``), so store records other apps' columns
    (store_custom's ``tags``) without knowing them. ``product_id`` is no foreign key: the
    product may be deleted (by a revert) and re-created from its history with the same id.
    """

    import_job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="related_changes")
    product_id = models.PositiveBigIntegerField()
    column = models.CharField(max_length=50)
    before = models.JSONField()
    after = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["import_job", "product_id"], name="importrelatedchange_job_idx")]

    def __str__(self) -> str:
        return f"Import #{self.import_job_id}: {self.column} of product {self.product_id}"


class ProductRelatedChange(models.Model):
    """What one change of a product made in the admin (one change-history row) did to a product
    column with rows of its own (images, promotions, tags: the column table's names), before and
    after, so the history page shows it. Imports keep theirs as ``ImportRelatedChange``, which the
    history page reads for the import's rows. ``history_id`` is the ``HistoricalProduct`` row's id."""

    history_id = models.PositiveBigIntegerField(db_index=True)
    column = models.CharField(max_length=50)
    before = models.JSONField()
    after = models.JSONField()

    def __str__(self) -> str:
        return f"{self.column} in change {self.history_id}"


class AlertSubscription(models.Model):
    """A user's choice about the daily low-stock digest; ``covered_until`` is where the next one starts.

    ``low_stock_digest``: on, off, or null = as the user's role says (on for Merchandisers, read
    at send time: store.alerts). A user without a row follows their role too.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscription")
    low_stock_digest = models.BooleanField(
        "daily low-stock digest",
        null=True,
        blank=True,
        default=None,
        help_text="Email me once a day the products that went low or out of stock since the last digest.",
    )
    # The last digest (sent, or skipped because nothing changed) covered changes up to here.
    covered_until = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"Alerts of {self.user}"
