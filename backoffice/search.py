"""One cap on the number of words in a search, for every admin changelist, the admin's
autocomplete and exports, and the catalog API's ``?search=``.

Each word becomes its own OR-group of LIKE conditions; a thousand of them exceed
SQLite's expression-tree limit (a 500) and make any database scan for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.utils.text import smart_split

TOO_MANY_SEARCH_TERMS = "Search for at most {limit} words at a time; this search has {count}."


def search_terms_limit() -> int:
    return settings.SEARCH_MAX_TERMS


def admin_search_terms(search_term: str) -> list[str]:
    """The words the admin's get_search_results makes conditions of (quoted phrases are one)."""
    return list(smart_split(search_term))


def search_terms_error(terms: Sequence[str]) -> str | None:
    """The message refusing ``terms``, or None when there are few enough."""
    limit = search_terms_limit()
    if len(terms) <= limit:
        return None
    return TOO_MANY_SEARCH_TERMS.format(limit=limit, count=len(terms))
