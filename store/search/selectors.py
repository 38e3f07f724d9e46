"""The one product search: what a search finds and in which order.

A search is split into words (``store.search.terms.words``: case, accents and punctuation do
not count). A product is found when **every** word starts one of its terms: a word of its title,
a word (segment) of its SKU, or a run of them written without spaces (``tshirt``, ``acc0041``).
Best matches first: titles that start with the search, then products where every word is a
whole word, then the rest; ties by title, then id.

Each word is a range of the ``(term, title, product)`` primary key, read without touching
the product table; the capped count of the product list reads the same ranges.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db.models import (
    Case,
    Exists,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Col, RawSQL
from django.db.models.lookups import In, IsNull
from django.db.models.sql import Query
from django.db.models.sql.where import AND, OR, WhereNode

from store.models import SELLABLE_STRUCTURES, Product, ProductSearchTerm
from store.search.terms import TERM_MAX, TITLE_MARK, next_string, words
from store.sql import keyset_q, quote

#: The annotation a searched queryset is ranked by (0: title starts with the search,
#: 1: every word whole, 2: the rest).
SEARCH_RANK = "search_rank"
#: The order of a search's results.
SEARCH_ORDERING = (SEARCH_RANK, "title", "pk")
# The joins a ranked search adds: the title's term, and each word's whole-word term.
_TITLE_ALIAS = "_search_title"
_WORD_ALIAS = "_search_word_"
_WORDS_COUNT = "_search_words"  # how many _search_word_ joins there are (an alias, never selected)
_WORDS = "_search_words_typed"  # the words, separated by spaces (an alias, never selected)
_BASE = "_search_base"  # the queryset before the search (an alias, never selected)
#: How many rows of each word the first round of a page of several words reads
#: (``_whole_word_rows``); each further round reads twice as many, up to ``LEAP_ROWS_MAX``.
LEAP_ROWS = 200
LEAP_ROWS_MAX = 6_400
#: The rows a page of several words reads by rounds before it walks the first word's remaining
#: rows in one query instead (words whose matches are few and spread through both title orders).
LEAP_BUDGET = 20_000


def search_words(term: str) -> list[str]:
    """The distinct words of a search, in the order typed."""
    return list(dict.fromkeys(words(term)))


def _starting_q(prefix: str, field: str = "search_terms__term") -> Q:
    """``field`` starts with ``prefix``: a range that the term's index serves."""
    prefix = prefix[:TERM_MAX]
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": next_string(prefix)})


def _starting(prefix: str) -> QuerySet[ProductSearchTerm]:
    return ProductSearchTerm.objects.filter(_starting_q(prefix, "term"))


def search_units(*, units: QuerySet[Product], found: list[str], walk_common: bool = False) -> QuerySet[Product]:
    """``units`` (sellable units: products without variants, and variants) narrowed to those
    every word of ``found`` (``search_words``) finds: by its own terms (a product's title and SKU;
    a variant's SKU and its option label "Green / S"), or for a variant by its product's words,
    unless the word finds that product through another of its variants ("Blue" finds the
    T-shirt's blue variants, not the green ones).

    The word with the fewest term rows is read as one set from the term index (``_unit_ids``);
    the others are checked for those units alone, by index lookups. An ``OR`` of "its own
    terms" and "its product's" made MariaDB test every product row against each word: 3 to 8
    seconds for a word of the order-line picker at 1M sellable units.

    ``walk_common``, for a page read in primary-key order (the order-line picker): when even the
    rarest word is common (``DRIVER_ROWS`` term rows or more), each unit is tested word by word
    as the database walks the primary key, which stops after the page. A common word's set is
    tens of thousands of units (``bottle``: 80k at 1M), each read from the product table to be
    sorted: 4 s for the picker's first page; walked, about 20 ms (docs/performance.md).
    """
    if len(found) > 1:
        rows = {word: _term_rows(word) for word in found}
    else:  # one word: is it common? (nothing to choose between)
        rows = {found[0]: DRIVER_ROWS if walk_common and _is_common(found[0]) else 0}
    driver, *others = sorted(found, key=lambda word: (rows[word], -len(word)))
    # The rarest word, for a walk of the products it finds (search_units_products): an alias no
    # SQL selects.
    units = units.alias(**{_UNITS_DRIVER: Value(driver)})
    if walk_common and rows[driver] >= DRIVER_ROWS:
        # The words, for the count (search_units_capped_count): an alias no SQL selects.
        units = units.alias(**{_UNITS_WORDS: Value(" ".join(found))})
        for word in found:
            units = units.filter(_finds_unit(word))
        return units
    units = units.filter(pk__in=_unit_ids(driver))
    for word in others:
        units = units.filter(_finds_unit(word))
    return units


