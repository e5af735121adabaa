"""The original library's documented calls, one by one (docs/migrating.md lists them).

Each test runs a call as the original documentation wrote it and checks that it
works and gives what the original promised; where a name changed, the former one
warns and gives the same result as the new one.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from recommender_systems import (
    ALS,
    BPR,
    ContentBased,
    DataError,
    HybridBook,
    HybridRecommender,
    ItemKNN,
    MeanRating,
    MostPopular,
    Recommender,
    UserKNN,
    build_user_item_matrix,
    datasets,
    densest_subset,
    holdout_per_user,
    load,
    metrics,
)
from recommender_systems.books import (
    build_hybrid_book_recommender,
    build_tag_recommender,
    tag_text_per_book,
)
from recommender_systems.features import text_features

TAGS = pd.DataFrame(
    {
        "book_id": [1, 1, 2, 2, 3, 4],
        "tag_name": ["fantasy", "magic", "fantasy", "dragons", "history", "magic"],
        "count": [90, 10, 50, 40, 30, 5],
    }
)
RATINGS = pd.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 3, 3, 4],
        "item_id": [1, 2, 2, 3, 1, 3, 2],
        "rating": [5.0, 4.0, 3.0, 5.0, 4.0, 2.0, 5.0],
    }
)


# ------------------------------------------------------------------- neural
def test_two_tower_cf_as_documented() -> None:
    pytest.importorskip("torch")
    from recommender_systems.neural import TwoTowerCF

    model = TwoTowerCF(n_factors=32, epochs=20, learning_rate=0.01, batch_size=256, random_state=0)
    model.fit(RATINGS)
    assert model.recommend(1, n=2) == [3]  # the one item user 1 has not seen
    assert model.recommend(999, n=5) == []  # an unknown user
    with pytest.raises(DataError, match="this model's ids are integers"):
        model.recommend("nobody", n=5)  # the one id rule (docs/data.md)


# -------------------------------------------------------------- text features
def test_text_features_with_vectorizer_options() -> None:
    texts = pd.Series({1: "the fantasy of magic", 2: "magic dragons", 3: "history"})
    frame = text_features(texts, method="tfidf", ngram_range=(1, 2), stop_words="english")
    assert "fantasy magic" in frame.columns and "the" not in frame.columns
    for method in ("count", "binary"):
        assert text_features(texts, method=method, max_features=2).shape == (3, 2)


# ----------------------------------------------------------------------- books
def test_book_pipeline_from_a_tag_table() -> None:
    text = tag_text_per_book(TAGS)
    assert text.to_dict() == {1: "fantasy magic", 2: "fantasy dragons", 3: "history", 4: "magic"}
    content = build_tag_recommender(TAGS, method="binary").fit(RATINGS)
    assert isinstance(content, ContentBased)
    assert 4 in content.recommend(1, n=3)  # book 4 has no ratings but shares a tag
    hybrid = build_hybrid_book_recommender(TAGS, ngram_range=(1, 2)).fit(RATINGS)
    assert isinstance(hybrid.recommenders_[0], ItemKNN)
    assert hybrid.weights == [3.0, 1.0] and hybrid.rank_constant == 60
    assert hybrid.recommend(4, n=3)
    with_als = build_hybrid_book_recommender(TAGS, collaborative=ALS(), weights=(1.0, 1.0))
    assert isinstance(with_als.recommenders[0], ALS)  # type: ignore[index]


def test_goodbooks_loaders_exist() -> None:
    assert callable(datasets.load_goodbooks_books) and callable(datasets.load_goodbooks_tags)


# --------------------------------------------------------------------- metrics
def test_metrics_in_their_list_forms() -> None:
    predicted, actual = [[1, 2, 3], [4, 5, 6]], [[1, 3], [9]]
    assert metrics.mean_average_precision(predicted, actual, 3) == pytest.approx(
        ((1 + 2 / 3) / 2 + 0) / 2
    )
    assert metrics.catalog_coverage(predicted, list(range(1, 11)), 2) == 0.4
    assert metrics.serendipity_at_k(predicted, actual, [1], 3) == pytest.approx((1 / 3 + 0) / 2)
    same_parity = lambda a, b: float(a % 2 == b % 2)  # noqa: E731
    assert metrics.intra_list_diversity([[1, 2, 3]], same_parity, 3) == pytest.approx(2 / 3)
    shares = {i: 1 / 2**i for i in range(1, 7)}
    assert metrics.novelty(predicted, shares, 3) == pytest.approx((2 + 5) / 2)


# --------------------------------------------------------- names and keywords
def test_als_and_hybrid_keywords() -> None:
    als = ALS(epochs=3, regularization=0.1, alpha=2.0, random_state=0).fit(RATINGS)
    assert als.recommend(1, n=1)
    members = [ItemKNN(), MostPopular()]
    hybrid = HybridRecommender(recommenders=members, weights=[2.0, 1.0])
    assert hybrid.recommenders is members and hybrid.weights == [2.0, 1.0]


def test_recommend_user_id_and_fit_ratings_keywords() -> None:
    model = ItemKNN()
    with pytest.warns(DeprecationWarning, match="'ratings' is deprecated, use 'data'"):
        model.fit(ratings=RATINGS)  # type: ignore[call-arg]
    with pytest.warns(DeprecationWarning, match="'user_id' is deprecated, use 'user'"):
        old = model.recommend(user_id=4, n=2)  # type: ignore[call-arg]
    assert old == model.recommend(4, n=2)


def test_data_helpers_as_documented() -> None:
    dense = build_user_item_matrix(RATINGS, fill_value=None)
    assert dense.shape == (4, 3) and dense.isna().loc[1, 3]
    assert build_user_item_matrix(RATINGS, fill_value=0).loc[1, 3] == 0
    renamed = RATINGS.rename(columns={"user_id": "reader"})
    _, test = holdout_per_user(renamed, 1, user_col="reader")
    assert test["reader"].nunique() == 3  # user 4 has one rating: it stays in train
    subset = densest_subset(RATINGS, n_users=1000, n_items=1000)
    assert len(subset) == len(RATINGS)


# --------------------------------------------------- saving text-based models
def test_content_and_hybrid_book_models_on_text_save(tmp_path: Path) -> None:
    features = text_features(tag_text_per_book(TAGS))
    for model in (ContentBased(item_features=features), HybridBook(item_features=features)):
        model.fit(RATINGS)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loaded = load(model.save(tmp_path / f"{type(model).__name__}.recsys"))
        assert (
            loaded.recommend_batch([1, 2, 3], 3).to_lists()
            == model.recommend_batch([1, 2, 3], 3).to_lists()
        )


# --------------------------------------------------------------------- fold-in
@pytest.mark.parametrize(
    "model",
    [BPR(epochs=20, random_state=0), UserKNN(), MostPopular(), MeanRating(min_ratings=1)],
    ids=lambda m: type(m).__name__,
)
def test_fold_in_for_models_that_refused_it(model: Recommender) -> None:
    fitted = model.fit(RATINGS)
    recs = fitted.recommend_from_history([1, 2], n=2)
    assert recs and not {1, 2} & set(recs)


def test_user_knn_similar_items() -> None:
    model = UserKNN().fit(RATINGS)
    similar = model.similar_items(1, n=2)
    assert similar and 1 not in similar
    # Items 1 and 3 share two users (1: {1, 3}, 3: {2, 3}); 1 and 2 share one.
    columns = build_user_item_matrix(RATINGS, fill_value=0).to_numpy() > 0
    overlap = {j: int((columns[:, 0] & columns[:, j - 1]).sum()) for j in (2, 3)}
    assert overlap[similar[0]] == max(overlap.values())
