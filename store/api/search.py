"""?search= for every catalog list (the DEFAULT_FILTER_BACKENDS setting names it, so this
module imports nothing of store.api: DRF loads it while reading its settings)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.filters import SearchFilter

from backoffice.search import search_terms_error


class CappedSearchFilter(SearchFilter):
    """?search= with at most SEARCH_MAX_TERMS words; more is a 400 naming the parameter."""

    def get_search_terms(self, request):
        terms = super().get_search_terms(request)
        error = search_terms_error(terms)
        if error:
            raise exceptions.ValidationError({self.search_param: [error]})
        return terms
