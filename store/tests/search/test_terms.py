"""How text becomes search terms (store.search.terms)."""

from store.search.terms import TERM_MAX, next_string, normalise, product_terms, words


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
