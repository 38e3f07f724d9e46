"""Reads of products with variants: their options, what a product sells (its offer: price, stock,
variants) as the catalog API serves it, and the queryset pieces that make the API's filters and
orderings read a product with variants by its variants (docs/decisions/0017)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, Exists, F, Func, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import IsNull

from store.models import Product, ProductQuerySet, ProductSearchTerm, price_with_tax
from store.sql import keyset_q

logger = logging.getLogger(__name__)

PARENT = Product.Structure.PARENT
VARIANT = Product.Structure.VARIANT
#: what the API reads of a variant (never its cost per item)
VARIANT_API_FIELDS = (
    "id",
    "parent_id",
    "structure",
    "sku",
    "title",
    "unit_price",
    "compare_at_price",
    "inventory",
    "track_inventory",
    "barcode",
    "weight",
    "weight_unit",
    "option1",
    "option2",
    "option3",
    "last_update",
    "variant_image__id",
    "variant_image__image",
)
#: the API's orderings whose value a product with variants takes from its variants -> their sort keys
API_SORT_KEYS = {"last_update": "api_sort_last_update"}


@dataclass(frozen=True)
class Option:
    name: str
    values: tuple[str, ...]


def options_in_use(*, names: Sequence[str], value_rows: Iterable[Sequence[str]]) -> list[Option]:
    """Each option name with the values ``value_rows`` (variants' option1..3, in the order the
    variants were made) use, in first-use order."""
    values: list[dict[str, None]] = [{} for _name in names]
    for row in value_rows:
        for index, value in enumerate(row[: len(names)]):
            if value:
                values[index].setdefault(value, None)
    return [Option(name, tuple(found)) for name, found in zip(names, values, strict=True)]


@dataclass(frozen=True)
class ProductOffer:
    """What a product sells, as the API serves it. A product without variants sells itself; a
    product with variants sells its variants: its price is its cheapest variant's (with that
    variant's compare-at price), its stock their tracked stock, in stock when any of them is,
    last updated when it or any of them was."""

    unit_price: Decimal
    compare_at_price: Decimal | None
    inventory: int
    in_stock: bool
    #: Σ inventory of the units whose stock is tracked; None when none is
    total_stock: int | None
    price_min: Decimal
    price_max: Decimal
    last_update: datetime
    options: list[Option] = field(default_factory=list)
    variants: list[Product] = field(default_factory=list)

    @property
    def price_with_tax(self) -> Decimal:
        return price_with_tax(self.unit_price)


def product_offer(*, product: Product, variants: Sequence[Product]) -> ProductOffer:
    """``product``'s offer; ``variants`` are its variants (``variant_list_for_api``), in order."""
    if product.structure != PARENT:
        return ProductOffer(
            unit_price=product.unit_price,
            compare_at_price=product.compare_at_price,
            inventory=product.inventory,
            in_stock=product.in_stock,
            total_stock=product.inventory if product.track_inventory else None,
            price_min=product.unit_price,
            price_max=product.unit_price,
            last_update=product.last_update,
        )
    options = options_in_use(
        names=product.option_names, value_rows=[(v.option1, v.option2, v.option3) for v in variants]
    )
    if not variants:  # every variant removed: nothing to sell
        return ProductOffer(
            unit_price=product.unit_price,
            compare_at_price=None,
            inventory=0,
            in_stock=False,
            total_stock=None,
            price_min=product.unit_price,
            price_max=product.unit_price,
            last_update=product.last_update,
            options=options,
        )
    cheapest = min(variants, key=lambda variant: (variant.unit_price, variant.pk))
    tracked = [variant.inventory for variant in variants if variant.track_inventory]
    return ProductOffer(
        unit_price=cheapest.unit_price,
        compare_at_price=cheapest.compare_at_price,
        inventory=sum(tracked),
        in_stock=any(variant.in_stock for variant in variants),
        total_stock=sum(tracked) if tracked else None,
        price_min=cheapest.unit_price,
        price_max=max(variant.unit_price for variant in variants),
        last_update=max([product.last_update, *(variant.last_update for variant in variants)]),
        options=options,
        variants=list(variants),
    )


def variant_list_for_api(*, product_ids: Iterable[int]) -> QuerySet[Product]:
    """The variants of these products (ids of products with variants), in the order they were
    made, with their image: one query."""
    return (
        Product.objects.filter(structure=VARIANT, parent_id__in=list(product_ids))
        .select_related("variant_image")
        .only(*VARIANT_API_FIELDS)
        .order_by("parent_id", "pk")
    )


def product_offers(*, products: Sequence[Product]) -> dict[int, ProductOffer]:
    """{product id: offer} for these products: one query when any has variants, none otherwise."""
    parent_ids = [product.pk for product in products if product.structure == PARENT]
    variants: dict[int, list[Product]] = {pk: [] for pk in parent_ids}
    if parent_ids:
        for variant in variant_list_for_api(product_ids=parent_ids):
            variants[variant.parent_id or 0].append(variant)  # (always set: a variant's product)
    return {product.pk: product_offer(product=product, variants=variants.get(product.pk, [])) for product in products}


def variant_product_id(*, variant_id: int, products: QuerySet[Product]) -> int | None:
    """The id of the product (among ``products``) the variant ``variant_id`` belongs to, or None."""
    parent_id = (
        Product.objects.filter(pk=variant_id, structure=VARIANT, parent__in=products.values("pk"))
        .values_list("parent_id", flat=True)
        .first()
    )
    return parent_id


