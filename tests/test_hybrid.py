"""HybridRecommender (weighted rank or score fusion) and the HybridBook pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender_systems import (
    EASE,
    ContentBased,
    HybridBook,
    HybridRecommender,
    Interactions,
    ItemKNN,
    MostPopular,
    NotSupportedError,
    ParameterError,
    Recommender,
    RP3beta,
    UserKNN,
    generate_interactions,
    load,
    text_features,
)
from recommender_systems.books import hybrid_book_from_goodbooks
from recommender_systems.datasets import load_goodbooks_10k
from tests.datasets.conftest import BOOKS_HEADER
from tests.toy_models import ToyHybrid


@pytest.fixture(scope="module")
def data(synthetic: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(synthetic)


def reciprocal_rank_fusion(
    rankings: list[list[int]], weights: list[float], constant: float
) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (constant + rank)
    return fused


def test_scores_are_weighted_reciprocal_ranks(data: Interactions) -> None:
    members: list[Recommender] = [MostPopular(), ItemKNN(n_neighbors=20), EASE(regularization=10.0)]
    weights = [1.0, 2.0, 0.5]
    hybrid = HybridRecommender(members, weights, rank_constant=5, pool=8).fit(data)
    user = data.user_ids.ids[4].item()
    rankings = [model.fit(data).recommend(user, n=8) for model in members]
    fused = reciprocal_rank_fusion(rankings, weights, 5)
    got = hybrid.score(user, list(fused))
    np.testing.assert_allclose(got, list(fused.values()), rtol=1e-6)
    best_first = sorted(fused, key=lambda item: -fused[item])
    assert hybrid.recommend(user, n=3) == best_first[:3]
    # Items outside every member's pool are never recommended.
    assert len(hybrid.recommend(user, n=1000)) == len(fused)


def standardised(scores: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """A row of scores standardised over its candidates (non-finite: the lowest)."""
    usable = candidates & np.isfinite(scores)
    mean, spread = scores[usable].mean(), scores[usable].std()
    z = (np.where(usable, scores, 0.0) - mean) / (spread if spread > 0 else 1.0)
    return np.where(usable, z, z[usable].min())


def test_score_fusion_sums_standardised_scores(data: Interactions, tmp_path: Path) -> None:
    members: list[Recommender] = [ItemKNN(n_neighbors=20), EASE(regularization=10.0)]
    hybrid = HybridRecommender(members, [0.7, 0.3], fusion="scores").fit(data)
    users = np.arange(5)
    got = hybrid._score_block(users)
    seen = data.matrix[users].toarray() > 0
    blocks = [m._score_block(users).astype(np.float64) for m in hybrid.recommenders_]
    for row in range(users.size):
        want = 0.7 * standardised(blocks[0][row], ~seen[row]) + 0.3 * standardised(
            blocks[1][row], ~seen[row]
        )
        np.testing.assert_allclose(got[row][~seen[row]], want[~seen[row]], rtol=1e-5, atol=1e-5)
        assert np.all(got[row][seen[row]] == -np.inf)
    user = data.user_ids.ids[2].item()
    best = np.argsort(-got[2], kind="stable")[:5]
    assert hybrid.recommend(user, n=5) == data.item_ids.ids[best].tolist()
    # Saved and loaded, it fuses the same way.
    loaded = load(hybrid.save(tmp_path / "h.recsys"))
    assert loaded.get_params()["fusion"] == "scores"
    assert loaded.recommend(user, n=5) == hybrid.recommend(user, n=5)


def test_score_fusion_ranks_a_members_unscorable_items_last_for_it() -> None:
    scores = np.array([[1.0, -np.inf, 3.0, np.nan, 5.0]])
    hybrid = HybridRecommender([ItemKNN()], fusion="scores")
    hybrid.weights_ = np.array([1.0])
    exclude = sp.csr_matrix(np.array([[0, 0, 0, 0, 1]]))
    fused = hybrid._fuse([scores], exclude)
    # Over the candidates 1 and 3 (finite, not excluded): z = -1 and +1.
    np.testing.assert_allclose(fused[0, [0, 2]], [-1.0, 1.0])
    np.testing.assert_allclose(fused[0, [1, 3]], [-1.0, -1.0])
    assert fused[0, 4] == -np.inf


def test_fit_trains_copies_and_leaves_the_members_untouched(data: Interactions) -> None:
    member = ItemKNN(n_neighbors=5)
    hybrid = HybridRecommender([member, RP3beta()]).fit(data)
    assert not member.is_fitted
    assert all(model.is_fitted for model in hybrid.recommenders_)
    assert hybrid.recommenders_[0] is not member


def test_hybrids_nest(data: Interactions) -> None:
    inner = HybridRecommender([ItemKNN(n_neighbors=10), UserKNN(n_neighbors=10)])
    outer = HybridRecommender([inner, MostPopular()], weights=[3, 1]).fit(data)
    user = data.user_ids.ids[0].item()
    recs = outer.recommend(user, n=10)
    nested = outer.recommenders_[0]
    assert isinstance(nested, HybridRecommender)
    assert len(recs) == 10 and nested.recommenders_[1].is_fitted
    clone = outer.clone()
    assert clone.get_params()["recommenders"][0] is not inner


def test_fold_in_and_similar_items_follow_the_members(data: Interactions) -> None:
    both = HybridRecommender([ItemKNN(n_neighbors=10), EASE(regularization=10.0)]).fit(data)
    assert both.supports_fold_in and both.supports_similar_items
    history = data.item_ids.ids[:4].tolist()
    recs = both.recommend_from_history(history, n=5)
    assert len(recs) == 5 and not set(recs) & set(history)
    item = data.item_ids.ids[0].item()
    assert item not in both.similar_items(item, n=5)

    # A member with neither (a custom model): the hybrid has neither.
    with_toy = HybridRecommender([ItemKNN(n_neighbors=10), ToyHybrid()])
    assert not with_toy.supports_fold_in  # known before fitting too
    with_toy.fit(data)
    with pytest.raises(NotSupportedError):
        with_toy.recommend_from_history(history)
    with pytest.raises(NotSupportedError):
        with_toy.similar_items(item)
    # MostPopular folds in but has no item similarities.
    with_popular = HybridRecommender([ItemKNN(n_neighbors=10), MostPopular()]).fit(data)
    assert with_popular.supports_fold_in and not with_popular.supports_similar_items


def test_default_construction_works(data: Interactions) -> None:
    hybrid = HybridRecommender().fit(data)
    assert [type(m).__name__ for m in hybrid.recommenders_] == ["ItemKNN", "RP3beta"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"recommenders": []}, "recommenders: expected a non-empty list of recommenders"),
        ({"recommenders": ItemKNN()}, "recommenders: expected a non-empty list"),
        ({"recommenders": [ItemKNN(), "ease"]}, "recommenders: expected a non-empty list"),
        ({"weights": [1.0]}, "weights: expected one weight per recommender \\(2\\), received 1"),
        ({"weights": [1.0, -1.0]}, "weights: expected a finite number >= 0"),
        ({"weights": [0, 0]}, "weights: expected at least one weight > 0"),
        ({"weights": "11"}, "weights: expected a list of numbers"),
        ({"rank_constant": -1}, "rank_constant: expected a finite number >= 0"),
        ({"pool": 0}, "pool: expected an integer >= 1, received 0"),
        ({"fusion": "mean"}, "fusion: expected one of"),
    ],
)
def test_bad_hyperparameters(params: dict[str, object], message: str, data: Interactions) -> None:
    hybrid = HybridRecommender(**params)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=message):
        hybrid.fit(data)


def test_a_content_member_brings_its_cold_items_to_the_hybrid() -> None:
    ratings = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [10, 20, 10, 30, 20]})
    texts = {10: "space", 20: "space opera", 30: "romance", 40: "space opera epic"}
    hybrid = HybridRecommender(
        [ItemKNN(), ContentBased(item_features=text_features(texts))], weights=[1, 1]
    ).fit(ratings)
    assert 40 in hybrid.item_ids_
    assert all(len(model.item_ids_) == 4 for model in hybrid.recommenders_)
    assert 40 in hybrid.recommend(3, n=3)


# ----------------------------------------------------------------- HybridBook
def write_goodbooks_library(folder: Path) -> None:
    """A small goodbooks-10k in the official formats: 6 books, tags, 8 readers.

    Books 1-3 are fantasy, 4-5 romance; book 6 has tags but no ratings (cold).
    """
    folder.mkdir(parents=True)
    rows = [f"{i},{1000 + i},{1000 + i},{i},1,{i},{i}.0,Author {i},2000.0,T{i},Title {i},eng,4.0"
            for i in range(1, 7)]  # fmt: skip
    (folder / "books.csv").write_text(BOOKS_HEADER + "\n" + "\n".join(rows) + "\n")
    (folder / "tags.csv").write_text("tag_id,tag_name\n1,fantasy\n2,romance\n3,to-read\n4,magic\n")
    book_tags = {
        1: [(1, 50), (4, 10), (3, 90)],
        2: [(1, 40), (4, 30)],
        3: [(1, 20), (3, 5)],
        4: [(2, 60), (3, 10)],
        5: [(2, 30)],
        6: [(1, 70), (4, 60)],
    }
    lines = [
        f"{1000 + book},{tag},{count}" for book, tags in book_tags.items() for tag, count in tags
    ]
    (folder / "book_tags.csv").write_text(
        "goodreads_book_id,tag_id,count\n" + "\n".join(lines) + "\n"
    )
    reads = {1: [1, 2], 2: [1, 3], 3: [2, 3], 4: [4, 5], 5: [4], 6: [1, 2, 3], 7: [5], 8: [1]}
    ratings = [f"{user},{book},{4 + (book % 2)}" for user, books in reads.items() for book in books]
    (folder / "ratings.csv").write_text("user_id,book_id,rating\n" + "\n".join(ratings) + "\n")


def test_hybrid_book_on_goodbooks_fixtures(tmp_path: Path) -> None:
    write_goodbooks_library(tmp_path / "goodbooks-10k")
    model = hybrid_book_from_goodbooks(tmp_path, download=False, verify=False)
    ratings = load_goodbooks_10k(tmp_path, download=False, verify=False, progress=False)
    model.fit(ratings)

    knn, content = model.recommenders_
    assert isinstance(knn, ItemKNN) and isinstance(content, ContentBased)
    assert model.weights_.tolist() == [3.0, 1.0]
    assert 6 in model.item_ids_  # the cold book joined the catalogue
    assert "magic" in content.feature_names_.tolist()
    # A fantasy reader gets fantasy books, the unrated one included, before romance.
    recs = model.recommend(8, n=5)
    assert recs[:3] and set(recs[:3]) <= {2, 3, 6} and 6 in recs
    assert content.explain(8, 6) == "magic, fantasy"  # "magic" is the rarer tag
    assert model.recommend_from_history([4], n=1) == [5]


def test_hybrid_book_weights_and_defaults(tmp_path: Path) -> None:
    assert HybridBook().get_params()["knn_weight"] == 3.0
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1]})
    assert HybridBook().fit(ratings).recommend(2) == [2]
    with pytest.raises(ParameterError, match="knn_weight, content_weight"):
        HybridBook(knn_weight=0, content_weight=0).fit(ratings)


def test_a_failed_refit_keeps_the_working_model(data: Interactions) -> None:
    hybrid = HybridRecommender(
        [ItemKNN(n_neighbors=5), MostPopular()], weights=np.array([2.0, 1.0])
    )
    hybrid.fit(data)
    user = data.user_ids.ids[0].item()
    before = hybrid.recommend(user)
    assert hybrid.weights_.tolist() == [2.0, 1.0]
    hybrid.set_params(recommenders=[])
    with pytest.raises(ParameterError, match="recommenders"):
        hybrid.fit(data)
    assert hybrid.is_fitted and hybrid.weights_.tolist() == [2.0, 1.0]
    assert hybrid.recommend(user) == before


def test_from_goodbooks_is_deprecated_and_builds_the_same_model(tmp_path: Path) -> None:
    write_goodbooks_library(tmp_path / "goodbooks-10k")
    with pytest.warns(DeprecationWarning, match="hybrid_book_from_goodbooks"):
        old = HybridBook.from_goodbooks(tmp_path, download=False, verify=False)
    new = hybrid_book_from_goodbooks(tmp_path, download=False, verify=False)
    assert isinstance(old, HybridBook)
    assert old.item_features is not None and new.item_features is not None
    assert old.item_features.equals(new.item_features)


def test_former_state_name_reads_the_current_one_with_a_warning() -> None:
    # Estimator.__init_subclass__ adds a property per `renamed_state` entry.
    log = generate_interactions(60, 40, 600, random_state=0)
    hybrid = HybridRecommender([MostPopular(), ItemKNN()]).fit(log)
    with pytest.warns(DeprecationWarning, match="recommenders_"):
        assert getattr(hybrid, "models_") is hybrid.recommenders_  # noqa: B009 (no static attribute)
