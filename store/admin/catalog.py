"""Catalog area: products, collections, promotions.

Built for a catalog of a million products: no full COUNT, no join on the
product list, index-friendly search and sorting, and optimistic locking so two
merchandisers editing the same product never silently overwrite each other.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import FieldListFilter, helpers
from django.contrib.admin.utils import lookup_spawns_duplicates, quote
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Field, OrderBy, Prefetch, QuerySet
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from backoffice.admin import SafeAutocompleteMixin
from store import extensions, selectors, services
from store import history as product_history
from store.admin.bulk import BulkEditMixin
from store.admin.exports import ExportMixin
from store.admin.forms import ProductRulesFormMixin
from store.admin.history import HistoryPageMixin
from store.admin.imports import ProductImportMixin
from store.admin.paginators import CappedCountPaginator, LookaheadPaginator
from store.admin.rendering import FastCheckboxInput, FastHiddenInput, RowErrorList, fast_widget, object_url
from store.admin.variants import OPTIONS_HELP, OptionsField, VariantInline, variant_formset_save
from store.exports.resources import ProductResource
from store.filters import (
    ROWS_PARAMETER,
    CollectionFilter,
    InventoryFilter,
    PromotionFilter,
    RowsFilter,
    UnitCollectionFilter,
    units_view,
)
from store.images import services as image_services
from store.images.inspect import ACCEPT, image_inspect
from store.images.selectors import ImageFetchNote, product_image_fetch_notes
from store.importing.service import MANAGE_OTHERS_PERMISSION
from store.models import Collection, ImportJob, Product, ProductImage, Promotion
from store.variants import services as variant_services
from store.variants.selectors import UNIT_TITLE, units_in_title_order

# Clear inventory refuses rows changed since the list was loaded. The page posts each row's
# version next to its checkbox ("pk:version") and, for "select all N matching" across pages,
# the moment it was rendered (LOADED_AT_FIELD, in actions.html).
LOADED_VERSION_FIELD = "_loaded_version"
LOADED_AT_FIELD = "_loaded_at"
STALE_SHOWN = 10
CLEAR_STALE_ONE = (
    "%(count)d product changed since the list was loaded and was left alone: %(products)s. "
    "Reload the list to see the current stock, then clear again if you still want to."
)
CLEAR_STALE_MANY = (
    "%(count)d products changed since the list was loaded and were left alone: %(products)s. "
    "Reload the list to see the current stock, then clear again if you still want to."
)


def _loaded_versions(request) -> dict[int, int]:
    versions = {}
    for value in request.POST.getlist(LOADED_VERSION_FIELD):
        pk, _, version = value.partition(":")
        if pk.isdigit() and version.isdigit() and len(pk) < 19 and len(version) < 19:
            versions[int(pk)] = int(version)
    return versions


def _loaded_at(request) -> datetime | None:
    try:
        loaded_at = datetime.fromisoformat(request.POST.get(LOADED_AT_FIELD, ""))
    except ValueError:
        return None
    return loaded_at if timezone.is_aware(loaded_at) else None


# The product list shows only the collection's title; loading the page's
# collections by id keeps the product query on the product table alone.
COLLECTION_TITLES = Prefetch("collection", queryset=Collection.objects.only("pk", "title"))


#: The lines whose product picker (the admin's autocomplete) chooses a sellable unit.
LINE_MODELS = ("orderitem", "cartitem")


def is_line_picker(request: HttpRequest) -> bool:
    """The request is the product picker of an order or cart line (Django's autocomplete view)."""
    return "field_name" in request.GET and request.GET.get("model_name") in LINE_MODELS


# The parameters of the whole sellable-units view, a page of it and its sort (no filter, no search).
UNITS_WALK_PARAMETERS = {ROWS_PARAMETER, ORDER_VAR, PAGE_VAR}
# The sellable-units view: each variant's product (its title, collection and status).
UNIT_PRODUCTS = Prefetch(
    "parent",
    queryset=Product.objects.only("pk", "title", "collection_id", "status").prefetch_related(COLLECTION_TITLES),
)


def product_of(row: Product) -> Product:
    """The product a row belongs to: a variant's product, else the row itself."""
    return row.parent if row.is_variant and row.parent is not None else row


#: what a variant's own page leaves out: its product's
VARIANT_HIDDEN_FIELDS = ("slug", "status", "collection", "promotions", "options")
#: a product with variants' own price and stock columns: its page shows its variants' figures instead
PARENT_OWN_STOCK_FIELDS = ("unit_price", "inventory", "track_inventory")
PARENT_PRICE_AND_STOCK = "variants_price_and_stock"
PARENT_PRICE_AND_STOCK_HELP = "Each variant has its own price and stock: edit them under Variants, below."

#: what a variant shares with its product (NULL on the variant's row)
SHARED_FIELDS = ("slug", "collection", "status")


class ProductAdminForm(ProductRulesFormMixin):
    """Carries the version the editor loaded, so a stale save is refused."""

    # Not "version": Django refuses form fields named after non-editable model fields.
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Product
        # What the change page edits (its ModelAdmin passes the fields of its fieldsets anyway).
        fields = (
            "title",
            "slug",
            "sku",
            "status",
            "collection",
            "description",
            "unit_price",
            "inventory",
            "promotions",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["loaded_version"] = self.instance.version
        if not self.instance.is_variant:
            # A variant takes these from its product (the model leaves them blank for it); a product needs them.
            for name in SHARED_FIELDS:
                if name in self.fields:
                    self.fields[name].required = True
        if "weight_unit" in self.fields:
            # A post without it (a script, an older page) keeps the product's unit (a ModelForm
            # leaves a field the post omits as it is).
            self.fields["weight_unit"].required = False

    def clean(self):
        super().clean()
        if (
            self.instance.pk is not None
            and self.needs_version_check()
            and self.cleaned_data.get("loaded_version") != self.instance.version
        ):
            self.add_version_conflict()
        return self.cleaned_data

    def needs_version_check(self) -> bool:
        # The change form always saves, edited or not.
        return True

    def add_version_conflict(self) -> None:
        self.add_error(None, services.product_version_conflict(product_id=self.instance.pk))


class ProductChangeForm(ProductAdminForm):
    """The product page's form: the shared fields, and the options editor (store/admin/variants.py)."""

    options = OptionsField(required=False, help_text=OPTIONS_HELP, widget=forms.TextInput(attrs={"size": 80}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.is_variant:
            self.fields.pop("options", None)  # its product's (a declared field: the fieldsets cannot drop it)
        if "options" in self.fields:
            self.initial["options"] = variant_services.options_render(
                variant_services.product_options(product=self.instance)
            )

    def clean_options(self):
        options = self.cleaned_data["options"]
        variant_services.product_options_check(product=self.instance, options=options)
        return options


class VariantRangeWidget(forms.Widget):
    """A product with variants' row in the list: its variants' price range or total stock, as text.

    The field is disabled (Django then takes the initial value and ignores a posted one), so a
    row of a product with variants is never saved from the list: its variants are, from the
    sellable-units view (``UnitsFilter``) or its page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, name, value, attrs=None, renderer=None):
        return format_html('<span class="variant-range">{}</span>', self.text)


def _is_past_version(request: HttpRequest) -> bool:
    """The page of a past version (simple-history's ``history_form_view``): its columns as they
    were, not today's figures of its variants."""
    match = request.resolver_match
    return match is not None and str(match.url_name).endswith("_simple_history")


def variant_price_range(product: Product) -> str:
    """ "18.00–24.00" (or "18.00"), from ``product_list_with_variant_summary``; "–" with no variants."""
    low, high = getattr(product, "variant_price_min", None), getattr(product, "variant_price_max", None)
    if low is None or high is None:
        return "–"
    return number_format(low, 2) if low == high else f"{number_format(low, 2)}–{number_format(high, 2)}"


def variant_stock_total(product: Product) -> str:
    """Its variants' tracked stock in total, or "not tracked"."""
    stock = getattr(product, "variant_stock", None)
    return "not tracked" if stock is None else str(stock)


#: the list-edit columns a product with variants shows read-only instead (its variants' figures)
PARENT_READ_ONLY = {"unit_price": variant_price_range, "inventory": variant_stock_total}


class ProductListEditForm(ProductAdminForm):
    """One row of the list edits: only rows the user changed are saved, so only they are checked.

    "Changed" means changed on the page: each input carries the value the page was rendered
    with (Django's ``show_hidden_initial``), and the posted value is compared with that, not
    with the database. A row someone else saved meanwhile, which this user did not touch, is
    neither saved nor checked, so it cannot block the rest of the page.

    Row errors show next to the inputs (the changelist does not render
    non-field errors), each with the value now in the database.
    """

    class Meta(ProductAdminForm.Meta):
        # The row's pk input, which the formset adds (a hundred a page): see store/admin/rendering.py.
        widgets = {"id": FastHiddenInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The same markup without the template engine (most of the page's CPU otherwise).
        self.error_class = RowErrorList
        parent = self.instance.is_parent
        for name, field in self.fields.items():
            field.widget = fast_widget(field.widget)
            field.hidden_widget = FastHiddenInput
            if parent and name in PARENT_READ_ONLY:
                # Not sold itself: its variants' price range and stock, read-only.
                field.disabled = True
                field.widget = VariantRangeWidget(PARENT_READ_ONLY[name](self.instance))
            elif name != "loaded_version":
                field.show_hidden_initial = True

    def full_clean(self) -> None:
        """A row the user did not change is neither saved nor checked (see the class docstring):
        skip its validation too (two CHECK-constraint queries and a pk lookup a row)."""
        if self.is_bound and not self.has_changed():
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    def needs_version_check(self) -> bool:
        return any(name != "loaded_version" for name in self.changed_data)

    def has_changed(self) -> bool:
        # The changelist saves the rows that changed: a moved version alone is not a change.
        return self.needs_version_check()

    def add_version_conflict(self) -> None:
        current = Product.objects.filter(pk=self.instance.pk).values("unit_price", "inventory").first()
        if current is None:
            self.add_error(None, services.PRODUCT_GONE)
            return
        for name, value in current.items():
            if name in self.fields:
                self.add_error(
                    name, forms.ValidationError(services.PRODUCT_FIELD_CONFLICT, code="stale", params={"value": value})
                )


class ProductImageForm(forms.ModelForm):
    """An image row: the upload is checked by Pillow here, so a bad file is a form error.

    A plain FileField, not Django's ImageField form field: that one answers every
    problem with the same "Upload a valid image" and decodes before checking the size.
    A stored image cannot be swapped for another file: delete the row and add a new one.
    """

    image = forms.FileField(widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))

    class Meta:
        model = ProductImage
        fields = ("image", "alt_text", "position")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["image"].disabled = True

    def clean_image(self):
        upload = self.cleaned_data["image"]
        if upload is not None and "image" in self.changed_data:
            info = image_inspect(file=upload, name=upload.name)
            # Name it after its real format, so the model's extension check agrees with
            # Pillow (a JPEG uploaded as "photo" is stored as a JPEG).
            upload.name = f"{upload.name.rsplit('.', 1)[0] or 'image'}.{info.extension}"
        return upload


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    fields = ("preview", "image", "alt_text", "position")
    readonly_fields = ("preview",)
    extra = 1
    verbose_name = "image"

    class Media:
        # Drag a row by its thumbnail to reorder; it renumbers the position inputs.
        js = ("store/admin/image_order.js",)

    @admin.display(description="thumbnail")
    def preview(self, image):
        return thumbnail_html(image.thumbnail.name or image.image.name, size=THUMBNAIL_PREVIEW)


def thumbnail_html(name: str | None, *, size: int) -> str:
    """An <img> of the stored file ``name`` (URL from the storage, no query), or a dash."""
    if not name:
        return "–"
    url = ProductImage._meta.get_field("thumbnail").storage.url(name)
    return format_html(
        '<img class="product-thumb" src="{}" alt="" width="{}" height="{}" loading="lazy">', url, size, size
    )


THUMBNAIL_LIST = 48
THUMBNAIL_PREVIEW = 96


class ProductChangeList(ChangeList):
    """Sorted by one column at a time, ties broken on pk in that column's direction.

    Every sortable column (title, SKU, price, inventory, status = inventory) has an index
    of its own, and an index on X ends in id: ``ORDER BY X, id`` (or ``X DESC, id DESC``)
    walks it and stops after a page, at any table size. A second sort key (clicking a
    header from the default list links to ``?o=<column>.1``: that column, then title) or
    a tie-break in the other direction (``X ASC, id DESC``) is served by no index, so the
    database sorted the whole table (1.35 s at 1M products for the status header). The
    headers show the one sort that is applied.

    A search lists the best matches first unless a header was clicked
    (``ProductAdmin.get_search_results``).
    """

    #: Filters whose rows are products already: a variant's status and collection are NULL (the
    #: ``product_structure_fields`` CHECK), so "no parent" adds nothing to them but a lookup of
    #: each matching row (10,000 of them for the capped count of Draft at 1M sellable units).
    PRODUCT_ONLY_FILTERS = ("status__exact", "collection__pk__exact")
    #: Stock filters whose rows are sellable units already: they take tracked stock, and a product
    #: with variants is never tracked (the ``product_parent_not_stocked`` CHECK). Without "not a
    #: product with variants", the sellable-units view's capped count is a range of the stock
    #: index alone (at 1M sellable units: 0.7 s of row reads for "Low" to 10 ms).
    TRACKED_STOCK_FILTERS = (selectors.STOCK_LOW, selectors.STOCK_OUT, selectors.STOCK_OK)

    def __init__(self, request, *args, **kwargs):
        #: the sellable-units view (``RowsFilter``): read by the root queryset, set first thing
        self.units = units_view(request)
        #: a filter of the list selects products only (no variant has a status or a collection)
        self.filtered_to_products = not self.units and any(request.GET.get(p) for p in self.PRODUCT_ONLY_FILTERS)
        #: a filter of the sellable-units view selects sellable units only
        self.filtered_to_units = (
            self.units and request.GET.get(InventoryFilter.parameter_name) in self.TRACKED_STOCK_FILTERS
        )
        super().__init__(request, *args, **kwargs)

    @property
    def row_name(self) -> str:
        """What one row of the list is, in its count line and its "select all"."""
        return "sellable unit" if self.units else str(self.opts.verbose_name)

    @property
    def rows_name(self) -> str:
        return "sellable units" if self.units else str(self.opts.verbose_name_plural)

    @property
    def root_queryset(self) -> QuerySet[Product]:
        return self._root_queryset

    @root_queryset.setter
    def root_queryset(self, queryset: QuerySet[Product]) -> None:
        """The list's rows are products, never a variant on its own row (sellable units on the
        sellable-units view: products without variants and variants): narrowed before the
        filters and the search, so that the search reads its page and count from the term index
        (``store.search.selectors`` recognises a search only when nothing narrows it after)."""
        if self.filtered_to_products or self.filtered_to_units:
            self._root_queryset = queryset
            return
        narrow = selectors.product_list_sellable_units if self.units else selectors.product_list_products
        self._root_queryset = narrow(queryset=queryset)

    def get_queryset(self, request, exclude_parameters=None):
        """The page's products with their first image's thumbnail and their variants' count,
        price range and stock (subqueries, no query per row).

        The sellable-units view (``?rows=units``, ``RowsFilter``): products without variants and
        each variant, with its product's title, collection and status (one query for the page's
        products, one for their collections)."""
        queryset = super().get_queryset(request, exclude_parameters)
        if self.units:
            return selectors.product_list_with_first_image(queryset=queryset.prefetch_related(UNIT_PRODUCTS))
        queryset = selectors.product_list_with_first_image(queryset=queryset)
        return selectors.product_list_with_variant_summary(queryset=queryset)

    def get_results(self, request):
        """The page, plus what other apps' list columns show, loaded once per page each.

        A filter that matches nothing reads no page: its count said so (Django's changelist
        would read the "one page" of every match, walking the rows the count walked again)."""
        super().get_results(request)
        if not self.result_count:
            self.result_list = self.queryset.none()
        if extensions.admin_list_columns():
            # list() fills the queryset's cache: the template and the list-edit formset reuse it.
            extensions.admin_load(list(self.result_list))

    def url_for_result(self, result):
        """Django's, without reversing the URL again for every row (see ``object_url``)."""
        pk = getattr(result, self.pk_attname)
        viewname = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        return object_url(viewname, quote(pk), current_app=self.model_admin.admin_site.name)

    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        first = ordering[0] if ordering else None
        if isinstance(first, OrderBy) and first.expression == UNIT_TITLE:  # the units view's title
            return list(units_in_title_order(queryset=queryset, descending=first.descending).query.order_by)
        if not isinstance(first, str):  # an expression: Django's ordering as it is
            return ordering
        name = first.removeprefix("-")
        tie_break = "-pk" if first.startswith("-") else "pk"
        if name == "pk" or self._is_unique(name):
            return [first]
        return [first, tie_break]

    def get_ordering_field_columns(self):
        if self.units and ORDER_VAR not in self.params:  # by SKU (ProductAdmin.get_ordering), searched or not
            return {self.list_display.index("sku"): "asc"}
        if self.query.strip() and ORDER_VAR not in self.params:
            return {}  # a search, best matches first (ProductAdmin.get_search_results): no header sorts
        for index, order_type in super().get_ordering_field_columns().items():
            if 0 <= index < len(self.list_display) and self.get_ordering_field(self.list_display[index]):
                return {index: order_type}
        return {}

    def get_filters(self, request):
        """Django's, but a promotion filter by ids (``PromotionFilter``) does not make the list
        ``DISTINCT``: it joins nothing. Django flags any filter on a many-to-many path."""
        specs, has_filters, remaining, duplicates, active = super().get_filters(request)
        if duplicates and any(isinstance(spec, PromotionFilter) and spec.by_ids() for spec in specs):
            duplicates = any(lookup_spawns_duplicates(self.lookup_opts, key) for key in remaining) or any(
                isinstance(spec, FieldListFilter)
                and not (isinstance(spec, PromotionFilter) and spec.by_ids())
                and spec.used_parameters
                and lookup_spawns_duplicates(self.lookup_opts, spec.field_path)
                for spec in specs
            )
        return specs, has_filters, remaining, duplicates, active

    def _is_unique(self, name: str) -> bool:
        try:
            field = self.lookup_opts.get_field(name)
        except FieldDoesNotExist:
            return False
        return isinstance(field, Field) and field.unique


@admin.register(Product)
class ProductAdmin(
    SafeAutocompleteMixin, BulkEditMixin, ProductImportMixin, ExportMixin, HistoryPageMixin, SimpleHistoryAdmin
):
    export_resource_class = ProductResource
    form = ProductChangeForm
    list_display = (
        "thumbnail",
        "title",
        "sku",
        "collection_link",
        "unit_price",
        "inventory",
        "inventory_status",
        "status_badge",
    )
    # The title stays the row header (<th>) and the link, as before the image column.
    list_display_links = ("title",)
    list_editable = ("unit_price", "inventory")
    list_filter = (
        RowsFilter,
        "status",
        CollectionFilter,
        "last_update",
        InventoryFilter,
        ("promotions", PromotionFilter),
    )
    #: the sellable-units view's: a variant's status and promotions are its product's
    units_list_filter = (RowsFilter, UnitCollectionFilter, "last_update", InventoryFilter)
    # Deliberately empty: the collection comes from COLLECTION_TITLES, not a join.
    list_select_related = ()
    list_per_page = 100
    show_full_result_count = False
    paginator = CappedCountPaginator
    # Facet counts would run one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("title", "sku")
    search_help_text = (
        "Any words of the title or the SKU, or their start (case, accents and dashes do not count), "
        "e.g. “hood black” or “0042”."
    )
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("collection",)
    filter_horizontal = ("promotions",)
    readonly_fields = ("last_update",)
    fieldsets = (
        (None, {"fields": ("title", "slug", "sku", "status", "collection", "description")}),
        (
            "Price and stock",
            {"fields": ("unit_price", "inventory", "track_inventory", "last_update", "loaded_version")},
        ),
        ("Promotions", {"fields": ("promotions",)}),
        ("Options", {"fields": ("options",)}),
        (
            "Store details",
            {
                "fields": (
                    ("vendor", "barcode"),
                    ("compare_at_price", "cost_per_item"),
                    ("weight", "weight_unit"),
                    "seo_title",
                    "seo_description",
                ),
                "classes": ("collapse",),
            },
        ),
    )
    inlines = (ProductImageInline,)
    actions = ("publish", "unpublish", "archive", "clear_inventory")

    class Media:
        css = {"all": ("store/admin/catalog.css",)}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(COLLECTION_TITLES)

    def get_ordering(self, request):
        """The sellable-units view lists by SKU: a product's variants together (the options editor
        makes their SKUs from the product's), and the unique SKU index serves the page of the list
        and of its stock filters. By title, a variant sorted by its option label ("Black / S") among
        every product of the catalog, and at 1M sellable units MariaDB sorted every match: 2.4 s for
        the default page, 5.5 s for the low-stock filter."""
        if units_view(request):
            return ("sku",)
        return super().get_ordering(request)

    # Other apps' columns, filters and inlines, declared in their StoreExtension (see
    # store.extensions for why the admin reads them rather than being replaced).
    def get_list_display(self, request):
        own = super().get_list_display(request)
        if units_view(request):
            own = tuple("unit_title" if name == "title" else name for name in own)
        return (*own, *(c.display for c in extensions.admin_list_columns()))

    def get_list_display_links(self, request, list_display):
        if units_view(request):
            return ("unit_title",)
        return super().get_list_display_links(request, list_display)

    def get_list_filter(self, request):
        if units_view(request):
            # Other apps' filters choose products (tags): not in the sellable-units view.
            return self.units_list_filter
        return (*super().get_list_filter(request), *extensions.admin_list_filters())

    def get_inlines(self, request, obj):
        own = super().get_inlines(request, obj)
        if obj is not None and obj.is_parent:
            own = (*own, VariantInline)
        return (*own, *extensions.admin_inlines())

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.is_parent and not _is_past_version(request):
            return self._parent_fieldsets(fieldsets)
        if obj is None or not obj.is_variant:
            return fieldsets
        # A variant's page (its "Change" link from its product's page or the sellable-units view):
        # no options, slug, collection, status or promotions of its own (its product's).
        own = []
        for name, options in fieldsets:
            fields = [field for field in options["fields"] if field not in VARIANT_HIDDEN_FIELDS]
            if fields:
                own.append((name, {**options, "fields": fields}))
        return own

    @staticmethod
    def _parent_fieldsets(fieldsets):
        """A product with variants' page: its variants' price range and stock in place of its own
        price, inventory and tracking, which nothing sells from (its variants are sold)."""
        own = []
        for name, options in fieldsets:
            fields = list(options["fields"])
            if any(field in PARENT_OWN_STOCK_FIELDS for field in fields):
                at = min(fields.index(field) for field in PARENT_OWN_STOCK_FIELDS if field in fields)
                fields = [field for field in fields if field not in PARENT_OWN_STOCK_FIELDS]
                fields.insert(at, PARENT_PRICE_AND_STOCK)
                options = {**options, "fields": fields, "description": PARENT_PRICE_AND_STOCK_HELP}
            own.append((name, options))
        return own

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None and obj.is_variant else super().get_prepopulated_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and obj.is_parent:
            # Its variants are sold, at their prices and from their stock (the variants inline); its
            # price and compare-at price are its cheapest variant's (store.variants.rollup).
            return (*readonly, *PARENT_OWN_STOCK_FIELDS, "compare_at_price", PARENT_PRICE_AND_STOCK)
        return readonly

    def get_changeform_initial_data(self, request):
        # New products made here start as drafts (imports and fixtures make active ones:
        # the model default); the field is on the form, so the user may pick otherwise.
        return {"status": Product.Status.DRAFT, **super().get_changeform_initial_data(request)}

    def get_search_results(self, request, queryset, search_term):
        if is_line_picker(request):
            # The autocomplete of order and cart lines: a sellable unit, by its product's title,
            # its option values or its SKU, named with its product ("T-Shirt — Green / S").
            return selectors.product_pick_units(term=search_term, queryset=queryset), False
        if units_view(request):
            if not search_term.strip():  # the rows are chosen already (ProductChangeList.root_queryset)
                return queryset, False
            # Sellable units: a variant by its SKU, its option values or its product's title. A
            # common word's page is read by walking the view's order (the SKU index) and testing
            # each unit, as the order-line picker walks: its ~80k units at 1M were read and sorted.
            units = selectors.product_search_sellable_units(term=search_term, queryset=queryset, walk_common=True)
            return units, False
        # Best matches first, unless a column header was clicked (the changelist has ordered
        # the queryset by it already).
        ranked = ORDER_VAR not in request.GET
        return selectors.product_search(term=search_term, queryset=queryset, ranked=ranked), False

    def get_changelist(self, request, **kwargs):
        return ProductChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if is_line_picker(request):
            return LookaheadPaginator(queryset, per_page, orphans, allow_empty_first_page)
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        # The stock filter of products judges a product with variants by a subquery on its
        # variants (the sellable-units view's reads each row's own columns).
        if isinstance(paginator, CappedCountPaginator):
            paginator.per_row_filter = bool(request.GET.get(InventoryFilter.parameter_name)) and not units_view(request)
            # The sellable-units view's search counts up to a search's cap, as the product list's does.
            paginator.counted_as_search = units_view(request) and bool(request.GET.get(SEARCH_VAR, "").strip())
            paginator.units_by_title = self._units_by_title(request, queryset)
            # Filtered or searched: the walk tests each unit.
            paginator.units_filtered = not set(request.GET) <= UNITS_WALK_PARAMETERS
        return paginator

    @staticmethod
    def _units_by_title(request, queryset: QuerySet[Product]) -> bool | None:
        """The sellable-units view in its title order: whether descending; None otherwise."""
        if not units_view(request):
            return None
        for descending in (False, True):
            if queryset.query.order_by == units_in_title_order(queryset=queryset, descending=descending).query.order_by:
                return descending
        return None

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, **{"form": ProductListEditForm, **kwargs})

    def save_model(self, request, obj, form, change):
        options = form.cleaned_data.get("options")
        if options and variant_services.options_render(options) != form.initial.get("options", ""):
            variant_services.product_options_save(
                product=obj,
                options=options,
                expected_version=form.cleaned_data.get("loaded_version") if change else None,
                user=request.user,
            )
            return
        if change:
            services.product_update(
                product=obj, expected_version=form.cleaned_data["loaded_version"], user=request.user
            )
        else:
            services.product_create(product=obj, user=request.user)

    def save_related(self, request, form, formsets, change):
        """The inlines and promotions, then what they changed (tags, images, promotions) recorded
        against the history row this save made, for the history page (store.history)."""
        if not formsets and "promotions" not in form.fields:  # a list edit: price and inventory only
            return super().save_related(request, form, formsets, change)
        before = product_history.product_related_snapshot(product_id=form.instance.pk if change else None)
        super().save_related(request, form, formsets, change)
        product_history.product_related_changes_record(product_id=form.instance.pk, before=before)
        return None

    def history_related_changes(self, request, records):
        return {
            history_id: [{"field": delta.field, "old": delta.old, "new": delta.new} for delta in deltas]
            for history_id, deltas in product_history.product_history_related_changes(records=records).items()
        }

    def save_formset(self, request, form, formset, change):
        if formset.model is Product:
            variant_formset_save(formset=formset, user=request.user)
            return None
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        for image in formset.save(commit=False):
            image_services.product_image_save(image=image)
        for image in formset.deleted_objects:
            image_services.product_image_delete(image=image)
        formset.save_m2m()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.ProductVersionConflict as conflict:
            # Lost the race between the form's check and the save: nothing was written.
            self.message_user(request, " ".join(conflict.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # Images an import listed that are still being fetched, or failed (and why).
            context["image_fetch_notes"] = [
                self._image_fetch_note(request, note) for note in product_image_fetch_notes(product_id=obj.pk)
            ]
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _image_fetch_note(self, request, note: ImageFetchNote) -> tuple[str, str]:
        """(css class, HTML): "2 images from import #12 are still being fetched.", "1 image could not
        be fetched: the server name could not be found. Retry from import #12." The import is a link
        for whoever may open it (its uploader, or with store.manage_others_imports)."""
        job: str = f"import #{note.import_job_id}" if note.import_job_id else "an import"
        user = request.user
        if (
            note.import_job_id
            and self.admin_site.get_model_admin(ImportJob).has_view_permission(request)
            and (note.uploader_id == user.pk or user.has_perm(MANAGE_OTHERS_PERMISSION))
        ):
            url = reverse("admin:store_importjob_change", args=[note.import_job_id], current_app=self.admin_site.name)
            job = format_html('<a href="{}#images">{}</a>', url, job)
        if not note.failed:
            text = ngettext(
                "%(count)d image from {} is still being fetched.",
                "%(count)d images from {} are still being fetched.",
                note.count,
            ) % {"count": note.count}
            return "image-fetch-pending", format_html(text, job)
        text = ngettext(
            "%(count)d image could not be fetched: {}. Retry from {}.",
            "%(count)d images could not be fetched: {}. Retry from {}.",
            note.count,
        ) % {"count": note.count}
        return "image-fetch-failed", format_html(text, note.reason or "no reason recorded", job)

    def action_checkbox(self, obj):
        """The row's checkbox, plus the version the row was shown with (for Clear inventory)."""
        # Django's checkbox (ModelAdmin.action_checkbox), rendered without the template engine.
        checkbox = FastCheckboxInput(
            {"class": "action-select", "aria-label": format_html(_("Select this object for an action - {}"), str(obj))},
            lambda value: False,
        )
        return format_html(
            '{}<input type="hidden" name="{}" value="{}:{}">',
            checkbox.render(helpers.ACTION_CHECKBOX_NAME, str(obj.pk)),
            LOADED_VERSION_FIELD,
            obj.pk,
            obj.version,
        )

    def changelist_view(self, request, extra_context=None):
        # Taken before the rows are read: a row written after this moment is newer than the page.
        extra_context = {**(extra_context or {}), "loaded_at": timezone.now().isoformat()}
        try:
            return super().changelist_view(request, extra_context)
        except services.ProductVersionConflict as conflict:
            self.message_user(request, "Nothing was saved. " + " ".join(conflict.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def revert_disabled(self, request, obj=None):
        # Historical versions are shown read-only; see history_form_view.
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """View a past version; never save from here.

        simple-history would save a POST here with only the view permission, and
        from a historical copy whose version is not the row's: both would bypass
        the locking and permissions of the change form.
        """
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    @admin.display(description="collection")
    def collection_link(self, row):
        product = product_of(row)
        if product.collection_id is None:
            return "–"
        url = object_url("admin:store_collection_change", product.collection_id)
        return format_html('<a href="{}">{}</a>', url, product.collection)

    @admin.display(description="title", ordering=UNIT_TITLE)
    def unit_title(self, row):
        """The sellable-units view's title: a variant's with its product's ("T-Shirt — Green / S")."""
        product = product_of(row)
        return row.title if product is row else f"{product.title} — {row.title}"

    @admin.display(description="image")
    def thumbnail(self, product):
        return thumbnail_html(getattr(product, "first_image_path", None), size=THUMBNAIL_LIST)

    def variants_summary(self, product) -> str:
        """A product with variants: how many, their price range and their stock in total; else ""."""
        count = getattr(product, "variant_count", 0)
        if not count:
            return ""
        prices = variant_price_range(product)
        stock = product.variant_stock
        in_stock = "stock not tracked" if stock is None else f"{stock} in stock"
        label = ngettext("%(count)d variant", "%(count)d variants", count) % {"count": count}
        return f"{label} · {prices} · {in_stock}"

    @admin.display(description="variants")
    def variants_price_and_stock(self, product):
        """A product with variants' page: how many, their price range and their stock in total."""
        summarised = selectors.product_list_with_variant_summary(queryset=Product.objects.filter(pk=product.pk)).first()
        return (summarised and self.variants_summary(summarised)) or _("no variants yet")

    @admin.display(description="stock", ordering="inventory")
    def inventory_status(self, product):
        status = selectors.product_variant_stock_status(product=product)
        badge = format_html(
            '<span class="stock-badge stock-{}">{}</span>', status, selectors.STOCK_STATUS_LABELS[status]
        )
        summary = self.variants_summary(product)
        if summary:
            # In the stock column, not a column of its own: the list keeps fitting a laptop's screen.
            return format_html('{}<br><small class="variant-summary">{}</small>', badge, summary)
        return badge

    @admin.display(description="status")
    def status_badge(self, row):
        # Not sortable: ORDER BY status, id has no index to walk at a million rows.
        product = product_of(row)
        return format_html(
            '<span class="status-badge status-{}">{}</span>', product.status, product.get_status_display()
        )

    @admin.action(description="Clear inventory", permissions=["change"])
    def clear_inventory(self, request, queryset):
        """Clear what the user saw: rows changed since the list was loaded are refused and named."""
        result = services.product_clear_inventory(
            products=queryset,
            user=request.user,
            loaded_versions=_loaded_versions(request),
            loaded_at=_loaded_at(request),
        )
        self._report_updated(request, result.updated)
        if result.stale:
            shown = ", ".join(f"“{row.title}” (now {row.inventory})" for row in result.stale[:STALE_SHOWN])
            more = len(result.stale) - STALE_SHOWN
            self.message_user(
                request,
                ngettext(CLEAR_STALE_ONE, CLEAR_STALE_MANY, len(result.stale))
                % {"count": len(result.stale), "products": shown + (f" and {more} more" if more > 0 else "")},
                messages.WARNING,
            )

    @admin.action(description="Publish (make active)", permissions=["change"])
    def publish(self, request, queryset):
        self._set_status(request, queryset, Product.Status.ACTIVE)

    @admin.action(description="Unpublish (back to draft)", permissions=["change"])
    def unpublish(self, request, queryset):
        self._set_status(request, queryset, Product.Status.DRAFT)

    @admin.action(description="Archive", permissions=["change"])
    def archive(self, request, queryset):
        self._set_status(request, queryset, Product.Status.ARCHIVED)

    def _set_status(self, request, queryset, status: str) -> None:
        updated = services.product_set_status(products=queryset, status=status, user=request.user)
        self._report_updated(request, updated)

    def _report_updated(self, request, updated: int) -> None:
        self.message_user(
            request,
            ngettext("%(count)d product was updated.", "%(count)d products were updated.", updated)
            % {"count": updated},
            messages.SUCCESS,
        )


@admin.register(Collection)
class CollectionAdmin(SafeAutocompleteMixin, admin.ModelAdmin):
    list_display = ("title", "products_count", "featured_product")
    list_select_related = ("featured_product",)
    list_per_page = 100
    search_fields = ("title",)
    autocomplete_fields = ("featured_product",)

    def get_queryset(self, request):
        return selectors.collection_list_with_products_count().order_by("title")

    @admin.display(description="products", ordering="products_count")
    def products_count(self, collection):
        query = urlencode({f"{CollectionFilter.field_name}__pk__exact": collection.pk})
        url = f"{reverse('admin:store_product_changelist')}?{query}"
        return format_html('<a href="{}">{}</a>', url, collection.products_count)


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ("description", "discount", "products_count")
    list_per_page = 100
    search_fields = ("description",)

    def get_queryset(self, request):
        return selectors.promotion_list_with_products_count().order_by("description", "pk")

    @admin.display(description="products", ordering="products_count")
    def products_count(self, promotion):
        query = urlencode({"promotions__id__exact": promotion.pk})
        url = f"{reverse('admin:store_product_changelist')}?{query}"
        return format_html('<a href="{}">{}</a>', url, promotion.products_count)