# --- Filters and orderings of products, by their variants ------------------------------------
def _is_parent_with(variants: QuerySet[Product]) -> Q:
    """A product with variants one of which is in ``variants`` (a semi-join on the parent index)."""
    return Q(structure=PARENT, pk__in=variants.filter(structure=VARIANT).values("parent_id"))


def _has_variant(condition: Q) -> Q:
    """A product with variants one of which meets ``condition``, tested row by row: the first
    such variant of the row, a correlated subquery on a ``(parent, …)`` index.

    Not ``pk IN (<the variants' parents>)`` (``_is_parent_with``), nor ``EXISTS`` (which MariaDB
    turns into that ``IN``): OR-ed with the row's own condition, MariaDB materialised every
    matching variant's parent from a full index scan before the first row of a page (0.4 s a
    page at 1M sellable units); a page walks its order and stops after a page."""
    return Q(structure=PARENT) & Q(IsNull(_first_variant(condition, of="pk"), False))


def _price_bounds(*, above: Decimal | None, below: Decimal | None) -> Q:
    bounds = Q()
    if above is not None:
        bounds &= Q(unit_price__gt=above)
    if below is not None:
        bounds &= Q(unit_price__lt=below)
    return bounds


#: a row's own stock is sellable (``Product.in_stock``)
SELLABLE = Q(inventory__gt=0) | Q(track_inventory=False)


def product_list_priced_within(
    *, queryset: QuerySet[Product], above: Decimal | None = None, below: Decimal | None = None
) -> QuerySet[Product]:
    """Products priced strictly within (above, below) (either bound may be None): a product with
    variants when any one of its variants is, both bounds applying to that same variant.
    ``queryset``: products (none a variant: the API's).

    Counted and found among the rows that can match (``_priced_within_parts``): ``_counted_by``."""
    bounds = _price_bounds(above=above, below=below)
    if not bounds:
        return queryset
    matches = queryset.filter((~Q(structure=PARENT) & bounds) | _has_variant(bounds))
    if below is not None:  # for a walk in price order (_walked_products): an alias no SQL selects
        matches = matches.alias(**{_PRICED_BELOW: Value(below)})
    return _counted_by(matches, lambda: _priced_within_parts(queryset=queryset, bounds=bounds), within=queryset)


def product_list_in_stock(*, in_stock: bool, queryset: QuerySet[Product]) -> QuerySet[Product]:
    """Sellable products (stock not tracked, or some left; ``Product.in_stock``), or the others;
    a product with variants is sellable when any of its variants is. ``queryset``: products (none
    a variant: the API's).

    Counted from the rows that can be not sellable (``_not_in_stock_parts``); found among those
    (``in_stock=false``) or the sellable ones (``_in_stock_parts``): ``_counted_by``."""
    matches = (~Q(structure=PARENT) & SELLABLE) | _has_variant(SELLABLE)
    if not in_stock:
        return _counted_by(queryset.exclude(matches), lambda: _not_in_stock_parts(queryset=queryset), within=queryset)
    # Found among the sellable ones (few when most of the catalog is sold out), counted as the
    # products less those not in stock: these are the few (in_stock=false's rows).
    return _counted_by(
        queryset.filter(matches),
        lambda: _in_stock_parts(queryset=queryset),
        within=queryset,
        count=lambda: queryset.count() - _count(_not_in_stock_parts(queryset=queryset)),
    )


def _counted_by(
    matches: QuerySet[Product],
    parts: Callable[[], list[QuerySet[Product]]],
    *,
    within: QuerySet[Product],
    count: Callable[[], int] | None = None,
) -> QuerySet[Product]:
    """``matches``, the rows of ``within`` that ``parts`` (disjoint querysets of products) hold:
    counted as their counts' sum, or by ``count`` when given (``ProductQuerySet.counted_by``),
    found among their ids (``found_among``, ``ProductPages``)."""
    if not isinstance(matches, ProductQuerySet):
        return matches
    counted = matches.counted_by(count or (lambda: _count(parts())))
    return counted.found_among(lambda limit: _ids(parts(), limit=limit), within=within)


def _count(parts: list[QuerySet[Product]]) -> int:
    return sum(part.count() for part in parts)


def _ids(parts: list[QuerySet[Product]], *, limit: int) -> list[int] | None:
    """The ids of the rows of ``parts``, or None when they are more than ``limit``: a query a part
    (each stops at the ``limit + 1``-th row, so that a list of many matches reads few of them)."""
    ids: list[int] = []
    for part in parts:
        ids += part.order_by().values_list("pk", flat=True)[: limit + 1 - len(ids)]
        if len(ids) > limit:
            return None
    return ids


def _first_variant(condition: Q, *, of: str) -> Subquery:
    """The id of the first variant of the product whose id is the outer row's ``of`` that meets
    ``condition`` (NULL: none does): a correlated subquery on a ``(parent, …)`` index."""
    return Subquery(Product.objects.filter(condition, parent=OuterRef(of)).order_by().values("pk")[:1])


