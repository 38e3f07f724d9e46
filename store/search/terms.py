"""Text to search terms: one normalisation for what is indexed and for what people type.

Case, accents and punctuation do not count: "Crème-brûlée" is the words ``creme`` and
``brulee``. A product's terms are every word of its title and of its SKU (``ACC-0041`` is
``acc`` and ``0041``), each run of words written without a space joined as one more word
(``T-Shirt`` is also ``tshirt``, ``ACC-0041`` also ``acc0041``), and its whole title marked
with ``^`` (the ranking's "title starts with the query").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

#: The longest term stored (the column's length); longer words are cut, and a search word
#: is cut the same way, so it still matches as a prefix.
TERM_MAX = 64
#: The prefix of the term holding a product's whole (normalised) title.
TITLE_MARK = "^"

# Letters that Unicode does not decompose into a base letter and an accent.
_FOLDS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d"})
_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Lower case, accents removed (é → e, ß → ss, ø → o)."""
    if text.isascii():
        # Exactly the same: ASCII has no decompositions, no combining marks and no folds, and
        # casefold() is lower() there. Most titles and every SKU take this path (issue 22).
        return text.lower()
    return _normalise_unicode(text)


@lru_cache(maxsize=65_536)
def _normalise_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_FOLDS)


def words(text: str) -> list[str]:
    """The words of ``text``, normalised: runs of letters and digits (punctuation separates)."""
    return [word[:TERM_MAX] for word in _WORD.findall(normalise(text))]


def _joined(text: str) -> Iterable[str]:
    """Each whitespace-separated run that punctuation splits into words, as one word."""
    for chunk in text.split():
        if chunk.isascii() and chunk.isalnum():
            continue  # one word: nothing to join
        parts = _WORD.findall(normalise(chunk))
        if len(parts) > 1:
            yield "".join(parts)[:TERM_MAX]


def title_term(title: str) -> str:
    return (TITLE_MARK + " ".join(words(title)))[:TERM_MAX]


def product_terms(*, title: str, sku: str) -> set[str]:
    """Every term a product is found by."""
    title_words = words(title)
    terms = {*title_words, *_joined(title), *words(sku), *_joined(sku), (TITLE_MARK + " ".join(title_words))[:TERM_MAX]}
    terms.discard("")
    return terms


def next_string(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (binary order):
    ``term >= prefix AND term < next_string(prefix)`` is a prefix match that an index serves."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
