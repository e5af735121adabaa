"""The baselines' candidate step (one ranking walked past each user's seen items)
gives exactly the lists of the default dense path, which it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender_systems import MeanRating, MostPopular, generate_interactions
from recommender_systems.query import rank, shared_top_candidates


@pytest.mark.parametrize("seed", range(200))
def test_the_same_lists_as_ranking_a_dense_block(seed: int) -> None:
    # Small integer scores: many ties, which must go to the lower item index.
    rng = np.random.default_rng(seed)
    n_items, n_rows, n = (
        int(rng.integers(1, 40)),
        int(rng.integers(0, 30)),
        int(rng.integers(1, 50)),
    )
    scores = rng.integers(0, 5, n_items).astype(np.float32)
    scores[rng.random(n_items) < 0.15] = -np.inf  # never recommended
    scores[rng.random(n_items) < 0.05] = np.nan
    density = rng.choice([0.0, 0.3, 0.9, 1.0])
    seen = sp.csr_matrix((rng.random((n_rows, n_items)) < density).astype(np.float32))
    allowed = rng.random(n_items) < 0.7 if seed % 3 == 0 else None
    for exclude in (seen, None):
        got = shared_top_candidates(scores, n_rows, n, exclude, allowed)
        want = rank(np.broadcast_to(scores, (n_rows, n_items)).copy(), n, exclude, allowed)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("model", [MostPopular(), MeanRating(min_ratings=2)])
def test_the_baselines_rank_through_it(model: MostPopular | MeanRating) -> None:
    log = generate_interactions(300, 80, 4_000, ratings=True, random_state=4)
    model.fit(log)
    ids = model.user_ids_.ids
    lists = model.recommend_batch(ids, n=15).to_lists()
    dense = rank(model._score_block(np.arange(ids.size)).copy(), 15, model.user_items_, None)[0]
    assert lists == [model.item_ids_.ids[row[row >= 0]].tolist() for row in dense]


def test_a_single_seen_item_is_still_skipped() -> None:
    scores = np.array([3.0, 2.0, 1.0], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 0]], dtype=np.float32))
    indices, _ = shared_top_candidates(scores, 2, 2, seen, None)
    assert indices.tolist() == [[1, 2], [0, 1]]
