"""The declaration kinds on their own: what a tuner and the command line read."""

from __future__ import annotations

import pytest

from recommender_systems import EASE, ItemKNN
from recommender_systems.hyperparameters import Custom, Hyperparameter, Range, Seed, search_space


def test_the_search_space_holds_each_declared_range() -> None:
    space = search_space(EASE)
    regularization = space["regularization"]
    assert isinstance(regularization, Range) and regularization.log
    assert (regularization.low, regularization.high) == (1.0, 1e5)


def test_a_conditional_range_applies_only_under_its_condition() -> None:
    bm25_k1 = search_space(ItemKNN)["bm25_k1"]
    assert bm25_k1.applies({"similarity": "bm25"})
    assert not bm25_k1.applies({"similarity": "cosine"})
    assert not bm25_k1.applies({})


def test_the_base_kind_accepts_any_value_and_parses_json_or_text() -> None:
    anything = Hyperparameter(default=None, doc="")
    assert anything.describe() == "any value"
    assert anything.check([1, 2], "x") == [1, 2]
    assert anything.parse("[1, 2]", "x") == [1, 2]
    assert anything.parse("plain words", "x") == "plain words"


def test_a_custom_kind_returns_what_its_checker_makes() -> None:
    pairs = Custom(default=None, doc="", checker=lambda v, _: tuple(v), accepts="a list")
    assert pairs.parse("[1, 2]", "p") == (1, 2)
    assert pairs.describe() == "a list"


def test_a_seed_is_returned_as_given() -> None:
    seed = Seed()
    assert seed.check(7, "random_state") == 7
    assert seed.parse("none", "random_state") is None
    assert seed.parse("3", "random_state") == 3


def test_a_range_must_be_an_interval_and_positive_on_a_log_scale() -> None:
    with pytest.raises(ValueError, match="expected 0 < low < high"):
        Range(5.0, 1.0)
    with pytest.raises(ValueError, match="expected 0 < low < high"):
        Range(1.0, 1.0)
    with pytest.raises(ValueError, match="expected 0 < low < high"):
        Range(0.0, 1.0, log=True)
    assert Range(0.0, 1.0).low == 0.0


def test_an_int_accepts_its_upper_bound_and_a_bool_parses_words() -> None:
    from recommender_systems.hyperparameters import Bool, Int

    assert Int(default=1, doc="", low=0, high=5).check(5, "x") == 5
    flag = Bool(default=False, doc="")
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    assert {word: flag.parse(word, "flag") for word in words} == words


def test_a_seed_of_zero_parses() -> None:
    assert Seed().parse("0", "random_state") == 0
