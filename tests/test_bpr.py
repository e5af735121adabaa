"""BPR: the original constructor, reproducibility, threads, progress and loss."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from recommender_systems import BPR, Epoch, Interactions, ParameterError, generate_interactions


def test_original_constructor_names_keep_working(synthetic: pd.DataFrame) -> None:
    model = BPR(n_factors=16, epochs=5, learning_rate=0.05, regularization=0.01, random_state=42)
    assert model.get_params()["n_factors"] == 16
    model.fit(synthetic)
    assert model.user_factors_.shape == (120, 16) and model.item_factors_.dtype == np.float32
    assert model.item_biases_ is not None and model.item_biases_.shape == (80,)


def test_one_thread_is_bit_reproducible(synthetic: pd.DataFrame) -> None:
    a = BPR(n_factors=8, epochs=3, random_state=7).fit(synthetic)
    b = BPR(n_factors=8, epochs=3, random_state=7).fit(synthetic)
    c = BPR(n_factors=8, epochs=3, random_state=8).fit(synthetic)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


def test_hogwild_threads_learn_as_well() -> None:
    # Enough training pairs (250,000) for two threads to get a shard each.
    train = generate_interactions(8000, 2000, 500_000, random_state=2).iloc[::2]
    settings: dict[str, Any] = {
        "n_factors": 16,
        "epochs": 4,
        "learning_rate": 0.05,
        "random_state": 0,
    }
    losses: dict[int, list[Epoch]] = {1: [], 2: []}
    serial = BPR(**settings).fit(train, callback=losses[1].append)
    parallel = BPR(**settings, n_threads=2).fit(train, callback=losses[2].append)
    assert not np.array_equal(serial.user_factors_, parallel.user_factors_)
    first, last_serial, last = losses[2][0].loss, losses[1][-1].loss, losses[2][-1].loss
    assert first is not None and last_serial is not None and last is not None
    assert last == pytest.approx(last_serial, rel=0.02)
    assert last < 0.9 * first  # it learns


def test_callback_reports_a_falling_mean_loss(synthetic: pd.DataFrame) -> None:
    epochs: list[Epoch] = []
    BPR(n_factors=16, epochs=20, learning_rate=0.1, random_state=0).fit(
        synthetic, callback=epochs.append
    )
    assert [e.number for e in epochs] == list(range(1, 21))
    losses = [e.loss for e in epochs if e.loss is not None]
    assert len(losses) == 20 and 0 < losses[-1] < losses[0] < 0.7  # ln 2 = 0.693 at start


def test_without_item_bias(synthetic: pd.DataFrame) -> None:
    model = BPR(epochs=2, item_bias=False, random_state=0).fit(synthetic)
    assert model.item_biases_ is None
    assert len(model.recommend(synthetic["user_id"].iloc[0], n=3)) == 3


def test_divergence_is_reported_as_a_learning_rate_problem(synthetic: pd.DataFrame) -> None:
    model = BPR(n_factors=4, epochs=50, learning_rate=1e30, regularization=1e10, random_state=0)
    with pytest.raises(ParameterError, match="learning_rate"):
        model.fit(synthetic)
    assert not model.is_fitted


def test_training_ranks_each_users_items_above_the_rest() -> None:
    # The gradient's sign: training raises the AUC on the training pairs from chance.
    data = Interactions.from_frame(generate_interactions(300, 200, 6000, random_state=1))
    seen = data.matrix.toarray() > 0
    users = [u for u in range(seen.shape[0]) if 0 < seen[u].sum() < seen.shape[1]]

    def auc(model: BPR) -> float:
        assert model.item_biases_ is not None
        scores = model.user_factors_ @ model.item_factors_.T + model.item_biases_
        pairs = [(scores[u][seen[u]][:, None] > scores[u][~seen[u]][None, :]).mean() for u in users]
        return float(np.mean(pairs))

    untrained = auc(BPR(n_factors=16, epochs=0, random_state=0).fit(data))
    trained = auc(BPR(n_factors=16, epochs=5, random_state=0).fit(data))
    assert abs(untrained - 0.5) < 0.05 and trained > 0.78
