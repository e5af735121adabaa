"""Validation splits carved out of the training rows, and the score tuning maximises.

Tuning never sees test rows: :func:`validation_split` splits the *training*
interactions again, with the same protocol as evaluation (by default the
original one: a random 20% of the rows, seeded), into a part models are fitted
on and a held-out part they are scored on, with the same metric as evaluation
(NDCG@10 by default; items seen in the fitted part are excluded).

Example:
    >>> from recommender_systems import EASE, generate_interactions
    >>> train = generate_interactions(200, 100, 4_000, random_state=1)
    >>> split = validation_split(train, random_state=0)
    >>> split.fit_part.nnz + split.held_out.nnz == len(train)
    True
    >>> 0.0 <= split.score(EASE().fit(split.fit_part)) <= 1.0
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recommender_systems._validation import check_choice, check_positive_int
from recommender_systems.base import Recommender
from recommender_systems.evaluation import evaluate
from recommender_systems.interactions import Interactions, as_interactions
from recommender_systems.metrics import RANK_METRICS
from recommender_systems.split import PROTOCOLS, split

__all__ = ["VALIDATION_SEED", "ValidationSplit", "validation_split"]

#: The seed of the validation split unless told otherwise.
VALIDATION_SEED = 0


@dataclass(frozen=True)
class ValidationSplit:
    """Training rows split in two: ``fit_part`` to fit on, ``held_out`` to score on."""

    fit_part: Interactions
    held_out: Interactions
    protocol: str = "random"
    test_size: float = 0.2
    random_state: int = VALIDATION_SEED
    metric: str = "ndcg"
    k: int = 10

    @property
    def metric_name(self) -> str:
        """The score's name, e.g. ``"ndcg@10"``."""
        return f"{self.metric}@{self.k}"

    def score(self, model: Recommender) -> float:
        """``model``'s metric on the held-out rows (the model is fitted on ``fit_part``)."""
        result = evaluate(model, None, self.held_out, k=self.k, metrics=(self.metric,))
        return float(result[self.metric_name])

    def describe(self) -> dict[str, Any]:
        """What the split is, as plain values (for reports)."""
        return {
            "protocol": self.protocol,
            "test_size": self.test_size,
            "random_state": self.random_state,
            "metric": self.metric_name,
            "fit_rows": self.fit_part.nnz,
            "held_out_rows": self.held_out.nnz,
        }


def validation_split(
    train: Any,
    *,
    protocol: str = "random",
    test_size: float = 0.2,
    random_state: int = VALIDATION_SEED,
    metric: str = "ndcg",
    k: int = 10,
) -> ValidationSplit:
    """Carves a validation split out of ``train`` (training rows only).

    ``protocol`` is a splitter name from :data:`recommender_systems.split.PROTOCOLS`
    (``"random"``: the original protocol, ``"user-holdout"``, ``"leave-last-out"``,
    ``"temporal"``); use the one you evaluate with. ``test_size`` is the held-out
    share of the training rows (``leave-last-out`` holds out one row per user).
    """
    check_choice(protocol, "protocol", tuple(PROTOCOLS))
    check_choice(metric, "metric", tuple(RANK_METRICS))
    k = check_positive_int(k, "k")
    data = as_interactions(train)
    kwargs: dict[str, Any] = {}
    if protocol in ("random", "user-holdout"):
        kwargs["random_state"] = random_state
    if protocol != "leave-last-out":
        kwargs["test_size"] = test_size
    fit_part, held_out = split(data, protocol, **kwargs)
    return ValidationSplit(fit_part, held_out, protocol, test_size, random_state, metric, k)