#: How many term rows of a word are counted to choose the word a units search starts from (the
#: fewest first, then the longer), and to call a word common (``search_units``).
DRIVER_ROWS = 10_000


def _term_rows(word: str) -> int:
    """The word's term rows, counted up to ``DRIVER_ROWS`` (an index-only range)."""
    return _starting(word).values("product_id")[:DRIVER_ROWS].count()


def _is_common(word: str) -> bool:
    """The word has ``DRIVER_ROWS`` term rows or more: its ``DRIVER_ROWS``-th row, read from the
    index alone. The count (``_term_rows``) wrote the rows it read into a derived table first
    (2.6 ms against 1.9 ms for ``bottle`` at 1M sellable units, an order-line picker's query)."""
    return _starting(word).order_by().values_list("product_id")[DRIVER_ROWS - 1 : DRIVER_ROWS].exists()


def _unit_ids(word: str) -> RawSQL:
    """The ids of the sellable units ``word`` finds, as one ``UNION`` in a derived table: the
    database reads both halves through the term index and joins the ids to the products."""
    in_range = _starting(word)
    by_product = (
        Product.objects.filter(parent_id__in=in_range.filter(is_variant=False).values("product_id"))
        .exclude(_found_by_a_variant_of_its_product(in_range))
        .order_by()
        .values("pk")
    )
    units = in_range.order_by().values("product_id").union(by_product)
    sql, params = units.query.sql_with_params()
    return RawSQL(f"SELECT {quote('product_id')} FROM ({sql}) AS {quote('units')}", params)


def _finds_unit(word: str, *, test: Callable[[QuerySet[Any], str], Any] | None = None) -> Q:
    """``word`` finds the unit of the outer row (``_unit_ids``' rule), checked by lookups on the
    (product, term) index: its own terms, or its product's and none of its product's variants'.

    Each test is a scalar subquery (``_one_of``), not an ``EXISTS``: MariaDB turned these
    ``EXISTS`` into sets of every row of the word's range, built before the first unit was read
    (``black``, an option value of a fifth of the variants: 619k term rows, 0.6 s for the
    order-line picker's page of 21 at 1M sellable units; 2 ms tested unit by unit). A count
    that tests many units passes ``test=_any_of`` (``search_units_capped_count``)."""
    test = test or _one_of
    in_range = _starting(word)
    own = test(in_range.filter(product_id=OuterRef("pk")), "product_id")
    products = test(in_range.filter(is_variant=False, product_id=OuterRef("parent_id")), "product_id")
    return Q(own) | (Q(products) & ~Q(_found_by_a_variant_of_its_product(in_range, test=test)))


def _one_of(rows: QuerySet[Any], column: str) -> IsNull:
    """``rows`` (correlated to the outer row) holds a row: ``(SELECT column … LIMIT 1) IS NOT
    NULL`` (``column`` never null), which MariaDB evaluates for each outer row it reads."""
    return IsNull(Subquery(rows.order_by().values(column)[:1]), False)


def _any_of(rows: QuerySet[Any], column: str) -> Exists:
    """``rows`` (correlated to the outer row) holds a row, as ``EXISTS``: MariaDB may build it into
    a set of the word's term rows first, the faster plan for a count that tests a thousand units
    or more (``column``: unused, the signature of ``_one_of``)."""
    return Exists(rows)


