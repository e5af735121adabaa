"""The :class:`Recommender` base class: one API for every model.

A model implements :meth:`Recommender._fit` and :meth:`Recommender._scores`
(dense scores for a block of known users); the base class does the rest: id
mapping, the unknown-user rule, ``items=`` / ``exclude=`` filters, seen-item
exclusion, batching in bounded memory and top-k selection through the Rust
kernel. Models that can score a new user from a list of items ("fold-in")
implement :meth:`Recommender._scores_for_history`; models with item vectors or
similarities implement :meth:`Recommender._item_similarity`.

Documented behaviours, the same for every model:

- **Unknown user**: personalised models return an empty list; the baselines
  (``unknown_users = "popular"``) return their non-personalised ranking.
  ``recommend_batch(..., unknown=...)`` overrides this per call
  (``"empty"``, ``"popular"`` or ``"raise"``).
- **n**: must be an integer ``>= 1`` (else :class:`~recommender_systems.errors.ParameterError`);
  asking for more than can be recommended returns what there is.
- **items=**: restricts candidates; an unknown id raises
  :class:`~recommender_systems.errors.UnknownItemError`.
- **exclude=**: removes candidates; unknown ids are ignored (nothing to remove).
"""

from __future__ import annotations

import abc
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender_systems._params import Params
from recommender_systems._validation import check_choice, check_positive_int
from recommender_systems.errors import (
    DataError,
    NotFittedError,
    NotSupportedError,
    UnknownItemError,
    UnknownUserError,
)
from recommender_systems.idmap import IdMap
from recommender_systems.interactions import Interactions, as_interactions
from recommender_systems.kernels import topk
from recommender_systems.progress import Epoch, EpochCallback, Training
from recommender_systems.recommendations import Recommendations

UnknownUserPolicy = Literal["empty", "popular", "raise"]
_UNKNOWN_POLICIES: tuple[UnknownUserPolicy, ...] = ("empty", "popular", "raise")

#: Scores computed at once are capped at this many floats (64 MiB), so batch
#: recommendation for any number of users runs in bounded memory.
SCORE_BLOCK_ELEMENTS = 1 << 24


