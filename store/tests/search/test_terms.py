"""How text becomes search terms (store.search.terms)."""

import random
import string
import unicodedata

from store.search.terms import _FOLDS, _WORD, TERM_MAX, next_string, normalise, product_terms, words


def test_case_accents_and_punctuation_do_not_count():
    assert normalise("Crème BRÛLÉE Straße Øre Łódź") == "creme brulee strasse ore lodz"
    assert words("Beanie – Black") == ["beanie", "black"]
    assert words("T-Shirt (XL), 100% cotton!") == ["t", "shirt", "xl", "100", "cotton"]
    assert words("  ") == []


def test_a_product_is_found_by_its_title_words_sku_segments_and_the_runs_written_together():
    assert product_terms(title="Heavy-duty Water Bottle 12", sku="ACC-0041") == {
        "heavy",
        "duty",
        "heavyduty",
        "water",
        "bottle",
        "12",
        "acc",
        "0041",
        "acc0041",
        "^heavy duty water bottle 12",
    }


def test_long_words_are_cut_to_the_column():
    long = "x" * 100
    assert product_terms(title=long, sku="A") == {"x" * TERM_MAX, "^" + "x" * (TERM_MAX - 1), "a"}


def test_next_string_bounds_every_string_with_the_prefix():
    assert next_string("bott") == "botu"
    assert all("bott" <= word < next_string("bott") for word in ("bott", "bottle", "bottzzz"))
    assert not any("bott" <= word < next_string("bott") for word in ("bot", "botu", "bou"))


# The normalisation as it was before its ASCII fast path and its cache (issue 22): the terms must not change.
def _reference_normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_FOLDS)


def _reference_words(text: str) -> list[str]:
    return [word[:TERM_MAX] for word in _WORD.findall(_reference_normalise(text))]


def _reference_terms(title: str, sku: str) -> set[str]:
    def joined(text: str) -> list[str]:
        runs = [_WORD.findall(_reference_normalise(chunk)) for chunk in text.split()]
        return ["".join(parts)[:TERM_MAX] for parts in runs if len(parts) > 1]

    title_term = ("^" + " ".join(_reference_words(title)))[:TERM_MAX]
    terms = {*_reference_words(title), *joined(title), *_reference_words(sku), *joined(sku), title_term}
    terms.discard("")
    return terms


# ASCII of every kind, accents precomposed and combining, letters without a decomposition, ligatures,
# full-width and superscript digits, dotted I, non-breaking and other spaces, underscores, emoji.
ALPHABET = (
    string.ascii_letters + string.digits + string.punctuation + " \t"
    + "éÉèüÜßẞøØłŁđæÆœŒþðıİ\u0301\u0308ﬁﬂ０１²³½™\u00a0\u2009\u3000_–—’«»😀Ωωд"
)  # fmt: skip


def test_the_fast_normalisation_gives_the_terms_it_always_gave():
    rng = random.Random(22)
    texts = [
        "Crème BRÛLÉE Straße Øre Łódź",
        "T-Shirt (XL), 100% cotton!",
        "ACC-0041",
        "snake_case_sku",
        "ﬁne ＡＢＣ-１２",
        "İstanbul DIŞ",
        "x" * 100,
        "a-" * 40,
        "",
        "   ",
    ]
    texts += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    texts += ["".join(rng.choice(string.printable) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    for text in texts:
        assert normalise(text) == _reference_normalise(text), repr(text)
        assert words(text) == _reference_words(text), repr(text)
    for title, sku in zip(texts, reversed(texts), strict=True):
        assert product_terms(title=title, sku=sku) == _reference_terms(title, sku), (title, sku)