def _priced_within_parts(*, queryset: QuerySet[Product], bounds: Q) -> list[QuerySet[Product]]:
    """What ``product_list_priced_within`` keeps of ``queryset`` (products, none a variant: the
    API's) for ``bounds``, as the rows that can match: those without variants priced within (the
    structure index), and those whose id is the parent of a variant priced within (a semi-join:
    MariaDB reads the variants' parents once from the ``(parent, unit_price)`` index and looks
    each product up among them).

    The page's condition counted row by row tested each of the 190k active products at 1M
    sellable units (0.6 s); read at once, the parents of the matching variants cost ~0.3 s
    (docs/performance.md). Only a product with variants has variants (decision 0017)."""
    own = queryset.filter(bounds, structure=Product.Structure.STANDALONE)
    parents = Product.objects.filter(bounds, parent__isnull=False).values("parent_id")
    return [own, queryset.filter(pk__in=parents)]


def _in_stock_parts(*, queryset: QuerySet[Product]) -> list[QuerySet[Product]]:
    """What ``product_list_in_stock(in_stock=True)`` keeps of ``queryset`` (products, none a
    variant: the API's), as the rows that can match: products without variants whose own stock
    is sellable, and the parents of the sellable variants (a semi-join, read once)."""
    own = queryset.filter(SELLABLE, structure=Product.Structure.STANDALONE)
    parents = Product.objects.filter(SELLABLE, parent__isnull=False).values("parent_id")
    return [own, queryset.filter(pk__in=parents)]


def _not_in_stock_parts(*, queryset: QuerySet[Product]) -> list[QuerySet[Product]]:
    """What ``product_list_in_stock(in_stock=False)`` keeps of ``queryset`` (products, none a
    variant: the API's), as the few rows that can be not sellable:

    - products without variants whose own stock is out (the structure index);
    - products with variants but none (their ``has_tracked_variant`` is off: the structure
      index, ``store.variants.rollup``);
    - products with a tracked variant out of stock and no sellable one: the parents of the
      variants out of stock (5 % of them) that have no sellable sibling, read once (a semi-join).

    The page's condition counted row by row tested each of the 190k active products at 1M
    sellable units (0.6–0.9 s); this tests the 50k variants out of stock (~0.3 s,
    docs/performance.md)."""
    own = queryset.filter(structure=Product.Structure.STANDALONE, track_inventory=True, inventory__lte=0)
    without_variants = queryset.filter(structure=PARENT, track_inventory=False, has_tracked_variant=False).filter(
        IsNull(_first_variant(Q(), of="pk"), True)
    )
    # The sibling test last: MariaDB tests a row's conditions in the order written.
    sold_out = (
        Product.objects.filter(parent__isnull=False, track_inventory=True, inventory__lte=0)
        .filter(IsNull(_first_variant(SELLABLE, of="parent_id"), True))
        .values("parent_id")
    )
    return [own, without_variants, queryset.filter(pk__in=sold_out)]


def catalog_has_variants() -> bool:
    """Whether any product has variants: one lookup on the parent index."""
    return Product.objects.filter(parent__isnull=False).exists()


def product_list_updated_since(*, since: datetime, queryset: QuerySet[Product]) -> QuerySet[Product]:
    """Products saved at or after ``since``, or one of whose variants was (added or saved).

    The OR with the variants' products is no range of the ``last_update`` index: a catalog
    without variants keeps the range (one lookup says so)."""
    changed = Q(last_update__gte=since)
    if catalog_has_variants():
        changed |= _is_parent_with(Product.objects.filter(last_update__gte=since))
    return queryset.filter(changed)


def product_list_ordered(*, queryset: QuerySet[Product], ordering: Sequence[str]) -> QuerySet[Product] | ProductPages:
    """``queryset`` (the API's products: active ones, none of them a variant) in the API's
    ``ordering`` (field names, ``-`` for descending, ending in the id). A product with variants
    sorts by the values it is served with: ``unit_price`` by its cheapest variant's price, which
    its own column holds (``store.variants.rollup``), ``last_update`` by its own or its latest
    variant's, whichever is later.

    ``unit_price`` first: a page's ids walk the ``(parent, unit_price)`` index
    (``_walked_products``), then its rows are read by id. ``last_update`` alone (either way):
    ``product_page_by_latest_update``. Any other order with ``last_update`` sorts every match
    on the computed key (no index holds it); when the catalog has no variant at all (one index
    lookup says so), the plain column and its index serve the order as before variants. A filter
    that says among which ids its rows are (``ProductQuerySet.found_among``) has its pages read
    from them when they are few, in any of these orders (``ProductPages``, ``FEW_MATCHES``)."""
    keyed = [term for term in ordering if term.removeprefix("-") in API_SORT_KEYS]
    if not (keyed and catalog_has_variants()):
        terms, keys = list(ordering), _as_is
    else:
        terms, keys = [_sort_term(term) for term in ordering], _with_latest_update_key
    ordered = keys(queryset).order_by(*terms)
    found_among = isinstance(queryset, ProductQuerySet) and queryset.found() is not None
    if keys is _with_latest_update_key and list(ordering) in (["last_update", "id"], ["-last_update", "-id"]):
        descending = ordering[0].startswith("-")
        return ProductPages(
            queryset=queryset,
            rows=ordered,
            page=lambda start, stop: product_page_by_latest_update(
                queryset=queryset, descending=descending, start=start, stop=stop
            ),
        )
    if ordering and ordering[0].removeprefix("-") == "unit_price":

        def page(start: int, stop: int) -> list[Product]:
            ids = list(keys(_walked_products(queryset)).order_by(*terms).values_list("pk", flat=True)[start:stop])
            return list(ordered.filter(pk__in=ids)) if ids else []

        return ProductPages(queryset=queryset, rows=ordered, page=page)
    # A filter whose matches may be few (ProductPages), in an order of an index that a page walks:
    # not a search's rank (every product the search finds is ranked and sorted, no walk to spare).
    if found_among and ordering and ordering[0].removeprefix("-") not in queryset.query.annotations:
        return ProductPages(queryset=queryset, rows=ordered, page=lambda start, stop: list(ordered[start:stop]))
    return ordered