#: The words of a walked units search (``search_units``): an alias, never selected.
_UNITS_WORDS = "_search_units_words"
#: The word a units search starts from (``search_units``): an alias, never selected.
_UNITS_DRIVER = "_search_units_driver"


def search_units_products(*, queryset: QuerySet[Product]) -> Q | None:
    """A condition on a product: the units search ``queryset`` (``search_units``) may find its
    units, which its rarest word finds it by one of its own terms (a product's terms hold its
    variants' SKUs and option values too, ``store.search.services``): a join of the term index,
    one row per term of the word (a product may be found by two). MariaDB reads the word's term
    rows and sorts their products (40 ms for ``bottle`` at 1M sellable units, wherever they are in
    the list's order), or for a word of very many, walks the list's order looking each product up
    (3 ms for ``black``); a lookup of each product as the list's order is walked read every
    product before ``wireless``, the last adjective of the seeded titles (1.1 s). None when
    ``queryset`` is no units search."""
    driver = queryset.query.annotations.get(_UNITS_DRIVER)
    if not isinstance(driver, Value):
        return None
    return _starting_q(str(driver.value))


def search_units_terms(*, queryset: QuerySet[Product]) -> tuple[str, ...] | None:
    """The terms of the word ``search_units_products`` finds products by, when it starts a few
    (``_terms_of``): a walk reads those products from the terms' rows, in title order. None when
    ``queryset`` is no units search, or the word starts more terms."""
    driver = queryset.query.annotations.get(_UNITS_DRIVER)
    if not isinstance(driver, Value):
        return None
    terms = _terms_of(str(driver.value))
    return None if terms is None else tuple(terms)


def search_units_capped_count(*, queryset: QuerySet[Product], cap: int) -> int | None:
    """How many units a walked units search (``search_units`` with ``walk_common``, a common
    word) finds, counting at most ``cap``; None when ``queryset`` is not one, or was filtered
    after the search. The same rule with each test an ``EXISTS`` (``_any_of``): unit by unit, a
    count of 1,000 of ``bottle``'s units tested 12k units (66 ms at 1M sellable units); as
    MariaDB's sets of the word's term rows, 34 ms. One word and nothing else narrowing the view:
    first from the products the word finds (``_units_found_at_least``), about 5 ms."""
    typed = queryset.query.annotations.get(_UNITS_WORDS)
    where = queryset.query.where
    if not isinstance(typed, Value) or where.connector != AND or where.negated:
        return None
    found = str(typed.value).split()
    searched = where.children[-len(found) :]
    if len(where.children) <= len(found) or not all(
        isinstance(child, WhereNode) and child.connector == OR for child in searched
    ):
        return None
    rest = where.children[: -len(found)]
    if len(found) == 1 and all(map(is_sellable_units_only, rest)) and _units_found_at_least(found[0], cap) >= cap:
        return cap
    counted = queryset.order_by()
    counted.query.where.children = rest
    for word in found:
        counted = counted.filter(_finds_unit(word, test=_any_of))
    return counted.values("pk")[:cap].count()


#: How many of a word's term rows the bound of a units search's count looks at for each unit it
#: counts, at most (``_units_found_at_least``).
COUNT_ROWS_PER_UNIT = 4


