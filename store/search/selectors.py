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

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from store.models import Product, ProductSearchTerm
from store.search.terms import TERM_MAX, TITLE_MARK, next_string, words

#: The annotation a searched queryset is ranked by (0: title starts with the search,
#: 1: every word whole, 2: the rest).
SEARCH_RANK = "search_rank"
#: The order of a search's results.
SEARCH_ORDERING = (SEARCH_RANK, "title", "pk")


def search_words(term: str) -> list[str]:
    """The distinct words of a search, in the order typed."""
    return list(dict.fromkeys(words(term)))


def _starting(prefix: str) -> QuerySet[ProductSearchTerm]:
    prefix = prefix[:TERM_MAX]
    return ProductSearchTerm.objects.filter(term__gte=prefix, term__lt=next_string(prefix))


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
    this_product = Q(product_id=OuterRef("pk"))
    starts = Exists(_starting(TITLE_MARK + " ".join(found)).filter(this_product))
    whole = Q()
    for word in found:
        whole &= Exists(ProductSearchTerm.objects.filter(this_product, term=word))
    rank = Case(When(starts, then=Value(0)), When(whole, then=Value(1)), default=Value(2), output_field=IntegerField())
    return products.annotate(**{SEARCH_RANK: rank}).order_by(*SEARCH_ORDERING)
