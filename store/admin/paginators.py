"""Paginators for changelists over very large tables."""

from __future__ import annotations

from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from store.search.selectors import (
    is_ranked_search,
    search_capped_count,
    search_page_ids,
    search_units_products,
    search_units_terms,
)
from store.selectors import (
    product_list_capped_count,
    product_list_units_collection,
    product_list_without_units_collection,
)
from store.variants.selectors import UNITS_WALK_CHUNK, WalkedProducts, units_by_title_ids, units_by_title_ids_of


class CappedCountPaginator(Paginator):
    """Counts at most ``cap`` rows instead of running a full ``COUNT(*)``.

    ``SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1)`` stops after ``cap + 1``
    index entries, so the cost no longer grows with the table. Past the cap the
    list shows "more than N" (``count_is_capped``) and offers the first
    ``cap // per_page`` pages; filters and search narrow the rest. A search has its own,
    lower cap (``search_cap``).
    """

    cap = 10_000
    #: A search's count stops here ("more than 1,000 products", ten pages, as GitHub's search
    #: stops at 1,000 results): past it, more words narrow better than more pages, and counting
    #: the matches of two common words up to 10,000 read up to every row of one of them (60k
    #: rows at 1M products, 0.1-0.2 s).
    search_cap = 1_000
    #: The cap of a filter that tests each row with a subquery (``per_row_filter``: the stock
    #: status of a product with variants is its lowest tracked variant's): counting 10,000 of
    #: its matches ran the subquery for every product read on the way (30-45k at 1M sellable
    #: units); it stops at 1,000, as a search.
    per_row_filter_cap = 1_000
    #: set by the admin when such a filter is in effect
    per_row_filter = False
    #: set by the admin for a search it reads otherwise (the sellable-units view's, which may walk
    #: the SKU index testing each unit: up to 10,000 of a common word's matches would read 125k
    #: units at 1M): counted up to ``search_cap``, as the product list's search
    counted_as_search = False
    #: set by the admin for the sellable-units view in title order (True: descending), read by a
    #: walk of the products (``units_by_title_ids``), not a sort of every unit
    units_by_title: bool | None = None
    #: set by the admin when that view is filtered or searched: the walk tests each unit
    #: (``units_by_title_ids_of``) while it reads fewer products than sorting the matches reads
    #: rows (about the same time each at 1M sellable units): up to as many products as the view
    #: has matches, or ``units_walk_budget`` when they are more than its cap
    units_filtered = False
    units_walk_budget = 10_000
    object_list: QuerySet[Any]  # the admin's changelist hands a queryset

    def page(self, number):
        """The page's ids first, then its rows by those ids (a "deferred join"), on every page.

        ``ORDER BY title, id LIMIT 100 OFFSET 4400`` over whole rows (and each row's first
        image subquery) made MariaDB scan and sort the table: 0.4-0.5 s at 100k products.
        On the first page too, a filter no index serves in the page's order (a collection, a
        promotion, a stock status) made MariaDB sort the matching rows with their columns,
        evaluating each row's subqueries (first image, variants' count, prices and stock)
        before the sort kept 100 of them: 0.3-1.6 s at 1M sellable units. The ids alone come
        from the narrowest plan (the sort column's index, which ends in id, or the filter's)
        and stop after the page; the rows, and their subqueries, are then read for those ids
        only, in the same order. No ids (an empty filter): no second query.
        """
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ranked = is_ranked_search(self.object_list)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if ranked:  # a search, best matches first: rank by rank (store.search.selectors)
            ids = search_page_ids(queryset=self.object_list, start=bottom, stop=top)
        elif self.units_by_title is not None and not self.units_filtered:
            ids = units_by_title_ids(start=bottom, stop=top, descending=self.units_by_title)
        else:
            walked = self._units_walked_ids(start=bottom, stop=top) if self.units_by_title is not None else None
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top]) if walked is None else walked
        return Page(self.object_list.filter(pk__in=ids), number, self)

    def _units_walked_ids(self, *, start: int, stop: int) -> list[int] | None:
        """A filtered sellable-units view's page in title order, walked; None when sorting its
        matches reads less (a few matches, or a page the walk would take too long to reach)."""
        budget = self.units_walk_budget if self.count_is_capped else self.count
        if budget < UNITS_WALK_CHUNK:
            return None
        collection_id = product_list_units_collection(queryset=self.object_list)
        found = search_units_products(queryset=self.object_list)
        # A search's products from its word's term rows, in title order (a collection's: from the
        # collection's index, each looked up).
        terms = search_units_terms(queryset=self.object_list) if found and collection_id is None else None
        # A collection's walk reads its products and their variants only: the view's own test of
        # the collection (an OR with the set of its products, built for each query) is left out.
        units = self.object_list
        if collection_id is not None:
            units = product_list_without_units_collection(queryset=units)
        return units_by_title_ids_of(
            units=units,
            start=start,
            stop=stop,
            budget=budget,
            descending=bool(self.units_by_title),
            products=WalkedProducts(collection_id=collection_id, found=found, terms=terms),
        )

    @cached_property
    def _capped_count(self) -> tuple[int, bool]:
        # A search counts its matches from the term index (store.search.selectors), up to its
        # own cap: an exact count of two common words reads every row of one of them.
        count = search_capped_count(queryset=self.object_list, cap=self.search_cap + 1)
        if count is not None:
            return (self.search_cap, True) if count > self.search_cap else (count, False)
        if self.counted_as_search:
            cap = self.search_cap
        else:
            cap = self.per_row_filter_cap if self.per_row_filter else self.cap
        # A filter whose rows another table counts (a promotion's products: its through rows).
        count = product_list_capped_count(queryset=self.object_list, cap=cap + 1)
        if count is None:
            # values("pk"): annotations of the page (e.g. the first image's subquery) stay out of
            # the count, which would otherwise evaluate them for up to cap + 1 rows.
            count = self.object_list.order_by().values("pk")[: cap + 1].count()
        return (cap, True) if count > cap else (count, False)

    @cached_property
    def count(self) -> int:
        return self._capped_count[0]

    @property
    def count_is_capped(self) -> bool:
        return self._capped_count[1]


class LookaheadPage(Page):
    """A page that knows whether another follows without a count (``LookaheadPaginator``)."""

    def __init__(self, object_list: Any, number: int, paginator: Paginator, *, more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class LookaheadPaginator(Paginator):
    """Pages without a count, for a picker (the admin's autocomplete asks only for a page and
    whether more follow): each page reads one row past its end. Counting a common word's
    sellable units up to the changelist's cap walked 10,000 matches (125k units at 1M)."""

    def validate_number(self, number: Any) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number: Any) -> LookaheadPage:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return LookaheadPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)
