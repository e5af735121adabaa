"""Interaction values: how a rating, a play count or a click count becomes a weight.

Every model that uses interaction values takes the same hyperparameter,
``values``, and turns values into weights with :class:`ValueWeights`, the same
way when it fits and when it folds in a new user's history:

============  ==============================================================
``values``    weight of a stored value ``v``
============  ==============================================================
``"auto"``    ``"linear"`` when the values are bounded like ratings (their
              99th percentile is at most 20 times their median), else
              ``"log"`` (heavy-tailed counts); decided when fitting
``"binary"``  1: every interaction counts the same
``"linear"``  ``v`` as given
``"log"``     ``log(1 + v)``: counts grow slowly (300,000 plays weigh 12.6,
              one play 0.69, a rating of 5 weighs 1.8)
``"bm25"``    BM25 term-frequency saturation per user:
              ``v (k1 + 1) / (v + k1 (1 - b + b * total_u / mean_total))``
              (``k1 = 1.2``, ``b = 0.75``): at most ``k1 + 1``, and heavy
              users' counts are scaled down by their total
``"cap"``     ``min(v, c) / c``, ``c`` the 95th percentile of the training
              values: linear below it, flat above it
============  ==============================================================

No model's default lets one row of 300,000 plays dominate a user or an item:
``"log"`` (the default of ALS, EASE, SVD and UserKNN, chosen on validation
splits of three data shapes, see ``benchmarks/results/values.md``) weighs it
about 18 times a row of one play (about 5 times a row of ten), while larger
values still mean more; ``"auto"`` (ItemKNN's default) does the same for
heavy-tailed counts and keeps ratings linear; ``"binary"`` (RP3beta's) ignores
values. Values must be ``>= 0`` except with ``"binary"`` and ``"linear"``.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> plays = sp.csr_matrix(np.array([[1.0, 300_000.0], [10.0, 0.0]], dtype=np.float32))
    >>> weights = ValueWeights("log").fit(plays)
    >>> np.round(weights.transform(plays).toarray().astype(float), 2).tolist()
    [[0.69, 12.61], [2.4, 0.0]]
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from recommender_systems._estimator import Estimator
from recommender_systems.errors import DataError
from recommender_systems.hyperparameters import Choice, OneOf
from recommender_systems.hyperparameters import declare as _declare
from recommender_systems.state import Fitted, Number, StateDeclaration, Text, declare_state
from recommender_systems.weighting import BM25_B, BM25_K1, binarize, with_values

__all__ = [
    "VALUES",
    "UsesValues",
    "ValueWeights",
    "Values",
    "heavy_tailed",
    "values_hyperparameter",
]

Values = Literal["auto", "binary", "linear", "log", "bm25", "cap"]
#: Every way of turning values into weights.
VALUES: tuple[Values, ...] = ("auto", "binary", "linear", "log", "bm25", "cap")
#: The percentile of the training values at which ``"cap"`` flattens.
CAP_PERCENTILE = 95.0
#: ``"auto"`` reads values as heavy-tailed counts (and takes their log) when their
#: 99th percentile exceeds this many times their median.
HEAVY_TAIL_RATIO = 20.0


def values_hyperparameter(default: Values = "log") -> Choice:
    """The ``values`` hyperparameter, declared the same way on every model that uses
    values (with its tuning choices)."""
    return Choice(
        default=default,
        options=VALUES,
        doc="how interaction values become weights: auto, binary, linear, log(1 + v), bm25 "
        "or cap (see recommender_systems.values)",
        tune=OneOf(*(v for v in VALUES if v != "auto")),
    )


class ValueWeights(Estimator):
    """Turns interaction values into weights (see the module docs).

    ``fit`` learns what the chosen rule needs from the training matrix (the cap,
    or the mean user total for BM25); ``transform`` applies it to any rows (the
    training matrix or fold-in histories). A model keeps the fitted object in its
    state, so a saved model weighs new histories as it weighed its training data.
    """

    hyperparameters = _declare(
        how=Choice(default="log", options=VALUES, doc="the rule (see the module docs)")
    )
    state = declare_state(
        rule_=Text(tuple(v for v in VALUES if v != "auto")), reference_=Number(low=0.0)
    )

    #: The rule applied (``how``, with ``"auto"`` resolved).
    rule_: Values
    #: The cap (``"cap"``), the mean user total (``"bm25"``), else 1.
    reference_: float

    def __init__(self, how: Values = "log") -> None:
        self.how = how

    def fit(self, matrix: sp.csr_matrix) -> ValueWeights:
        """Learns the rule's reference value from a users x items ``matrix``."""
        self._validate_params()
        data = np.asarray(matrix.data, dtype=np.float64)
        rule: Values = self.how
        if rule == "auto":
            rule = "log" if heavy_tailed(data) else "linear"
        self.rule_ = rule
        self._check_values(data)
        reference = 1.0
        if rule == "cap" and data.size:
            reference = float(np.percentile(data, CAP_PERCENTILE))
        elif rule == "bm25" and matrix.shape[0]:
            reference = float(np.asarray(matrix.sum(axis=1), dtype=np.float64).mean())
        self.reference_ = reference if reference > 0 else 1.0
        return self

    def transform(self, rows: sp.csr_matrix, *, totals: np.ndarray | None = None) -> sp.csr_matrix:
        """The weights of ``rows`` (a float32 CSR with the same pattern).

        ``totals`` gives each row's value total when ``rows`` hold only part of each
        user's values (a block of columns): ``"bm25"`` scales by the whole total.
        Every other rule weighs each value on its own.
        """
        self._check_fitted()
        rule = self.rule_
        if rule == "binary":
            return binarize(rows)
        values = rows.data.astype(np.float64)
        self._check_values(values)
        if rule == "log":
            weights = np.log1p(values)
        elif rule == "cap":
            weights = np.minimum(values, self.reference_) / self.reference_
        elif rule == "bm25":
            if totals is None:
                n_rows = rows.shape[0]
                row_of = np.repeat(np.arange(n_rows), np.diff(rows.indptr))
                totals = np.bincount(row_of, weights=values, minlength=n_rows)
            norm = BM25_K1 * (1.0 - BM25_B + BM25_B * totals / self.reference_)
            row_norm = np.repeat(norm, np.diff(rows.indptr))
            weights = values * (BM25_K1 + 1.0) / (values + row_norm)
        else:  # linear
            weights = values
        return with_values(rows, weights.astype(np.float32))

    def _check_values(self, values: np.ndarray) -> None:
        if self.rule_ in ("log", "bm25", "cap") and values.size and values.min() < 0:
            raise DataError(
                f"values: {self.rule_!r} weighs values >= 0 (ratings, counts), received "
                f"{values.min():g}; use values='linear' or 'binary' for signed values"
            )


