"""``AutoRecommender`` (``create("auto")``): tunes a portfolio of models on a
validation split of the training rows and keeps the best, refitted on all of them.

It needs the ``tune`` extra (Optuna) when it fits: ``pip install
'recommender-systems[tune]'``. A fitted one needs nothing more: it saves, loads
and serves like any model, and says what it chose and why in ``report_``.

Example:
    >>> from recommender_systems import create, generate_interactions
    >>> train = generate_interactions(300, 200, 6_000, n_tastes=4, random_state=1)
    >>> auto = create("auto", budget=30, n_trials=3, random_state=0).fit(train)
    >>> auto.report_["chosen"].split()[0] in ("ease", "als", "item-knn", "rp3beta", "hybrid")
    True
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender_systems.base import Recommender
from recommender_systems.errors import DataError, ParameterError
from recommender_systems.hybrid import HybridRecommender
from recommender_systems.hyperparameters import (
    Bool,
    Custom,
    Float,
    Int,
    Seed,
    Threads,
    declare,
)
from recommender_systems.interactions import Interactions
from recommender_systems.query import TopN
from recommender_systems.registry import algorithms, get_algorithm, register
from recommender_systems.state import Fitted, Record, declare_state
from recommender_systems.validation import validation_split

__all__ = ["DEFAULT_PORTFOLIO", "AutoRecommender"]

#: The families ``auto`` tunes unless told otherwise, and their shares of the budget.
DEFAULT_PORTFOLIO: tuple[str, ...] = ("ease", "item-knn", "rp3beta", "als")
_SHARES = {"ease": 0.15, "item-knn": 0.2, "rp3beta": 0.2, "als": 0.45}
#: Share of the budget kept for the hybrid of the two best families.
_HYBRID_SHARE = 0.1


def _check_portfolio(value: Any, name: str) -> Any:
    known = {a.name for a in algorithms()} - {"auto"}
    if value is None:
        return value
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence)
        or not value
        or not all(isinstance(v, str) and v in known for v in value)
    ):
        raise ParameterError(
            f"{name}: expected None or a non-empty list of registered algorithm names "
            f"(not 'auto'), received {value!r}"
        )
    return value


@register(
    "auto",
    family="automatic",
    summary="Tunes EASE, ItemKNN, RP3beta and ALS (and their best hybrid) on a "
    "validation split; keeps the best",
)
class AutoRecommender(Recommender):
    """Chooses and tunes a model for your data.

    ``fit(train)`` carves a validation split out of ``train`` (the original
    protocol: a random ``validation_size`` share of the rows, seeded by
    ``random_state``), tunes each family of ``portfolio`` on it with
    :mod:`recommender_systems.tune` within ``budget`` seconds (at most ``n_trials``
    trials each), tries a hybrid of the two best when ``hybrid``, and refits the
    configuration with the best validation NDCG@10 on all of ``train``. A hybrid
    that beats the best single model on the validation split is kept only if its
    gains there and on a second split (seed ``random_state + 1``) sum to more than
    0 (when the budget has no time left for those fits, or one fails, only if it
    beat it by more than 1%).

    The chosen model is ``model_``; the model itself recommends, folds in and
    finds similar items through it. ``report_`` (plain values) says what was
    tried and why the winner won; a saved ``auto`` model keeps both.
    """

    hyperparameters = declare(
        budget=Float(
            default=90.0,
            low=0.0,
            low_open=True,
            doc="seconds for the search (the final refit comes on top)",
        ),
        n_trials=Int(default=30, low=1, doc="at most this many trials per family"),
        portfolio=Custom(
            default=None,
            checker=_check_portfolio,
            accepts="None or a non-empty list of registered algorithm names",
            doc="the families tried (default: ease, item-knn, rp3beta, als)",
        ),
        hybrid=Bool(
            default=True,
            doc="also try a hybrid of the two best families (rank or score fusion)",
        ),
        validation_size=Float(
            default=0.2,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            doc="share of the training rows held out for validation",
        ),
        random_state=Seed(doc="seed of the validation split, the search and the models"),
        n_threads=Threads(),
    )

    state = declare_state(Recommender.state, model_=Fitted(Recommender), report_=Record())

    model_: Recommender
    report_: dict[str, Any]

    def __init__(
        self,
        budget: float = 90.0,
        n_trials: int = 30,
        portfolio: Sequence[str] | None = None,
        hybrid: bool = True,
        validation_size: float = 0.2,
        random_state: int | np.random.Generator | None = None,
        n_threads: int = 0,
    ) -> None:
        self.budget = budget
        self.n_trials = n_trials
        self.portfolio = portfolio
        self.hybrid = hybrid
        self.validation_size = validation_size
        self.random_state = random_state
        self.n_threads = n_threads

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Interactions) -> None:
        from recommender_systems.tune import _search  # needs the `tune` extra

        start = time.perf_counter()
        seed = self.random_state if isinstance(self.random_state, int) else 0
        names = list(self.portfolio or DEFAULT_PORTFOLIO)
        templates = []
        for name in names:
            template = get_algorithm(name).create()
            _search._configure(template, seed, int(self.n_threads))
            templates.append(template)
        try:
            split = validation_split(data, test_size=float(self.validation_size), random_state=seed)
        except DataError:  # too few rows to hold any out: nothing to compare on
            self.model_ = templates[0].fit(data, progress=False)
            self.report_ = {
                "chosen": f"{names[0]} (defaults)",
                "reason": f"{data.nnz} interactions are too few to carve out a validation "
                "split, so the first family of the portfolio was fitted at its defaults",
                "trials": [],
            }
            return
        progress = bool(self._training and self._training.progress)
        budget = float(self.budget)
        use_hybrid = bool(self.hybrid) and len(templates) > 1
        report = _search.search_families(
            templates,
            split,
            budget=budget,
            n_trials=int(self.n_trials),
            shares=[_SHARES.get(n, 0.2) for n in names],
            random_state=seed,
            progress=progress,
            reserve=_HYBRID_SHARE if use_hybrid else 0.0,
        )
        by_name = dict(zip(names, templates, strict=True))
        ranked = sorted(
            (
                _search.chosen_trial(report, n, by_name[n].get_params())
                for n in names
                if report.best_of(n) is not None
            ),
            key=lambda r: -(r.score or 0.0),
        )
        if not ranked:
            raise ParameterError(
                f"budget: expected enough time for at least one trial, received {budget} s "
                "(every trial failed or was cut)"
            )
        chosen = _search.configured(by_name[ranked[0].family], ranked[0].params)
        reason = f"best validation {split.metric_name} ({ranked[0].score:.4f}) of " + ", ".join(
            f"{r.family} {r.score:.4f}" for r in ranked
        )
        label = f"{ranked[0].family} ({_params(ranked[0].params)})"
        if use_hybrid and len(ranked) > 1:
            members = [_search.configured(by_name[r.family], r.params) for r in ranked[:2]]
            found = _search.hybrid_of(members, split, report, progress)
            if found is not None and found[1] > (ranked[0].score or 0.0):
                params, score = found
                hybrid = HybridRecommender(members, **params)
                _search._configure(hybrid, seed, int(self.n_threads))
                # Refitting the hybrid's members (the best model first) once more.
                cost = sum(r.seconds for r in ranked[:2])
                second = (
                    _search.confirm(hybrid, data, float(self.validation_size), seed)
                    if time.perf_counter() - start + cost <= budget
                    else None
                )
                if second is not None:
                    single, fused = second
                    # Each split's gain is noisy (the first one's also flatters the
                    # hybrid, whose weights were chosen there): their sum decides.
                    keep = (score - (ranked[0].score or 0.0)) + (fused - single) > 0.0
                    how = (
                        f"and over both validation splits (second split: {fused:.4f} "
                        f"against {ranked[0].family}'s {single:.4f})"
                    )
                else:
                    keep = _search.clearly_beats(score, ranked[0].score or 0.0)
                    how = (
                        f"by more than {_search.DEFAULT_MARGIN:.0%} (it could not be "
                        "confirmed on a second split: no time left, or a fit failed there)"
                    )
                pair = f"{ranked[0].family} and {ranked[1].family}"
                if keep:
                    chosen = hybrid
                    label = f"hybrid of {pair} ({_params(params)})"
                    reason = (
                        f"the hybrid's validation {split.metric_name} ({score:.4f}) beat every "
                        f"single family ("
                        + ", ".join(f"{r.family} {r.score:.4f}" for r in ranked)
                        + f") {how}"
                    )
                else:
                    reason += (
                        f"; the hybrid of {pair} ({score:.4f}) was not kept: it did not beat "
                        f"{ranked[0].family} {how}"
                    )
        report.chosen, report.reason = label, reason
        self.model_ = chosen.fit(data, progress=progress)
        self.report_ = report.to_dict()

    # --------------------------------------------------- serving via the choice
    def _top_candidates(
        self, users: np.ndarray, n: int, seen: sp.csr_matrix | None, allowed: np.ndarray | None
    ) -> TopN:
        return self.model_._top_candidates(users, n, seen, allowed)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.model_._score_block(users)

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self.model_._scores_for_history(history)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        return self.model_._item_similarity(items)

    def _fallback_scores(self) -> np.ndarray:
        return self.model_._fallback_scores()

    @property
    def supports_fold_in(self) -> bool:
        return self.is_fitted and self.model_.supports_fold_in

    @property
    def supports_similar_items(self) -> bool:
        return self.is_fitted and self.model_.supports_similar_items


def _params(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
