"""Hyperparameter search, on Optuna (the optional extra ``tune``).

:func:`tune` searches a model's declared hyperparameters
(:func:`recommender_systems.hyperparameters.search_space`) with Optuna's TPE
sampler, scoring every configuration on a validation split carved out of the
training rows (:func:`recommender_systems.validation.validation_split`), and
refits the best one on all of them. Exact shortcuts make whole sweeps cost about
one fit: EASE's λ from one eigendecomposition, kNN neighbour counts from one
neighbour search at the largest count, ALS and BPR epochs from one fit scored at
checkpoints (where hopeless fits are pruned). See the docs' "Tuning" page.

Example:
    >>> from recommender_systems import generate_interactions
    >>> from recommender_systems.tune import tune
    >>> train = generate_interactions(300, 200, 6_000, n_tastes=4, random_state=1)
    >>> result = tune("item-knn", train, n_trials=3, random_state=0)
    >>> result.model.is_fitted, sorted(result.report.to_frame().columns)[:3]
    (True, ['family', 'note', 'param.bm25_b'])
"""

from __future__ import annotations

try:
    import optuna  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "recommender_systems.tune needs Optuna: pip install 'recommender-systems[tune]'"
    ) from exc

from recommender_systems.tune._report import TrialRecord, TuningReport
from recommender_systems.tune._search import FarBehindPruner, TuningResult, tune

__all__ = ["FarBehindPruner", "TrialRecord", "TuningReport", "TuningResult", "tune"]
