"""text_features: the vectorizer options, the named steps, the former location and keyword."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recommender_systems import ContentBased, ParameterError, load, text_features
from recommender_systems.features import (
    VectorizerOptions,
    analyze,
    choose_vocabulary,
    count_matrix,
    item_texts,
)
from tests.helpers import dense_frame

TEXTS = {1: "The dark tower", 2: "Dark matter and the dark", 3: "Tower of song"}


def columns(**kwargs: Any) -> list[str]:
    return [str(c) for c in text_features(TEXTS, method="count", **kwargs).columns]


def test_ngrams_stop_words_and_document_frequency() -> None:
    assert columns(stop_words="english") == ["dark", "matter", "song", "tower"]
    assert columns(stop_words=["the", "of", "and"], ngram_range=(2, 2)) == [
        "dark matter",
        "dark tower",
        "matter dark",
        "tower song",
    ]
    assert columns(min_df=2) == ["dark", "the", "tower"]  # an int is a count of items
    assert columns(min_df=0.6) == ["dark", "the", "tower"]  # a float is a share
    assert columns(max_df=1) == ["and", "matter", "of", "song"]
    assert columns(max_features=2) == [
        "dark",
        "the",
    ]  # most frequent: dark 3, then the and tower 2 (ties: alphabetical)


def test_counts_with_ngrams_count_every_occurrence() -> None:
    frame = dense_frame(text_features(TEXTS, method="count", ngram_range=(1, 2)))
    assert frame.loc[2, "dark"] == 2.0 and frame.loc[2, "the dark"] == 1.0


def test_tfidf_options_match_their_formulas() -> None:
    plain = dense_frame(text_features(TEXTS, norm=None, smooth_idf=False))
    n_docs, df_dark, df_matter = 3, 2, 1
    assert plain.loc[2, "dark"] == pytest.approx(2 * (np.log(n_docs / df_dark) + 1), rel=1e-6)
    assert plain.loc[2, "matter"] == pytest.approx(np.log(n_docs / df_matter) + 1, rel=1e-6)
    sub = dense_frame(text_features(TEXTS, norm=None, use_idf=False, sublinear_tf=True))
    assert sub.loc[2, "dark"] == pytest.approx(1 + np.log(2), rel=1e-6)
    l1 = dense_frame(text_features(TEXTS, norm="l1"))
    np.testing.assert_allclose(l1.sum(axis=1).to_numpy(), 1.0, rtol=1e-6)


def test_tokenizer_preprocessor_accents_and_fixed_vocabulary() -> None:
    assert columns(tokenizer=str.split, lowercase=False) == [
        "Dark",
        "The",
        "Tower",
        "and",
        "dark",
        "matter",
        "of",
        "song",
        "the",
        "tower",
    ]
    assert columns(preprocessor=lambda t: t.upper(), vocabulary=["DARK"]) == ["DARK"]
    accents = text_features({1: "café crème"}, method="binary", strip_accents="ascii")
    assert list(accents.columns) == ["cafe", "creme"]
    assert list(text_features({1: "café"}, method="binary", strip_accents="unicode").columns) == [
        "cafe"
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"analyzer": "char"}, "analyzer: not a vectorizer option"),
        ({"ngram_range": (2, 1)}, "ngram_range"),
        ({"ngram_range": "11"}, "ngram_range"),
        ({"min_df": 0}, "min_df"),
        ({"max_df": 1.5}, "max_df"),
        ({"max_df": True}, "max_df"),
        ({"stop_words": "french"}, "stop_words"),
        ({"tokenizer": 3}, "tokenizer"),
        ({"vocabulary": []}, "vocabulary"),
        ({"min_df": 3, "max_df": 2}, "max_df: expected at least min_df"),
    ],
)
def test_bad_options_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        text_features(TEXTS, **kwargs)


def test_tfidf_only_options_are_refused_for_counts() -> None:
    with pytest.raises(ParameterError, match="norm: not a vectorizer option of method='count'"):
        text_features(TEXTS, method="count", norm="l1")


def test_the_steps_compose_to_the_function() -> None:
    options = VectorizerOptions.parse({"stop_words": "english"}, "count")
    ids, texts = item_texts(pd.Series(TEXTS), "text", "item_id")
    assert analyze(texts[1], options) == ["dark", "matter", "dark"]
    counts = [Counter(analyze(t, options)) for t in texts]
    vocabulary = choose_vocabulary(counts, options)
    matrix = count_matrix(counts, vocabulary)
    frame = text_features(TEXTS, method="count", stop_words="english")
    np.testing.assert_array_equal(matrix.toarray(), dense_frame(frame).to_numpy())
    assert ids.tolist() == frame.index.tolist()


def test_former_keyword_and_location_warn_and_agree() -> None:
    new = text_features(TEXTS, method="binary")
    with pytest.warns(DeprecationWarning, match="'kind' is deprecated, use 'method'"):
        renamed = text_features(TEXTS, kind="binary")
    from recommender_systems import content

    with pytest.warns(DeprecationWarning, match=r"content\.text_features is deprecated"):
        moved = content.text_features(TEXTS, kind="binary")
    pd.testing.assert_frame_equal(new, renamed)
    pd.testing.assert_frame_equal(new, moved)


def test_content_model_on_text_features_saves_and_loads(tmp_path: Path) -> None:
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 3]})
    features = text_features(TEXTS, ngram_range=(1, 2), stop_words="english")
    model = ContentBased(item_features=features).fit(ratings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(model.save(tmp_path / "content.recsys"))
    pd.testing.assert_frame_equal(loaded.get_params()["item_features"], features)
    assert loaded.recommend(2, n=3) == model.recommend(2, n=3)
    assert loaded.explain(2, 1) == model.explain(2, 1)  # type: ignore[attr-defined]