def _as_is(queryset: QuerySet[Product]) -> QuerySet[Product]:
    return queryset


#: the upper price bound of ``product_list_priced_within`` (an alias, never selected)
_PRICED_BELOW = "_priced_below"


def _walked_products(queryset: QuerySet[Product]) -> QuerySet[Product]:
    """The products (``parent IS NULL``) that are in ``queryset``, tested one by one (``EXISTS``):
    a walk of a ``(parent, <column>)`` index that ``queryset``'s own conditions do not steer.

    With ``status = 'active' AND parent_id IS NULL`` in one ``WHERE``, MariaDB read the
    ``(status, title)`` index and sorted, or walked the plain price index, variants and all (the
    descending walk passed every variant priced above its product: 45 ms a page at 1M sellable
    units, 0.6 ms by ``(parent, unit_price)``). A product not in ``queryset`` costs a primary-key
    lookup; a narrow filter (a collection) is turned into a semi-join by MariaDB and sorted, as
    the plain query was."""
    walked = Product.objects.filter(parent__isnull=True)
    below = queryset.query.annotations.get(_PRICED_BELOW)
    if isinstance(below, Value):
        # Priced below it (product_list_priced_within): no product priced at or above it is one,
        # since a product with variants holds its cheapest variant's price. A walk of the price
        # index then starts (descending) or ends (ascending) there: the descending walk of
        # ``unit_price__gt=100&unit_price__lt=200`` passed every product priced above 200
        # (2.4 s at 1M sellable units).
        walked = walked.filter(unit_price__lt=below.value)
    return walked.filter(Exists(queryset.order_by().filter(pk=OuterRef("pk"))))


#: A filtered list of at most this many products, and at most one in ``FEW_MATCHES_SHARE`` of
#: those its filter chose from, reads its pages from their ids, when its filter says among which
#: ids they are (``ProductQuerySet.found_among``): a walk of the list's order tests every product
#: before the page's last match (all 190k active ones at 1M sellable units for one product sold
#: out: 2.1 s), where the ids cost what the filter's count costs (the same rows, each query
#: stopping past this many). Chosen by the list's count, which the paginator has read (or kept)
#: before the page: a dense filter reads no id, and its walk stops after a page; a filter that
#: keeps more than one product in 20 (10k sellable units: 1,900 of 1,900 in stock) finds a page
#: within 20 × its size rows of the walk.
FEW_MATCHES = 2_000
FEW_MATCHES_SHARE = 20


class ProductPages:
    """The API's products in an order whose pages are read otherwise than as a slice of the
    counted queryset: what Django's paginator asks of its object list (``count()``, a slice,
    ``ordered``). ``count()`` counts ``queryset`` (once); ``[start:stop]`` is ``page(start,
    stop)``, a walk of the order, or, for a list of ``FEW_MATCHES`` or fewer products whose
    filter says among which ids they are, ``rows`` (``queryset`` sorted) of those ids alone."""

    ordered = True

    def __init__(
        self, *, queryset: QuerySet[Product], rows: QuerySet[Product], page: Callable[[int, int], list[Product]]
    ) -> None:
        self.queryset = queryset
        self.rows = rows
        self.page = page
        self.known_count: int | None = None

    def count(self) -> int:
        """``queryset``'s count, counted once (or as the paginator kept it: ``known_count``)."""
        if self.known_count is None:
            self.known_count = self.queryset.count()
        return self.known_count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[Product]:
        if not isinstance(key, slice) or key.step is not None:
            raise TypeError("ProductPages are read by slices of rows")
        start = key.start or 0
        stop = self.count() if key.stop is None else key.stop
        if stop <= start:
            return []
        ids = self._few_ids()
        if ids is not None:
            return list(self.rows.filter(pk__in=ids)[start:stop]) if ids else []
        return self.page(start, stop)

    def _few_ids(self) -> list[int] | None:
        """The ids among which the list's rows are, when they are few (``FEW_MATCHES``); None
        when they are not, or unknown."""
        found = self.queryset.found() if isinstance(self.queryset, ProductQuerySet) else None
        if found is None or self.count() > FEW_MATCHES:
            return None
        ids, within = found
        # No more than count × share products to choose from (the index alone, up to there): a
        # walk finds a page soon. Counting them all cost 40 ms at 1M sellable units.
        beyond = self.count() * FEW_MATCHES_SHARE
        if not within.order_by().values_list("pk", flat=True)[beyond : beyond + 1]:
            return None
        return ids(FEW_MATCHES)