class Recommender(Params, abc.ABC):
    """Base class of every model. See the module docs for the shared behaviours.

    Subclasses store hyperparameters in ``__init__`` (nothing else), and set their
    fitted state, in attributes ending with ``_``, in ``_fit``.
    """

    #: What a user unseen in training gets: ``"empty"`` or ``"popular"``.
    unknown_users: ClassVar[Literal["empty", "popular"]] = "empty"

    user_ids_: IdMap
    item_ids_: IdMap
    user_items_: sp.csr_matrix
    item_popularity_: np.ndarray

    # ----------------------------------------------------------------- fitting
    def fit(
        self,
        data: Any,
        *,
        progress: bool | None = None,
        callback: EpochCallback | None = None,
    ) -> Self:
        """Trains on ``data``: :class:`Interactions`, a DataFrame with ``user_id``,
        ``item_id`` [, ``rating``] columns, or a path to a CSV/Parquet file.

        Iterative models show a progress bar when ``progress`` is true (default: as
        set by :func:`~recommender_systems.progress.show_progress`) and call
        ``callback(epoch)`` after each epoch with its number, loss and duration.
        Returns ``self``. If training fails, the model keeps the state it had before
        (fitted or not), so a failed re-fit never loses a working model.
        """
        interactions = as_interactions(data)
        previous = self._fitted_state()
        self._reset()
        self._training = Training(progress, callback)
        try:
            interactions = self._catalogue(interactions)
            self.user_ids_ = interactions.user_ids
            self.item_ids_ = interactions.item_ids
            self.user_items_ = interactions.matrix
            self.item_popularity_ = np.bincount(
                interactions.matrix.indices, minlength=interactions.n_items
            ).astype(np.float32)
            self._fit(interactions)
        except BaseException:
            self._reset()
            vars(self).update(previous)
            raise
        finally:
            del self._training
        return self

    def _catalogue(self, data: Interactions) -> Interactions:
        """The interactions the model is fitted on: ``data`` itself, unless the model
        knows items the data lacks (content-based models add their cold items with
        :meth:`Interactions.with_items`). Must not change the model."""
        return data

    @abc.abstractmethod
    def _fit(self, data: Interactions) -> None:
        """Learns the model's state from ``data`` (ids and seen items are already stored).

        Long loops iterate ``self._epochs(n, "Name")`` to get progress and callbacks.
        """

    def _epochs(self, total: int, desc: str) -> Iterator[Epoch]:
        """Training epochs with the progress bar and callback ``fit`` was given."""
        training = getattr(self, "_training", None) or Training()
        return training.epochs(total, desc)

    @abc.abstractmethod
    def _scores(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for the known users at internal indices ``users``:
        an array of shape ``(len(users), n_items)``. Higher is better; -inf means
        "never recommend"."""

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores for new users given as rows of a users x items matrix (fold-in)."""
        raise NotSupportedError(
            f"{type(self).__name__} cannot recommend for a new user from a history "
            "without retraining"
        )

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        """Similarity of the items at ``items`` to every item, shape ``(len(items), n_items)``."""
        raise NotSupportedError(f"{type(self).__name__} has no item similarities")

    def _fallback_scores(self) -> np.ndarray:
        """The non-personalised ranking for unknown users: popularity by default."""
        return self.item_popularity_

    @property
    def supports_fold_in(self) -> bool:
        """Whether :meth:`recommend_from_history` works for this model."""
        return type(self)._scores_for_history is not Recommender._scores_for_history

    @property
    def supports_similar_items(self) -> bool:
        """Whether :meth:`similar_items` works for this model."""
        return type(self)._item_similarity is not Recommender._item_similarity

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Saves the fitted model to ``path`` (one file: arrays plus JSON metadata, no
        pickle, written atomically); :func:`recommender_systems.load` reads it back."""
        from recommender_systems.persistence import save  # persistence builds on this module

        return save(self, path)

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "item_ids_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(data) before using it"
            )

    def _fitted_state(self) -> dict[str, Any]:
        """The fitted attributes (names ending with ``_``) and their values."""
        return {n: v for n, v in vars(self).items() if n.endswith("_") and not n.startswith("__")}

    def _reset(self) -> None:
        for name in self._fitted_state():
            delattr(self, name)

    def _n_threads(self) -> int:
        return int(getattr(self, "n_threads", 0) or 0)

    # ---------------------------------------------------------- recommending
    def recommend(
        self,
        user: Any,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
    ) -> list[Any]:
        """The top ``n`` item ids for ``user``, best first.

        Example:
            >>> import pandas as pd
            >>> from recommender_systems import MostPopular
            >>> df = pd.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "b", "a", "c"]})
            >>> MostPopular().fit(df).recommend(2, n=2)
            ['b', 'c']
        """
        batch = self.recommend_batch(
            _one(user), n, exclude_seen=exclude_seen, items=items, exclude=exclude
        )
        return batch.to_lists()[0]

    def recommend_batch(
        self,
        users: Iterable[Any] | npt.ArrayLike,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
        unknown: UnknownUserPolicy | None = None,
    ) -> Recommendations:
        """Top ``n`` items for many users at once (the fast path).

        Returns :class:`~recommender_systems.recommendations.Recommendations`
        (arrays of ids and scores; ``.to_frame()`` gives a long DataFrame).
        """
        self._check_fitted()
        n = check_positive_int(n, "n")
        policy = check_choice(unknown or self.unknown_users, "unknown", _UNKNOWN_POLICIES)
        user_arr = _as_array(users)
        codes = self.user_ids_.to_index(user_arr, missing="ignore")
        allowed = self._allowed_items(items, exclude)
        width = min(n, len(self.item_ids_))
        indices = np.full((codes.size, width), -1, dtype=np.int64)
        scores = np.full((codes.size, width), np.nan, dtype=np.float32)

        known = np.flatnonzero(codes >= 0)
        for start in range(0, known.size, self._block_rows()):
            block = known[start : start + self._block_rows()]
            rows = codes[block]
            seen = select_rows(self.user_items_, rows) if exclude_seen else None
            indices[block], scores[block] = self._rank(self._score_block(rows), n, seen, allowed)

        missing = np.flatnonzero(codes < 0)
        if missing.size and policy == "raise":
            raise UnknownUserError(
                f"user {self.user_ids_.describe_id(user_arr[missing[0]])} was not seen in "
                f"training ({missing.size} unknown user(s) in this request)"
            )
        if missing.size and policy == "popular":
            fallback = _as_scores(self._fallback_scores()[None, :], 1, len(self.item_ids_))
            indices[missing], scores[missing] = self._rank(fallback, n, None, allowed)
        return Recommendations.from_indices(user_arr, indices, scores, self.item_ids_)

    def recommend_from_history(
        self,
        history: Iterable[Any],
        n: int = 10,
        *,
        weights: Iterable[float] | None = None,
        exclude_history: bool = True,
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
    ) -> list[Any]:
        """Recommendations for a user not in training, from the items they interacted
        with (fold-in), without retraining.

        Item ids the model does not know are ignored; a history with no known item
        raises :class:`~recommender_systems.errors.DataError`. ``weights`` (e.g.
        ratings) default to 1.
        """
        batch = self.recommend_from_histories(
            [history],
            n,
            weights=None if weights is None else [weights],
            exclude_history=exclude_history,
            items=items,
            exclude=exclude,
        )
        return batch.to_lists()[0]

    def recommend_from_histories(
        self,
        histories: Iterable[Iterable[Any]],
        n: int = 10,
        *,
        weights: Iterable[Iterable[float] | None] | None = None,
        exclude_history: bool = True,
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
    ) -> Recommendations:
        """The batch form of :meth:`recommend_from_history`: one row per history, with
        scores (``users`` holds the histories' positions ``0..len-1``)."""
        self._check_fitted()
        n = check_positive_int(n, "n")
        histories = list(histories)
        weight_lists = [None] * len(histories) if weights is None else list(weights)
        if len(weight_lists) != len(histories):
            raise DataError(
                f"weights: expected one weight list per history ({len(histories)}), "
                f"received {len(weight_lists)}"
            )
        rows = [self._history_matrix(h, w) for h, w in zip(histories, weight_lists, strict=True)]
        if len(rows) == 1:
            matrix = rows[0]
        elif rows:
            matrix = sp.vstack(rows, format="csr", dtype=np.float32)
        else:
            matrix = sp.csr_matrix(np.zeros((0, len(self.item_ids_)), dtype=np.float32))
        if not self.supports_fold_in:
            self._scores_for_history(matrix)  # raises NotSupportedError
        scores = _as_scores(self._scores_for_history(matrix), len(rows), len(self.item_ids_))
        allowed = self._allowed_items(items, exclude)
        seen = matrix if exclude_history else None
        indices, values = self._rank(scores, n, seen, allowed)
        positions = np.arange(len(rows), dtype=np.int64)
        return Recommendations.from_indices(positions, indices, values, self.item_ids_)

    def score(self, user: Any, items: Iterable[Any]) -> np.ndarray:
        """The model's scores of ``items`` for a known ``user`` (float32, same order)."""
        self._check_fitted()
        code = self.user_ids_.index_of(user, missing="ignore")
        if code < 0:
            raise UnknownUserError(
                f"user {self.user_ids_.describe_id(user)} was not seen in training"
            )
        item_codes = self._item_codes(items)
        return self._score_block(np.array([code], dtype=np.int64))[0, item_codes]

    def similar_items(self, item: Any, n: int = 10) -> list[Any]:
        """The ``n`` items most similar to ``item`` (itself excluded), best first."""
        self._check_fitted()
        n = check_positive_int(n, "n")
        if not self.supports_similar_items:
            self._item_similarity(np.empty(0, dtype=np.int64))  # raises NotSupportedError
        code = self._item_codes([item])
        sims = _as_scores(self._item_similarity(code), 1, len(self.item_ids_))
        itself = sp.csr_matrix(
            (np.ones(1, dtype=np.float32), (np.zeros(1, dtype=np.int64), code)), shape=sims.shape
        )
        indices, _ = topk(sims, n, itself, n_threads=self._n_threads())
        return list(self.item_ids_.to_ids(indices[0][indices[0] >= 0]).tolist())

    # ---------------------------------------------------------------- helpers
    def _block_rows(self) -> int:
        return max(1, SCORE_BLOCK_ELEMENTS // max(1, len(self.item_ids_)))

    def _score_block(self, rows: np.ndarray) -> np.ndarray:
        return _as_scores(self._scores(rows), rows.size, len(self.item_ids_))

    def _rank(
        self,
        scores: np.ndarray,
        n: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        if allowed is not None:
            # A new array: scores may be (a view of) the model's own state.
            scores = np.where(allowed, scores, np.float32(-np.inf))
        return topk(scores, n, seen, n_threads=self._n_threads())

    def _item_codes(self, items: Iterable[Any]) -> np.ndarray:
        values = _as_array(items)
        codes = self.item_ids_.to_index(values, missing="ignore")
        if (codes < 0).any():
            unknown = values[codes < 0]
            shown = ", ".join(self.item_ids_.describe_id(v) for v in unknown[:5].tolist())
            raise UnknownItemError(f"{unknown.size} item id(s) unknown to the model: {shown}")
        return codes

    def _allowed_items(
        self, items: Iterable[Any] | None, exclude: Iterable[Any] | None
    ) -> np.ndarray | None:
        if items is None and exclude is None:
            return None
        allowed = np.ones(len(self.item_ids_), dtype=bool)
        if items is not None:
            allowed[:] = False
            allowed[self._item_codes(items)] = True
        if exclude is not None:
            codes = self.item_ids_.to_index(_as_array(exclude), missing="ignore")
            allowed[codes[codes >= 0]] = False
        return allowed

    def _history_matrix(
        self, history: Iterable[Any], weights: Iterable[float] | None
    ) -> sp.csr_matrix:
        values = _as_array(history)
        codes = self.item_ids_.to_index(values, missing="ignore")
        w = np.ones(codes.size, dtype=np.float32)
        if weights is not None:
            w = np.asarray(list(weights), dtype=np.float32)
            if w.shape != codes.shape:
                raise DataError(
                    f"weights: expected one weight per history item ({codes.size}), "
                    f"received {w.size}"
                )
            if not np.isfinite(w).all():
                raise DataError("weights: expected finite numbers, received NaN or infinity")
        known = codes >= 0
        if not known.any():
            raise DataError(
                "history: expected at least one item known to the model, received "
                f"{values.size} item(s), none known"
            )
        matrix = sp.csr_matrix(
            (w[known], (np.zeros(int(known.sum()), dtype=np.int64), codes[known])),
            shape=(1, len(self.item_ids_)),
            dtype=np.float32,
        )
        matrix.sum_duplicates()
        return matrix


def _one(value: Any) -> np.ndarray:
    arr = np.empty(1, dtype=object)
    arr[0] = value
    return _as_array(arr)


def _as_array(values: Iterable[Any] | npt.ArrayLike) -> np.ndarray:
    """A 1-D array of ids, keeping ints as ints and strings as strings."""
    if isinstance(values, str | bytes):
        raise DataError(f"expected a list of ids, received the single string {values!r}")
    arr = values if isinstance(values, np.ndarray) else np.asarray(list(values))  # type: ignore[arg-type]
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.dtype == object and arr.size:
        if all(isinstance(v, str) for v in arr):
            arr = arr.astype(str)
        elif all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in arr):
            arr = arr.astype(np.int64)
    return arr


def _as_scores(scores: np.ndarray, n_rows: int, n_items: int) -> np.ndarray:
    out = np.ascontiguousarray(scores, dtype=np.float32)
    if out.shape != (n_rows, n_items):
        raise RuntimeError(
            f"model scores: expected shape ({n_rows}, {n_items}), received {out.shape}"
        )
    return out


def select_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """``matrix[rows]`` for a CSR matrix, gathered with NumPy.

    SciPy's own row indexing first converts ``indptr`` and ``indices`` of the whole
    matrix to one index dtype; the canonical matrix of :class:`Interactions` mixes
    int64 and int32, so every call would copy the whole matrix. Here only the
    selected rows are touched, which matters for single-user requests.

    Example:
        >>> m = sp.csr_matrix(np.array([[1, 0], [0, 2], [3, 4]], dtype=np.float32))
        >>> select_rows(m, np.array([2, 0])).toarray().tolist()
        [[3.0, 4.0], [1.0, 0.0]]
    """
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    total = int(lengths.sum())
    # indptr and indices share one dtype, so SciPy neither casts nor copies them.
    dtype = matrix.indices.dtype if total <= np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(rows.size + 1, dtype=dtype)
    np.cumsum(lengths, out=indptr[1:])
    take: Any
    if rows.size == 1:
        take = slice(int(starts[0]), int(starts[0]) + total)
    else:
        take = np.repeat(starts - indptr[:-1], lengths) + np.arange(total)
    return sp.csr_matrix(
        (matrix.data[take], matrix.indices[take].astype(dtype, copy=False), indptr),
        shape=(rows.size, matrix.shape[1]),
    )


def as_user_list(users: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Public helper: user ids as the 1-D array the batch methods take."""
    return _as_array(users)