def _units_found_at_least(word: str, cap: int) -> int:
    """At most ``cap`` of the sellable units ``word`` alone finds, counted as the products its own
    term rows find that have a unit: each has one the word finds at least (itself without
    variants; a variant found by its own term, or else every variant, found by its product's),
    and no two share one. Counting ``bottle``'s units to 1,000 (``_any_of``'s sets of its term
    rows) took 35 ms at 1M sellable units, this about 5 ms.

    Only the first ``COUNT_ROWS_PER_UNIT * cap`` of the word's rows in the key's order (title
    order), then, too few products there, as many of its last: a variant's own rows come
    together under their title ("Black / S": 167k rows of ``black`` at 1M sellable units, which
    a count reading past them took 0.7 s to skip). Too few at both ends: the caller counts the
    units."""
    terms = _terms_of(word)
    looked_at = COUNT_ROWS_PER_UNIT * cap
    has_unit = ~Q(product__structure=Product.Structure.PARENT) | Exists(
        Product.objects.filter(parent_id=OuterRef("product_id"))
    )
    found = 0
    for sign in ("", "-"):
        # The word's range in the key's order (``term IN (…)`` with an ORDER BY: a filesort on MariaDB).
        in_order = _starting(word).order_by(f"{sign}term", f"{sign}title", f"{sign}product_id")
        edge = list(in_order.values_list("term", "title", "product_id")[looked_at - 1 : looked_at])
        rows = _found_by(word, terms)
        if edge:
            rows = rows.filter(keyset_q(("term", "title", "product_id"), edge[0], smaller=not sign, inclusive=True))
        products = rows.filter(has_unit, is_variant=False).values("product_id")
        if terms is None or len(terms) > 1:  # a product's rows of one term are one row
            products = products.distinct()
        found = max(found, products[:cap].count())
        if found >= cap or not edge:  # enough, or every row looked at
            break
    return found


def _found_by_a_variant_of_its_product(
    in_range: QuerySet[ProductSearchTerm], *, test: Callable[[QuerySet[Any], str], Any] = _any_of
) -> Any:
    """A variant of the outer row's product has its own term in ``in_range``: lookups on the
    ``parent`` index and the (product, term) index, each an ``EXISTS`` (or ``test``: ``_one_of``
    for a walk, see ``_finds_unit``). Correlated on purpose: a ``NOT IN`` of those variants'
    products made MariaDB scan the table for each row of a page's deferred read
    (``CappedCountPaginator.page``: over 30 s for 100 ids at 1M sellable units)."""
    variant_found = test(in_range.filter(is_variant=True, product_id=OuterRef("pk")), "product_id")
    return test(Product.objects.filter(variant_found, parent_id=OuterRef("parent_id")), "pk")


def product_search(*, term: str, queryset: QuerySet[Product] | None = None, ranked: bool = True) -> QuerySet[Product]:
    """``queryset`` (default: every product) narrowed to the products ``term`` finds, annotated
    with ``search_rank`` and ordered by ``SEARCH_ORDERING`` (``ranked=False``: in the queryset's
    own order, e.g. a column header the user clicked). A blank ``term`` changes nothing; a term
    with no letters or digits finds nothing."""
    products = Product.objects.all() if queryset is None else queryset
    if not term.strip():
        return products
    found = search_words(term)
    if not found:
        return products.none()
    base = products
    for word in found:
        products = products.filter(pk__in=_starting(word).values("product_id"))
    if not ranked:
        return products
    # The rank's ingredients are LEFT JOINs on the (product, term) index, at most one row each
    # (a product has one title term, and a term once): a join costs a lookup per candidate, a
    # correlated EXISTS re-runs a subquery per candidate (≈60 µs each on MariaDB).
    title = TITLE_MARK + " ".join(found)
    joins = {_TITLE_ALIAS: FilteredRelation("search_terms", condition=_starting_q(title))}
    whole = Q()
    for index, word in enumerate(found):
        alias = f"{_WORD_ALIAS}{index}"
        joins[alias] = FilteredRelation("search_terms", condition=Q(search_terms__term=word))
        whole &= Q(**{f"{alias}__term__isnull": False})
    starts = Q(**{f"{_TITLE_ALIAS}__term__isnull": False})
    rank = Case(When(starts, then=Value(0)), When(whole, then=Value(1)), default=Value(2), output_field=IntegerField())
    # The words and the queryset before the search, for the reads driven by the term index
    # (search_page_ids, search_capped_count): aliases that no SQL of this queryset selects.
    searched = {_WORDS_COUNT: Value(len(found)), _WORDS: Value(" ".join(found)), _BASE: Subquery(base.values("pk"))}
    products = products.alias(**joins, **searched)
    return products.annotate(**{SEARCH_RANK: rank}).order_by(*SEARCH_ORDERING)