#: The deepest row (``stop``) a page of ``ordering=last_update`` or ``-last_update`` is walked
#: to; a deeper page sorts every product on the computed key, as before the walk.
LATEST_UPDATE_WALK_DEPTH = 1_000
#: Rows a walk reads a query (variants: newest first; products: oldest first).
LATEST_UPDATE_WALK_CHUNK = 2_000
#: Rows a walk reads in all before it gives up and sorts every product on the computed key.
LATEST_UPDATE_WALK_BUDGET = 20_000
#: The key a product is served with as its last update (``product_offer``), annotated.
LATEST_UPDATE_KEY = API_SORT_KEYS["last_update"]


def _with_latest_update_key(queryset: QuerySet[Product]) -> QuerySet[Product]:
    """``queryset`` with ``LATEST_UPDATE_KEY``: a product with variants' own last update or its
    latest variant's, whichever is later (a correlated ``MAX`` on the ``(parent, last_update)``
    index for each product with variants); any other product's own."""
    # Only a variant has a parent (the structure CHECK constraint). A plain MAX() over the parent
    # index: the GROUP BY ... LIMIT 1 shape of an ORM aggregate took 3x as long on MariaDB.
    variants = Product.objects.filter(parent=OuterRef("pk")).order_by()
    latest = Subquery(variants.annotate(value=Func(F("last_update"), function="MAX")).values("value"))
    key = Case(
        When(structure=PARENT, then=Greatest(F("last_update"), Coalesce(latest, F("last_update")))),
        default=F("last_update"),
    )
    return queryset.annotate(**{LATEST_UPDATE_KEY: key})


def _sort_term(term: str) -> str:
    """An ordering term, the computed key's name for ``last_update``."""
    name = term.removeprefix("-")
    name = API_SORT_KEYS.get(name, name)
    return f"-{name}" if term.startswith("-") else name


def product_page_by_latest_update(
    *, queryset: QuerySet[Product], descending: bool, start: int, stop: int
) -> list[Product]:
    """Rows ``start:stop`` of ``queryset`` (the API's products: none a variant) by the last
    update they are served with (``_with_latest_update_key``), then id, both ``descending`` or
    not: exactly the sort of every product on the computed key, which no index holds (2.7 s a
    page at 1M sellable units), computed for a few candidates walked from indexes instead
    (``_latest_first_candidates``, ``_oldest_first_candidates``). A page deeper than
    ``LATEST_UPDATE_WALK_DEPTH``, or a walk past ``LATEST_UPDATE_WALK_BUDGET`` rows, sorts
    every product."""
    sign = "-" if descending else ""
    rows = _with_latest_update_key(queryset).order_by(f"{sign}{LATEST_UPDATE_KEY}", f"{sign}pk")
    if stop <= LATEST_UPDATE_WALK_DEPTH:
        find = _latest_first_candidates if descending else _oldest_first_candidates
        candidates = find(queryset=queryset, top=stop)
        if candidates is not None:
            rows = rows.filter(pk__in=sorted(candidates))
        else:
            logger.info("The API's last-update order of %d products sorted: its walk read too many rows", stop)
    return list(rows[start:stop])


#: a place in a walk of the ``last_update`` index: (last update, id)
_Stamp = tuple[datetime, int]


def _latest_first_candidates(*, queryset: QuerySet[Product], top: int) -> set[int] | None:
    """Ids of products of ``queryset`` among which are its ``top`` first by (served last update,
    id), newest first; None when the walk reads more than ``LATEST_UPDATE_WALK_BUDGET`` variants.

    A product's key is ``max(own, variants')`` with its id, K = ``top``, and two walks give the
    candidates:

    - A: the K first products by their own (last update, id), newest first (the ``(parent,
      last_update)`` index, ``parent IS NULL``), the K-th at ``floor``;
    - B: the products of the variants by (last update, id), newest first (the ``last_update``
      index), from the newest down to ``floor``'s last update, or, sooner, down to the last
      update of the variant that found the K-th product of ``queryset`` and past every variant
      of that same last update.

    A product P of the true top K that is not in A has its own (last update, id) below
    ``floor``; A's K products have keys at least their own, at least ``floor``, so the K-th key
    is at least ``floor`` and so is P's: its key is not its own, it is its latest variant's
    (last update, P's id) >= ``floor``: that variant is walked (last update >= floor's). When the
    walk stops sooner, K products of ``queryset`` each have a variant at or after the stopping
    last update V, all read; P's latest variant, if not read, is before V, and P's key, below
    theirs, is not in the top K. Ties of last update are walked whole, and ids break them in
    the final sort of the candidates (``product_page_by_latest_update``), as in the full sort."""
    own = _walked_products(queryset).order_by("-last_update", "-pk").values_list("last_update", "pk")
    first: list[_Stamp] = list(own[:top])
    candidates = {pk for _stamp, pk in first}
    if len(first) < top:  # every product of the queryset
        return candidates
    floor = first[-1][0]
    variants = (
        Product.objects.filter(parent__isnull=False, last_update__gte=floor)
        .order_by("-last_update", "-pk")
        .values_list("last_update", "pk", "parent_id")
    )
    walked: dict[int, datetime] = {}  # product id -> its newest variant read, in the walk's order
    members: list[int] = []  # those of ``queryset``, in the same order
    after: _Stamp | None = None
    read = 0
    while read < LATEST_UPDATE_WALK_BUDGET:
        chunk = list((variants.filter(_past(after, descending=True)) if after else variants)[:LATEST_UPDATE_WALK_CHUNK])
        read += len(chunk)
        fresh = []
        for updated, _pk, parent_id in chunk:
            if parent_id not in walked:
                walked[parent_id] = updated
                fresh.append(parent_id)
        if len(chunk) < LATEST_UPDATE_WALK_CHUNK:  # down to floor: every variant at or after it read
            return candidates | walked.keys()
        after = (chunk[-1][0], chunk[-1][1])
        # Which of the products found are the queryset's, to know when K of them are.
        kept = set(queryset.filter(pk__in=fresh).values_list("pk", flat=True))
        members += [pk for pk in fresh if pk in kept]
        if len(members) >= top and after[0] < walked[members[top - 1]]:
            return candidates | walked.keys()
    return None


