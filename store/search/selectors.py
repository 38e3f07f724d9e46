"""The one product search: what a search finds and in which order.

A search is split into words (``store.search.terms.words``: case, accents and punctuation do
not count). A product is found when **every** word starts one of its terms: a word of its title,
a word (segment) of its SKU, or a run of them written without spaces (``tshirt``, ``acc0041``).
Best matches first: titles that start with the search, then products where every word is a
whole word, then the rest; ties by title, then id.

Each word is a range of the ``(term, product)`` primary key, read without touching the
product table; the capped count of the product list reads the same ranges.
"""

from __future__ import annotations

from django.db.models import Case, FilteredRelation, IntegerField, Q, QuerySet, Value, When

from store.models import Product, ProductSearchTerm
from store.search.terms import TERM_MAX, TITLE_MARK, next_string, words

#: The annotation a searched queryset is ranked by (0: title starts with the search,
#: 1: every word whole, 2: the rest).
SEARCH_RANK = "search_rank"
#: The order of a search's results.
SEARCH_ORDERING = (SEARCH_RANK, "title", "pk")
# The joins a ranked search adds: the title's term, and each word's whole-word term.
_TITLE_ALIAS = "_search_title"
_WORD_ALIAS = "_search_word_"
_WORDS_COUNT = "_search_words"  # how many _search_word_ joins there are (an alias, never selected)


def search_words(term: str) -> list[str]:
    """The distinct words of a search, in the order typed."""
    return list(dict.fromkeys(words(term)))


def _starting_q(prefix: str, field: str = "search_terms__term") -> Q:
    """``field`` starts with ``prefix``: a range that the term's index serves."""
    prefix = prefix[:TERM_MAX]
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": next_string(prefix)})


def _starting(prefix: str) -> QuerySet[ProductSearchTerm]:
    return ProductSearchTerm.objects.filter(_starting_q(prefix, "term"))


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
    products = products.alias(**joins, **{_WORDS_COUNT: Value(len(found))})
    return products.annotate(**{SEARCH_RANK: rank}).order_by(*SEARCH_ORDERING)


def is_ranked_search(queryset: QuerySet[Product]) -> bool:
    """``queryset`` is a ``product_search`` in its best-matches-first order."""
    return SEARCH_RANK in queryset.query.annotations and queryset.query.order_by == SEARCH_ORDERING


def _tiers(queryset: QuerySet[Product]) -> list[QuerySet[Product]]:
    """The ranked search's three ranks, each ordered by title then id (see search_page_ids)."""
    count = queryset.query.annotations[_WORDS_COUNT]
    words_count = count.value if isinstance(count, Value) else 0
    word_aliases = [f"{_WORD_ALIAS}{index}" for index in range(words_count)]
    titled = Q(**{f"{_TITLE_ALIAS}__term__isnull": False})
    untitled = Q(**{f"{_TITLE_ALIAS}__term__isnull": True})
    whole = Q(*(Q(**{f"{alias}__term__isnull": False}) for alias in word_aliases))
    partial = Q(*(Q(**{f"{alias}__term__isnull": True}) for alias in word_aliases), _connector=Q.OR)
    by_title = queryset.order_by("title", "pk")
    return [by_title.filter(titled), by_title.filter(untitled & whole), by_title.filter(untitled & partial)]


def search_page_ids(*, queryset: QuerySet[Product], start: int, stop: int) -> list[int]:
    """The ids of rows ``start:stop`` of a ranked search (``is_ranked_search``), rank by rank.

    Ordering every match by its rank sorts them all: 60k matches of a common word at 1M
    products. Each rank alone is ordered by title, which the title index serves (the
    database walks it and stops after the page when matches are common, or sorts the few
    there are), and a later rank is read only when the earlier ones did not fill the page.
    """
    ids: list[int] = []
    skip, need = start, stop - start
    for tier in _tiers(queryset):
        if need <= 0:
            break
        if skip:
            before = tier.values("pk")[: skip + 1].count()
            if before <= skip:
                skip -= before
                continue
        page = list(tier.values_list("pk", flat=True)[skip : skip + need])
        skip = 0
        ids.extend(page)
        need -= len(page)
    return ids