def is_ranked_search(queryset: QuerySet[Product]) -> bool:
    """``queryset`` is a ``product_search`` in its best-matches-first order."""
    return SEARCH_RANK in queryset.query.annotations and queryset.query.order_by == SEARCH_ORDERING


def _searched(queryset: QuerySet[Product]) -> tuple[list[str], Query] | None:
    """The words of a ``product_search`` and the query of the products it searched, or None
    when ``queryset`` is not one or was filtered further after the search."""
    typed, base = queryset.query.annotations.get(_WORDS), queryset.query.annotations.get(_BASE)
    if not isinstance(typed, Value) or not isinstance(base, Subquery):
        return None
    found = str(typed.value).split()
    if len(queryset.query.where.children) != len(base.query.where.children) + len(found):
        return None
    return found, base.query


def is_products_only(condition: Any) -> bool:
    """``condition`` is ``product_list_products``' (products: no parent, never a variant on its own row)."""
    return (
        isinstance(condition, IsNull)
        and condition.rhs is True
        and isinstance(condition.lhs, Col)
        and condition.lhs.target == Product._meta.get_field("parent")
    )


def is_sellable_units_only(condition: Any) -> bool:
    """``condition`` is ``product_list_sellable_units``' (the sellable-units view's rows)."""
    return (
        isinstance(condition, In)
        and isinstance(condition.lhs, Col)
        and condition.lhs.target == Product._meta.get_field("structure")
        and set(condition.rhs) == set(SELLABLE_STRUCTURES)
    )


def _of_products(terms: QuerySet[ProductSearchTerm], base: Query) -> QuerySet[ProductSearchTerm]:
    """``terms`` of the products ``base`` selects. Nothing to check when it selects them all;
    when it selects the products (the product list), the terms that are not a variant's own,
    read from the term rows themselves; any other condition, the products' rows."""
    where = base.where
    if not where:
        return terms
    if where.connector == AND and not where.negated and any(map(is_products_only, where.children)):
        terms = terms.filter(is_variant=False)
        rest = [child for child in where.children if not is_products_only(child)]
        if not rest:
            return terms
        base = base.clone()
        base.where.children = rest
    return terms.filter(product__in=base)


def _whole_word_walk(found: list[str], base: Query) -> QuerySet[ProductSearchTerm]:
    """The rank "every word whole", read from the (term, title, product) primary key: the first word's
    rows in title order, keeping those that have every other word whole and whose title does
    not start with the search. The database walks that range and stops after the page instead
    of sorting every match."""
    first, *others = found
    terms = _whole_word(found, base, first)
    for word in others:
        terms = terms.filter(Exists(ProductSearchTerm.objects.filter(term=word, product_id=OuterRef("product_id"))))
    return terms


def _whole_word(found: list[str], base: Query, word: str) -> QuerySet[ProductSearchTerm]:
    """``word``'s term rows (the word whole) of the products ``base`` selects, in the list's
    order (title, id); those of the first word of ``found`` without the products whose title
    starts with the search (the rank before)."""
    terms = _of_products(ProductSearchTerm.objects.filter(term=word), base)
    if word == found[0]:
        title = TITLE_MARK + " ".join(found)
        titled = ProductSearchTerm.objects.filter(_starting_q(title, "term"), product_id=OuterRef("product_id"))
        terms = terms.exclude(Exists(titled))
    return terms.order_by("title", "product_id")


#: A term row's place in the list's order: its (title, product id).
Key = tuple[str, int]


def _from(rows: QuerySet[ProductSearchTerm], key: Key, *, inclusive: bool) -> QuerySet[ProductSearchTerm]:
    """``rows`` from ``key`` on, compared by the database (the title column's collation)."""
    title, product_id = key
    after = Q(title=title, product_id__gte=product_id) if inclusive else Q(title=title, product_id__gt=product_id)
    return rows.filter(Q(title__gt=title) | after)