def _oldest_first_candidates(*, queryset: QuerySet[Product], top: int) -> set[int] | None:
    """Ids of products of ``queryset`` among which are its ``top`` first by (served last update,
    id), oldest first; None when the walk reads more than ``LATEST_UPDATE_WALK_BUDGET`` products.

    The products are walked by their own (last update, id), oldest first (the ``(parent,
    last_update)`` index), each with its key (``_with_latest_update_key``), until one's own is
    past T, the K-th smallest key read (K = ``top``): K products have keys up to T, so the true
    K-th key is at most T; a product not read has its own (last update, id) past T, and its key,
    at least its own, past T too: not in the top K."""
    own = (
        _with_latest_update_key(_walked_products(queryset))
        .order_by("last_update", "pk")
        .values_list("last_update", "pk", LATEST_UPDATE_KEY)
    )
    keys: list[_Stamp] = []
    after: _Stamp | None = None
    size = min(LATEST_UPDATE_WALK_CHUNK, max(2 * top, 100))
    while len(keys) < LATEST_UPDATE_WALK_BUDGET:
        chunk = list((own.filter(_past(after, descending=False)) if after else own)[:size])
        keys += [(key, pk) for _own, pk, key in chunk]
        if len(chunk) < size:  # every product of the queryset
            return {pk for _key, pk in keys}
        after = (chunk[-1][0], chunk[-1][1])
        if len(keys) >= top and after > sorted(keys)[top - 1]:
            return {pk for _key, pk in keys}
        size = LATEST_UPDATE_WALK_CHUNK
    return None


def _past(place: _Stamp, *, descending: bool) -> Q:
    """Rows past ``place`` (last update, id) in a walk of the ``last_update`` index."""
    return keyset_q(("last_update", "pk"), place, smaller=descending)


# --- The sellable-units view in title order ---------------------------------------------------
#: The sellable-units view's title order: a unit by its product's title (its own without variants),
#: then its product, then its own title (a variant's option label), then its id. A variant's
#: title alone ("Black / S") sorted it among every product's variants of that label.
UNIT_TITLE = Coalesce(F("parent__title"), F("title"))
UNIT_TITLE_ORDER = (UNIT_TITLE, Coalesce(F("parent_id"), F("pk")), F("title"), F("pk"))
#: Products read per query by ``units_by_title_ids``, and by the first query of a filtered walk.
UNITS_WALK_CHUNK = 200
#: The products after the last one read among which a search's walk looks for its next products
#: first (``_UnitsWalk._read``).
FOUND_WINDOW = 1_000
#: How many of a word's term rows a search's walk looks at for each product it reads from them, at
#: most (``_UnitsWalk._read_terms``).
TERM_ROWS_PER_PRODUCT = 4
#: The most products a later query of a filtered walk reads: as many as the page still needs at
#: the rate of matches found so far, a tenth more.
UNITS_WALK_CHUNK_MAX = 2_000


def units_in_title_order(*, queryset: QuerySet[Product], descending: bool = False) -> QuerySet[Product]:
    """``queryset`` (sellable units) in the units view's title order (``UNIT_TITLE_ORDER``)."""
    return queryset.order_by(*(key.desc() if descending else key.asc() for key in UNIT_TITLE_ORDER))


def units_by_title_ids(*, start: int, stop: int, descending: bool = False) -> list[int]:
    """The ids of rows ``start:stop`` of every sellable unit in ``units_in_title_order``, walked:
    the products in title order from the ``(parent, title)`` index, a chunk at a time, each product
    with variants standing for its variants in their title order (the same index). The sorted
    read joins each variant to its product's title and sorts every unit: 0.5 s at 1M sellable
    units; this reads the products before the page and their variants."""
    return _UnitsWalk(descending=descending).ids(start=start, stop=stop) or []


@dataclass(frozen=True)
class WalkedProducts:
    """The products a filtered walk reads (``units_by_title_ids_of``), when every unit of the view
    is one of them or their variants: a collection's (``product_list_units_in_collection``; only
    a product has a collection), read from the ``(collection, title)`` index, and those a
    condition on the product keeps (``found``: a search word's, ``search_units_products``, which
    may read a product more than once; with ``terms``, the word's own term rows are read instead,
    ``_UnitsWalk._read_terms``)."""

    collection_id: int | None = None
    found: Q | None = None
    #: the terms of ``found``'s word (``search_units_terms``): its products are then read from
    #: their term rows in title order, without a collection
    terms: tuple[str, ...] | None = None

    def condition(self, prefix: str = "") -> Q:
        """The walked products (``prefix``: a relation's), but for ``found``."""
        if self.collection_id is not None:
            return Q(**{f"{prefix}collection_id": self.collection_id})
        return Q(**{f"{prefix}parent__isnull": True})


