"""ContentBased and text_features: profiles, cold items, explanations, bad features.

The vectorizer options of text_features have their own tests in test_features.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender_systems import (
    ContentBased,
    DataError,
    ParameterError,
    UnknownItemError,
    text_features,
)
from tests.helpers import dense_frame


@pytest.fixture
def ratings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["ann", "ann", "bob", "bob", "cat"],
            "item_id": [1, 2, 2, 3, 3],
            "rating": [5.0, 4.0, 2.0, 5.0, 4.0],
        }
    )


@pytest.fixture
def features() -> pd.DataFrame:
    # Items 1-3 are rated; 4 and 5 are cold (features only); 6 has no feature at all.
    return pd.DataFrame(
        {
            "space": [1.0, 1.0, 0.0, 1.0, 0.0, 0.0],
            "western": [0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            "romance": [0.0, 0.0, 1.0, 0.0, 1.0, 0.0],
        },
        index=pd.Index([1, 2, 3, 4, 5, 6], name="item_id"),
    )


def test_scores_are_cosine_to_the_rating_weighted_profile(
    ratings: pd.DataFrame, features: pd.DataFrame
) -> None:
    model = ContentBased(item_features=features).fit(ratings)
    profile = (5 * features.loc[1] + 4 * features.loc[2]) / 9
    cosine = features @ profile / (np.linalg.norm(features, axis=1) * np.linalg.norm(profile))
    # Items with nothing in common with the profile (3, and 6 without features) never come.
    want = cosine.where(cosine > 0, -np.inf).to_numpy()
    np.testing.assert_allclose(model.score("ann", features.index), want, rtol=1e-6)
    assert 3 not in model.recommend("ann", n=10)


def test_cold_items_join_the_catalogue_and_can_be_recommended(
    ratings: pd.DataFrame, features: pd.DataFrame
) -> None:
    model = ContentBased(item_features=features).fit(ratings)
    assert model.item_ids_.ids.tolist() == [1, 2, 3, 4, 5, 6]  # the data's items first
    assert model.recommend("ann", n=1) == [4]  # pure "space", never rated
    assert model.recommend("cat", n=1) == [5]
    assert model.user_items_.shape == (3, 6)
    assert model.item_popularity_.tolist() == [1, 2, 2, 0, 0, 0]


def test_items_without_features_are_never_recommended(
    ratings: pd.DataFrame, features: pd.DataFrame
) -> None:
    partial = features.drop(index=[3])  # item 3 is rated but has no features now
    model = ContentBased(item_features=partial).fit(ratings)
    assert model.score("ann", [3, 6]).tolist() == [-np.inf, -np.inf]
    assert model.explain("ann", 6) == ""
    assert not {3, 6} & set(model.recommend("bob", n=10))
    # A user whose only item has no features has an empty profile: nothing to go on.
    assert model.recommend("cat") == []


def test_every_feature_zero_is_an_error(ratings: pd.DataFrame, features: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="at least one item with a non-zero feature"):
        ContentBased(item_features=features * 0.0).fit(ratings)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"genre": ["a", "b"]}, index=[1, 2]), "numeric feature columns.*'genre'"),
        (pd.DataFrame({"x": [1.0, np.nan]}, index=[1, 2]), "finite numbers.*'x' for item 2"),
        (pd.DataFrame({"x": [1.0, 2.0]}, index=[1, 1]), "one row per item.*1"),
        (pd.DataFrame(index=[1, 2]), "at least one feature column"),
        (pd.DataFrame({"x": [1.0]}, index=["one"]), "expected int ids"),
        (pd.DataFrame({"x": [1.0]}, index=[None]), "non-null ids"),
    ],
)
def test_bad_feature_frames_fail_with_a_data_error(
    frame: pd.DataFrame, message: str, ratings: pd.DataFrame
) -> None:
    model = ContentBased(item_features=frame)
    with pytest.raises(DataError, match=message):
        model.fit(ratings)
    assert not model.is_fitted


def test_features_that_are_not_a_dataframe_are_refused(ratings: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        ContentBased(item_features={1: [1.0]}).fit(ratings)  # type: ignore[arg-type]


def test_an_item_id_column_works_like_the_index(
    ratings: pd.DataFrame, features: pd.DataFrame
) -> None:
    by_index = ContentBased(item_features=features).fit(ratings)
    by_column = ContentBased(item_features=features.reset_index()).fit(ratings)
    assert by_column.recommend("bob", n=3) == by_index.recommend("bob", n=3)


def test_explain_names_the_shared_features_strongest_first(
    ratings: pd.DataFrame, features: pd.DataFrame
) -> None:
    model = ContentBased(item_features=features).fit(ratings)
    assert model.explain("ann", 2) == "space, western"
    assert model.explain("ann", 2, top_features=1) == "space"
    assert model.explain("ann", 3) == ""  # nothing in common
    assert model.explain("nobody", 2) == "" and model.explain("ann", 99) == ""
    with pytest.raises(ParameterError, match="top_features"):
        model.explain("ann", 2, top_features=0)


def test_recommend_with_reasons_pairs_items_with_explanations(
    ratings: pd.DataFrame, features: pd.DataFrame
) -> None:
    model = ContentBased(item_features=features).fit(ratings)
    pairs = model.recommend_with_reasons("ann", n=2)
    assert [item for item, _ in pairs] == model.recommend("ann", n=2)
    assert pairs[0] == (4, "space")
    assert model.recommend_with_reasons("nobody") == []
    assert model.recommend_with_reasons("ann", n=5, items=[5]) == [(5, "western")]


def test_fold_in_and_similar_items(ratings: pd.DataFrame, features: pd.DataFrame) -> None:
    model = ContentBased(item_features=features).fit(ratings)
    assert model.recommend_from_history([3], n=1) == [5]
    assert model.similar_items(1, n=2) == [4, 2]
    with pytest.raises(UnknownItemError):
        model.similar_items(42)


def test_without_features_items_are_described_by_their_users(ratings: pd.DataFrame) -> None:
    model = ContentBased().fit(ratings)
    assert model.feature_names_.tolist() == ["user ann", "user bob", "user cat"]
    assert model.recommend("ann") == [3]


# -------------------------------------------------------------- text features
def test_tfidf_rows_are_unit_length_with_smooth_idf() -> None:
    frame = text_features({1: "a b", 2: "b", 3: ""})
    values = dense_frame(frame)
    assert list(values.columns) == ["a", "b"] and values.index.name == "item_id"
    idf_a, idf_b = np.log(4 / 2) + 1, np.log(4 / 3) + 1
    want = np.array([idf_a, idf_b]) / np.hypot(idf_a, idf_b)
    np.testing.assert_allclose(values.loc[1].to_numpy(), want, rtol=1e-6)
    assert values.loc[2].to_numpy().tolist() == [0.0, 1.0] and values.loc[
        3
    ].to_numpy().tolist() == [0.0, 0.0]


def test_count_and_binary_kinds() -> None:
    texts = pd.Series(["Sci-Fi sci-fi to-read", "to-read"], index=["x", "y"])
    counts = dense_frame(text_features(texts, method="count"))
    assert counts.to_dict("index") == {
        "x": {"sci-fi": 2.0, "to-read": 1.0},
        "y": {"sci-fi": 0.0, "to-read": 1.0},
    }
    binary = dense_frame(text_features(texts, method="binary"))
    assert binary.loc["x"].to_numpy().tolist() == [1.0, 1.0]
    assert text_features(texts, method="count", lowercase=False).columns.tolist() == [
        "Sci-Fi",
        "sci-fi",
        "to-read",
    ]


def test_vocabulary_limits() -> None:
    texts = {1: "a a b c", 2: "a b", 3: "a"}
    assert text_features(texts, min_df=2).columns.tolist() == ["a", "b"]
    assert text_features(texts, max_df=0.9).columns.tolist() == ["b", "c"]
    assert text_features(texts, max_features=1).columns.tolist() == ["a"]


def test_a_dataframe_of_text_and_missing_text() -> None:
    frame = pd.DataFrame({"item_id": [5, 6], "text": ["war peace", None]})
    out = text_features(frame, method="binary")
    assert out.index.tolist() == [5, 6] and dense_frame(out).loc[6].sum() == 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: text_features(pd.DataFrame({"id": [1]})), DataError, "missing column 'item_id'"),
        (lambda: text_features({1: 3.5}), DataError, "expected text, received float"),  # type: ignore[dict-item]
        (lambda: text_features([1, 2]), DataError, "expected a DataFrame"),  # type: ignore[arg-type]
        (lambda: text_features({1: "a"}, method="lda"), ParameterError, "method"),  # type: ignore[arg-type]
        (lambda: text_features({1: "a"}, min_df=0), ParameterError, "min_df"),
        (lambda: text_features({1: "a"}, max_df=0.0), ParameterError, "max_df"),
        (lambda: text_features({1: "a"}, token_pattern="("), DataError, "token_pattern"),
    ],
)
def test_bad_text_input(call: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()  # type: ignore[operator]


def test_text_features_feed_content_based(ratings: pd.DataFrame) -> None:
    texts = {1: "space opera", 2: "space western", 3: "romance", 4: "space opera saga"}
    model = ContentBased(item_features=text_features(texts)).fit(ratings)
    assert model.recommend("ann", n=1) == [4]
    assert model.explain("ann", 4) == "space, opera"


def test_repr_shows_the_features_shape_not_their_content(features: pd.DataFrame) -> None:
    assert repr(ContentBased(item_features=features)) == (
        "ContentBased(item_features=<DataFrame: 6 rows x 3 columns>)"
    )
    assert repr(ContentBased()) == "ContentBased()"