def _up_to(rows: QuerySet[ProductSearchTerm], key: Key) -> QuerySet[ProductSearchTerm]:
    title, product_id = key
    return rows.filter(Q(title__lt=title) | Q(title=title, product_id__lte=product_id))


def _whole_word_rows(found: list[str], base: Query, limit: int) -> list[int]:
    """The first ``limit`` ids of the rank "every word whole", in title order.

    One word: its rows, walked. Several: a leapfrog over the words' rows in title order, each
    read from the (term, title, product) primary key a block at a time. A round reads the first word's
    rows from where the last round stopped, then each next word's rows between the first and the
    last title read so far; the matches are the last word's rows that every block holds. A word
    with no row in that stretch sends the next round to its next row: "wireless bottle" skips
    from the Wireless Backpacks to the Wireless Water Bottles in one round, where a walk of
    "wireless" read all 66k of its rows at 1M products. The database compares the titles (their
    collation is not Python's). Past ``LEAP_BUDGET`` rows, the matches are few among many rows:
    the first word's remaining rows are walked in one query, each tested for the others.
    """
    if len(found) == 1:  # the walk keeps every row but the title-start ones: it fills the page
        return list(_whole_word_walk(found, base).values_list("product_id", flat=True)[:limit])
    words_rows = [_whole_word(found, base, word) for word in found]
    ids: list[int] = []
    low: Key | None = None  # where the next round starts
    low_inclusive = True
    size, read = LEAP_ROWS, 0
    while len(ids) < limit:
        if read >= LEAP_BUDGET:
            walk = _whole_word_walk(found, base)
            if low is not None:
                walk = _from(walk, low, inclusive=low_inclusive)
            ids += walk.values_list("product_id", flat=True)[: limit - len(ids)]
            break
        start, start_inclusive, stop = low, low_inclusive, None
        held: list[set[int]] = []
        for rows in words_rows:
            block_rows = rows if start is None else _from(rows, start, inclusive=start_inclusive)
            if stop is not None:
                block_rows = _up_to(block_rows, stop)
            block: list[Key] = list(block_rows.values_list("title", "product_id")[:size])
            read += len(block)
            if not block:  # no row of this word in the stretch: the next round starts at its next
                following: Key | None = None
                if stop is not None:
                    following = _from(rows, stop, inclusive=False).values_list("title", "product_id").first()
                if following is None:
                    return ids
                low, low_inclusive = following, True
                break
            held.append({product_id for _, product_id in block})
            start, start_inclusive = block[0], True
            if len(block) == size:
                stop = block[-1]
        else:
            ids += [product_id for _, product_id in block if all(product_id in found_ids for found_ids in held)]
            if stop is None:  # every word read to its end
                break
            low, low_inclusive = stop, False
        size = min(2 * size, LEAP_ROWS_MAX)
    return ids[:limit]


def search_capped_count(*, queryset: QuerySet[Product], cap: int) -> int | None:
    """How many products a ``product_search`` finds, counting at most ``cap`` (None: not a
    search this can count). Driven by the range of the word with the fewest rows (each word's
    rows counted up to ``cap``, index only): the database stops after ``cap`` distinct
    products instead of reading every match of every word. Each other word is looked up per
    row: by its few terms (``_terms_of``), a primary-key lookup each; MariaDB turned a range
    there into a set of all its rows first (66k for ``bottle`` at 1M products, half the count)."""
    searched = _searched(queryset)
    if searched is None:
        return None
    found, base = searched
    if len(found) > 1:
        found = sorted(found, key=lambda word: _starting(word).values("product_id")[:cap].count())
    first, *others = found
    first_terms = _terms_of(first) if others else None  # one word: its range is the count's read
    terms = _found_by(first, first_terms)
    for word in others:
        terms = terms.filter(Exists(_found_by(word, _terms_of(word)).filter(product_id=OuterRef("product_id"))))
    products = _of_products(terms, base).values("product_id")
    if first_terms is None or len(first_terms) > 1:  # a product's rows of one term are one row
        products = products.distinct()
    return products[:cap].count()