def units_by_title_ids_of(
    *,
    units: QuerySet[Product],
    start: int,
    stop: int,
    budget: int,
    descending: bool = False,
    products: WalkedProducts | None = None,
) -> list[int] | None:
    """The ids of rows ``start:stop`` of ``units`` (a filtered or searched sellable-units view) in
    ``units_in_title_order``, walked as ``units_by_title_ids`` walks (only ``products``, if
    given), each chunk's units kept when ``units`` holds them (its conditions tested for the
    chunk's rows alone), until the page is full. Sorting a filter's matches read and sorted them
    all: 0.4 to 12 s for the 5 to 85 % of the units a filter or a search of a common word finds,
    at 1M sellable units.

    None when the walk would read more than ``budget`` products (past a quarter of it, predicted
    from the rate of matches found so far): a sparse filter, or a page far into a filter's
    matches, reads less when its matches are sorted."""
    walk = _UnitsWalk(descending=descending, units=units, products=products or WalkedProducts())
    return walk.ids(start=start, stop=stop, budget=budget)


#: a product's place in the walk's order: (title, id)
_Place = tuple[str, int]


@dataclass(frozen=True)
class _UnitsWalk:
    """A walk of sellable units in title order (``units_by_title_ids``): its products, read in
    chunks of the ``(parent, title)`` index (or of ``products``: ``WalkedProducts``), each
    chunk's units read by ranges of the same index, not by lists of ids (which cost Django about
    10 µs an id to build: 0.2 s for a walk through 20k products)."""

    descending: bool
    units: QuerySet[Product] | None = None
    products: WalkedProducts = WalkedProducts()

    def ids(self, *, start: int, stop: int, budget: int | None = None) -> list[int] | None:
        sign = "-" if self.descending else ""
        # Ids and titles only: the index alone, a range from the last product read. With a column
        # of the row (its structure), MariaDB read the (parent, title) index from its start
        # instead, each row with it (0.3 s a chunk, 80k products into the descending order).
        products = Product.objects.filter(self.products.condition()).order_by(f"{sign}title", f"{sign}pk")
        ids: list[int] = []
        seen = walked = 0
        by_terms = self.products.terms is not None and self.products.collection_id is None
        # A product its word finds by its own terms has a unit the word finds: the first page needs
        # no more products than rows (a chunk of 200 products tested 1,000 units for 100 rows).
        size = min(UNITS_WALK_CHUNK, stop) if by_terms else UNITS_WALK_CHUNK
        after: _Place | None = None
        while seen < stop:
            read = self._read_terms(self.products.terms or (), after=after, size=size) if by_terms else None
            if read is None:
                read = self._read(products.filter(self._beyond(after)) if after else products, size=size)
            if not read:
                break
            chunk = list(dict.fromkeys(read))  # each product once (``found`` may read one twice)
            walked += len(chunk)
            for unit in self._chunk_units(products=[pk for _title, pk in chunk], after=after, last=chunk[-1]):
                if start <= seen < stop:
                    ids.append(unit)
                seen += 1
            if len(read) < size:  # the last products
                break
            after = chunk[-1]
            if budget is not None and seen < stop:
                # The products the page still needs at the rate of matches so far (a filter's
                # matches may come in runs of titles: judged from a quarter of the budget on).
                needed = (stop - seen) * walked / seen if seen else budget
                if walked >= budget or (walked + needed > budget and walked * 4 >= budget):
                    return None
                size = max(UNITS_WALK_CHUNK, min(UNITS_WALK_CHUNK_MAX, budget - walked, int(needed * 1.1) + 1))
        return ids

    def _read(self, products: QuerySet[Product], *, size: int) -> list[_Place]:
        """The next ``size`` products of the walk (fewer: the last ones). Those ``found`` keeps:
        first among the next ``FOUND_WINDOW`` products (a range of the list's order, each looked
        up), then, if they are not enough, wherever they are (MariaDB reads them from the term
        index and sorts them: 40 ms for ``bottle`` at 1M sellable units, where walking the order
        to the next run of them took up to 1.1 s)."""
        if self.products.found is None:
            return list(products.values_list("title", "pk")[:size])
        found = products.filter(self.products.found)
        edge = list(products.values_list("title", "pk")[FOUND_WINDOW - 1 : FOUND_WINDOW])
        nearby = found.filter(self._beyond(edge[0], upto=True)) if edge else found
        read: list[_Place] = list(nearby.values_list("title", "pk")[:size])
        if len(read) < size and edge:  # not enough in the window, and more products beyond it
            read = list(found.values_list("title", "pk")[:size])
        return read

    def _read_terms(self, terms: tuple[str, ...], *, after: _Place | None, size: int) -> list[_Place] | None:
        """The next ``size`` products ``terms`` find by their own term rows (not a variant's), from
        the term table's ``(term, title, product)`` key: a term's rows are in the list's order
        already. A product found by two terms is read twice (``ids`` keeps it once). None when a term's next
        ``TERM_ROWS_PER_PRODUCT * size`` rows hold fewer products: a run of its variants' own
        rows, which come together under their title ("Black / S": 167k rows of ``black`` at 1M
        sellable units, 0.7 s to step over); the walk reads that chunk from the products then.

        One term (``bottle``): its next ``size`` rows, a range that stops there. The products of
        the next 1,000 of the list, then (too few there) a join of the term index that sorted
        every product of the word, took 40 ms at 1M sellable units where a bottle was the last
        product of each run of titles. Several (``bottle``, ``bottles``): each term's rows are in
        order, not all together; the chunk ends at the first (in the list's order, as the
        database compares titles) of the terms' ``size``-th rows, and its rows, at most ``size``
        of each term, are sorted."""
        sign = "-" if self.descending else ""
        ordered = ProductSearchTerm.objects.order_by(f"{sign}title", f"{sign}product_id")
        if after is not None:
            ordered = ordered.filter(self._beyond(after, pk="product_id"))
        looked_at = TERM_ROWS_PER_PRODUCT * size
        ends = Q()
        for term in terms:
            # The last row looked at (the index alone), then the products' rows up to it.
            of_term = ordered.filter(term=term)
            edge = list(of_term.values_list("title", "product_id")[looked_at - 1 : looked_at])
            products = of_term.filter(is_variant=False)
            if edge:
                products = products.filter(self._beyond(edge[0], pk="product_id", upto=True))
            if len(terms) == 1:
                read: list[_Place] = list(products.values_list("title", "product_id")[:size])
                return read if len(read) == size or not edge else None
            end = list(products.values_list("title", "product_id")[size - 1 : size])
            if end:
                (title, product_id), *_ = end
                ends |= Q(term=term, title=title, product_id=product_id)
            elif edge:
                return None
        chunk = ordered.filter(term__in=terms, is_variant=False)
        first_end = ordered.filter(ends).values_list("title", "product_id").first() if ends else None
        if first_end is not None:
            chunk = chunk.filter(self._beyond(first_end, pk="product_id", upto=True))
        return list(chunk.values_list("title", "product_id"))

    def _beyond(self, place: _Place, *, prefix: str = "", upto: bool = False, pk: str = "pk") -> Q:
        """Products past ``place`` in the walk's order, or ``upto`` it, it included (``pk``: the
        field of the product's id)."""
        smaller = upto != self.descending  # ascending up to it, or descending past it
        return keyset_q((f"{prefix}title", f"{prefix}{pk}"), place, smaller=smaller, inclusive=upto)

    def _span(self, *, after: _Place | None, last: _Place, prefix: str = "") -> Q:
        """A chunk's products: past the chunk before's last, up to its own."""
        within = self.products.condition(prefix) & self._beyond(last, prefix=prefix, upto=True)
        return within & self._beyond(after, prefix=prefix) if after else within

    def _chunk_units(self, *, products: list[int], after: _Place | None, last: _Place) -> list[int]:
        """The sellable units of a chunk's ``products`` (ids, in title order), in title order: a
        product's variants, or a product without any, itself unless it is a product with variants
        (all removed). With ``units``: only those it holds, its conditions tested for the chunk's
        variants (by the ``parent`` index: an index of ``parent`` and the filter's column, e.g. the
        stock or last-updated filter's, can test them without reading a row) and products.

        The chunk's rows are read by its range of titles, unless its products are some of those
        of the range (``found``): by their ids."""
        sign = "-" if self.descending else ""
        variants: dict[int, list[int]] = {pk: [] for pk in products}
        rows = Product.objects if self.units is None else self.units
        if self.products.found is None:
            of_chunk, own_chunk = (
                self._span(after=after, last=last, prefix="parent__"),
                self._span(after=after, last=last),
            )
        else:
            of_chunk, own_chunk = Q(parent_id__in=products), Q(pk__in=products)
        of_products = rows.filter(of_chunk).order_by("parent_id", f"{sign}title", f"{sign}pk")
        if self.units is not None and self.products.found is None:
            # A variant's title by its id: the filter's test then reads an index of (parent, the
            # filter's column) alone, and the row of a match only. Ordered by the row's own title,
            # MariaDB read every variant of the chunk from another (parent, …) index of the same
            # estimate (the price's), each row with it: 3-4 ms a chunk of 200 products for the
            # Out of stock units at 1M sellable units, 1-1.5 ms so.
            unit_title = Subquery(Product.objects.filter(pk=OuterRef("pk")).order_by().values("title"))
            of_products = of_products.alias(_unit_title=unit_title).order_by(
                "parent_id", f"{sign}_unit_title", f"{sign}pk"
            )
        for pk, parent_id in of_products.values_list("pk", "parent_id"):
            if parent_id in variants:  # (a product saved into the range since the chunk was read: not walked)
                variants[parent_id].append(pk)
        if self.units is None and all(variants.values()):  # every product of the chunk has variants
            return [unit for pk in products for unit in variants[pk]]
        # Products without variants (or without any the filter keeps): sellable unless with variants.
        sellable = Product.objects.exclude(structure=PARENT) if self.units is None else self.units
        if self.units is not None and self.products.collection_id is not None:
            # A collection's products stated as products (no parent: the same rows), so that a
            # filter's (parent, …) index may serve: the chunk read each of its 200 products' rows
            # (all with variants, never low on stock) to find none (1.5 ms at 1M sellable units).
            own_chunk &= Q(parent__isnull=True)
        own = set(sellable.filter(own_chunk).order_by().values_list("pk", flat=True))
        return [unit for pk in products for unit in variants[pk] or ([pk] if pk in own else [])]
