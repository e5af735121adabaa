from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender_systems import Epoch, show_progress
from recommender_systems.base import Recommender
from recommender_systems.interactions import Interactions
from recommender_systems.progress import Training


class _Iterative(Recommender):
    """A toy model whose training loop reports a decreasing loss."""

    def __init__(self, epochs: int = 3) -> None:
        self.epochs = epochs

    def _fit(self, data: Interactions) -> None:
        for epoch in self._epochs(self.epochs, "toy"):
            epoch.loss = 1.0 / epoch.number
        self.done_ = True

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.zeros((users.size, len(self.item_ids_)), dtype=np.float32)


def test_callback_hears_every_epoch(tiny: pd.DataFrame) -> None:
    heard: list[Epoch] = []
    _Iterative(epochs=3).fit(tiny, callback=heard.append)
    assert [e.number for e in heard] == [1, 2, 3]
    assert [e.loss for e in heard] == pytest.approx([1.0, 0.5, 1 / 3])
    assert all(e.total == 3 and e.seconds >= 0 for e in heard)


def test_progress_bar_shown_on_request(
    tiny: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    _Iterative().fit(tiny)
    assert "toy" not in capsys.readouterr().err
    _Iterative().fit(tiny, progress=True)
    assert "toy" in capsys.readouterr().err
    with show_progress():
        assert Training().progress
        _Iterative().fit(tiny)
    assert "toy" in capsys.readouterr().err
    assert not Training().progress


def test_training_state_does_not_outlive_fit(tiny: pd.DataFrame) -> None:
    model = _Iterative().fit(tiny)
    assert model._training is None and model.done_


class _Failing(_Iterative):
    def _fit(self, data: Interactions) -> None:
        if self.epochs < 0:
            raise RuntimeError("training failed")
        super()._fit(data)


def test_failed_refit_keeps_the_previous_state(tiny: pd.DataFrame) -> None:
    model = _Failing(epochs=1).fit(tiny)
    before = model.recommend("ann")
    model.set_params(epochs=-1)
    with pytest.raises(RuntimeError, match="training failed"):
        model.fit(tiny.iloc[:3])
    assert model.is_fitted and model.recommend("ann") == before
    assert len(model.user_ids_) == 4
    fresh = _Failing(epochs=-1)
    with pytest.raises(RuntimeError):
        fresh.fit(tiny)
    assert not fresh.is_fitted