def _found_by(word: str, terms: list[str] | None) -> QuerySet[ProductSearchTerm]:
    """The term rows ``word`` finds: those of ``terms`` (its terms, ``_terms_of``), or its range."""
    return _starting(word) if terms is None else ProductSearchTerm.objects.filter(term__in=terms)


#: A word stands for its terms (``_terms_of``) when it starts this many at most.
FEW_TERMS = 4


def _terms_of(word: str) -> list[str] | None:
    """The terms that start with ``word`` (``bottle``: ``bottle``, ``bottles``), when there are
    at most ``FEW_TERMS`` of them (None: more). One index lookup each, the next after the last."""
    terms: list[str] = []
    while len(terms) <= FEW_TERMS:
        following = _starting(word).filter(term__gt=terms[-1]) if terms else _starting(word)
        term = following.order_by("term").values_list("term", flat=True).first()
        if term is None:
            return terms
        terms.append(term)
    return None


Tier = Callable[[int], list[int]]


def _tiers(queryset: QuerySet[Product]) -> list[Tier]:
    """The three ranks of a ranked search, each a function of ``limit`` giving the ids of its
    first ``limit`` rows, ordered by title then id (see search_page_ids)."""
    count = queryset.query.annotations[_WORDS_COUNT]
    words_count = count.value if isinstance(count, Value) else 0
    word_aliases = [f"{_WORD_ALIAS}{index}" for index in range(words_count)]
    titled = Q(**{f"{_TITLE_ALIAS}__term__isnull": False})
    untitled = Q(**{f"{_TITLE_ALIAS}__term__isnull": True})
    whole = Q(*(Q(**{f"{alias}__term__isnull": False}) for alias in word_aliases))
    partial = Q(*(Q(**{f"{alias}__term__isnull": True}) for alias in word_aliases), _connector=Q.OR)
    by_title = queryset.order_by("title", "pk")

    def first(rows: QuerySet[Product]) -> Tier:
        return lambda limit: list(rows.values_list("pk", flat=True)[:limit])

    searched = _searched(queryset)
    if searched is None:
        return [
            first(by_title.filter(titled)),
            first(by_title.filter(untitled & whole)),
            first(by_title.filter(untitled & partial)),
        ]
    found, base = searched
    return [
        functools.partial(_title_start_rows, found, base),
        functools.partial(_whole_word_rows, found, base),
        first(by_title.filter(untitled & partial)),
    ]


def _title_start_rows(found: list[str], base: Query, limit: int) -> list[int]:
    """The first ``limit`` ids of the rank "title starts with the search": the range of the title
    terms that start with it (a product has one), each carrying its title, sorted without reading
    a product row (13,000 products start with "Classic" at 1M: the product-driven read looked
    each up and sorted them, 1.4 s)."""
    terms = ProductSearchTerm.objects.filter(_starting_q(TITLE_MARK + " ".join(found), "term"))
    rows = _of_products(terms, base).order_by("title", "product_id")
    return list(rows.values_list("product_id", flat=True)[:limit])


def search_page_ids(*, queryset: QuerySet[Product], start: int, stop: int) -> list[int]:
    """The ids of rows ``start:stop`` of a ranked search (``is_ranked_search``), rank by rank.

    Ordering every match by its rank sorts them all: 60k matches of a common word at 1M
    products. Each rank alone is ordered by title, which an index serves (the product's title
    index, or for "every word whole" the term index's copy of it, ``_whole_word_rows``: the
    database walks it and stops after the page when matches are common, or sorts the few
    there are), and a later rank is read only when the earlier ones did not fill the page.
    """
    ids: list[int] = []
    skip, need = start, stop - start
    for tier in _tiers(queryset):
        if need <= 0:
            break
        rows = tier(skip + need)
        if len(rows) <= skip:  # the whole rank is before the page
            skip -= len(rows)
            continue
        page = rows[skip:]
        ids.extend(page)
        skip, need = 0, need - len(page)
    return ids