def heavy_tailed(values: np.ndarray) -> bool:
    """Whether values look like counts with a heavy tail rather than ratings."""
    if values.size == 0 or values.min() < 0:
        return False
    median = float(np.median(values))
    return float(np.percentile(values, 99.0)) > HEAVY_TAIL_RATIO * max(median, 1e-12)


class UsesValues:
    """What a model with a ``values`` hyperparameter shares: it weighs its training
    matrix with :meth:`_fit_weights` (keeping the fitted :class:`ValueWeights` as
    ``values_``) and any other rows (fold-in histories) with :meth:`_weights`."""

    #: Add to the model's own declaration: ``declare_state(Base.state, UsesValues.state, ...)``.
    state: ClassVar[StateDeclaration] = declare_state(values_=Fitted(ValueWeights, optional=True))
    values: Values
    values_: ValueWeights
    #: How the model treated values before it had the ``values`` hyperparameter:
    #: model files saved then (without ``values_``) keep working the same way.
    former_values: Values = "linear"

    def _fit_weights(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        self.values_ = ValueWeights(self.values).fit(matrix)
        return self.values_.transform(matrix)

    def _weights(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        fitted = getattr(self, "values_", None)
        if fitted is None:
            fitted = ValueWeights(self.former_values).fit(rows)
        return fitted.transform(rows)
