"""Test-only models that exercise every kind of state and hyperparameter a model file
must hold (they are not registered, so the conformance suite does not see them).

- :class:`RandomFactors`: a factor model with large float32 arrays (one of them in
  Fortran order), a NumPy scalar, fold-in and item similarities; also the stand-in
  for ALS in the serving load test.
- :class:`CscNeighbours`: item-item similarities as a CSC matrix, plus dicts with
  non-string keys, tuples, None and infinite floats.
- :class:`ToyHybrid`: nested Recommenders as hyperparameters and as fitted state,
  with one model referenced twice.
- :class:`FeatureModel`: a pandas DataFrame hyperparameter (strings, categories,
  missing values).
- :class:`SlowModel`: popularity that takes ``delay`` seconds per call, to test that
  requests in flight finish on the old model when a server reloads.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems import MostPopular, Recommender
from recommender_systems.interactions import Interactions


class RandomFactors(Recommender):
    """Scores are dot products of seeded random user and item factors."""

    def __init__(self, n_factors: int = 64, random_state: int = 0) -> None:
        self.n_factors = n_factors
        self.random_state = random_state

    def _fit(self, data: Interactions) -> None:
        rng = np.random.default_rng(self.random_state)
        k = int(self.n_factors)
        self.user_factors_ = rng.standard_normal((data.n_users, k), dtype=np.float32)
        self.item_factors_ = np.asfortranarray(
            rng.standard_normal((data.n_items, k), dtype=np.float32)
        )
        self.scale_ = np.float32(1.0 / np.sqrt(k))
        self.n_factors_ = k
        self.norm_ = np.float64(np.linalg.norm(self.item_factors_))  # a float subclass

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return (self.user_factors_[users] @ self.item_factors_.T) * self.scale_

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        users = np.asarray(history @ self.item_factors_, dtype=np.float32)
        return (users @ self.item_factors_.T) * self.scale_

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        return self.item_factors_[items] @ self.item_factors_.T


class CscNeighbours(Recommender):
    """Item-item co-occurrence (a CSC matrix) applied to each user's history."""

    def __init__(self, shrink: float = 1.0) -> None:
        self.shrink = shrink

    def _fit(self, data: Interactions) -> None:
        binary = (data.matrix > 0).astype(np.float32)
        similarity = (binary.T @ binary).tocsc().astype(np.float32)
        similarity.setdiag(0)
        similarity.eliminate_zeros()
        similarity.data /= similarity.data + np.float32(self.shrink)
        self.similarity_ = similarity
        self.options_ = {"shrink": float(self.shrink), 1: "an int key", (2, 3): [None, True]}
        self.bounds_ = (0, float("-inf"), float("inf"), float("nan"), None)
        self.note_ = "csc"

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.user_items_[users] @ self.similarity_).toarray())

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray((history @ self.similarity_).toarray())

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        return np.asarray(self.similarity_[:, items].T.toarray())


class ToyHybrid(Recommender):
    """A weighted sum of other models' scores."""

    def __init__(
        self, models: list[Recommender] | None = None, weights: list[float] | None = None
    ) -> None:
        self.models = models
        self.weights = weights

    def _fit(self, data: Interactions) -> None:
        models = self.models or [MostPopular(), RandomFactors(n_factors=4)]
        self.models_ = [m.clone().fit(data) for m in models]
        self.weights_ = np.asarray(self.weights or [1.0] * len(models), dtype=np.float32)
        self.lead_ = self.models_[0]  # the same object twice: it must load as one

    def _scores(self, users: np.ndarray) -> np.ndarray:
        total = np.zeros((users.size, len(self.item_ids_)), dtype=np.float32)
        for weight, model in zip(self.weights_, self.models_, strict=True):
            scores = model._score_block(users)
            total += weight * np.where(np.isfinite(scores), scores, 0)
        return total


class FeatureModel(Recommender):
    """Content scores from an item feature table (a DataFrame hyperparameter)."""

    def __init__(self, item_features: pd.DataFrame | None = None) -> None:
        self.item_features = item_features

    def _fit(self, data: Interactions) -> None:
        features = self.item_features
        if features is None:
            features = default_features(data.item_ids.ids)
        table = features.set_index("item_id").reindex(data.item_ids.ids)
        genres = pd.get_dummies(table["genre"].astype(object), dtype=np.float32).to_numpy()
        year = table["year"].fillna(table["year"].mean()).to_numpy(dtype=np.float32)
        year = (year - year.mean()) / (year.std() + 1)
        self.item_vectors_ = np.column_stack([genres, year]).astype(np.float32)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self._scores_for_history(self.user_items_[users])

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        profile = np.asarray(history @ self.item_vectors_, dtype=np.float32)
        return profile @ self.item_vectors_.T

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        return self.item_vectors_[items] @ self.item_vectors_.T


def default_features(item_ids: Any) -> pd.DataFrame:
    """An item feature table with strings, categories, floats and missing values."""
    ids = np.asarray(item_ids)
    n = ids.size
    genre = pd.Series(np.array(["drama", "comedy", "horror"])[np.arange(n) % 3], dtype="str")
    genre[::7] = None
    return pd.DataFrame(
        {
            "item_id": ids,
            "genre": genre,
            "kind": pd.Categorical(np.where(np.arange(n) % 2, "film", "series")),
            "year": np.where(np.arange(n) % 5 == 0, np.nan, 1950 + np.arange(n) % 70),
            "title": pd.Series([f"title {i}" for i in range(n)], dtype=object),
        },
        index=pd.Index([f"row{i}" for i in range(n)], name="row"),
    )


class SlowModel(MostPopular):
    """Popularity, but every scoring call sleeps ``delay`` seconds first."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def _scores(self, users: np.ndarray) -> np.ndarray:
        time.sleep(self.delay)
        return super()._scores(users)

    def _top_candidates(
        self, users: np.ndarray, n: int, seen: sp.csr_matrix | None, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        # The baselines rank without scoring blocks (no _scores call): sleep here too.
        time.sleep(self.delay)
        return super()._top_candidates(users, n, seen, allowed)

    def _fallback_scores(self) -> np.ndarray:
        time.sleep(self.delay)
        return super()._fallback_scores()


def toy_models(item_ids: Any) -> dict[str, Recommender]:
    """One of each toy model, unfitted, by a readable name."""
    return {
        "toy-random-factors": RandomFactors(n_factors=16, random_state=3),
        "toy-csc-neighbours": CscNeighbours(shrink=2.0),
        "toy-hybrid": ToyHybrid(
            models=[RandomFactors(n_factors=4), CscNeighbours()], weights=[0.7, 0.3]
        ),
        "toy-features": FeatureModel(item_features=default_features(item_ids)),
    }
