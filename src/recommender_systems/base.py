"""The :class:`Recommender` base class: the contract every model keeps.

A model implements :meth:`Recommender._fit` and :meth:`Recommender._scores`
(dense scores for a block of known users); the base class does the rest: the fit
lifecycle, hyperparameter validation from the model's declaration, and the query
methods, which shape requests through :mod:`recommender_systems.query` (id
mapping, the unknown-user rule, ``items=`` / ``exclude=`` filters, seen items,
batching) and get top-n lists from one overridable step,
:meth:`Recommender._top_candidates`. Its default scores users in dense blocks
and selects with the Rust top-k kernel; an ANN index, a fused kernel or a GPU
model replaces that step and nothing else.

Models that can score a new user from a list of items ("fold-in") implement
:meth:`Recommender._scores_for_history`; models with item vectors or
similarities implement :meth:`Recommender._item_similarity`. Models with an
approximate nearest-neighbour index (``build_index``, see
:mod:`recommender_systems.approximate`) return its candidate steps from
:meth:`Recommender._approximate_step`; ``approximate=`` on the query methods
chooses between them and the exact steps. The shared
behaviours (unknown users, ``n``, ``items=``, ``exclude=``) are documented in
:mod:`recommender_systems.query`.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender_systems import query
from recommender_systems._deprecation import renamed_keywords
from recommender_systems._estimator import Estimator, fitted_state
from recommender_systems._validation import check_bool, check_choice, check_positive_int
from recommender_systems.errors import DataError, NotSupportedError, UnknownUserError
from recommender_systems.hyperparameters import Threads, declared
from recommender_systems.idmap import IdMap
from recommender_systems.interactions import Interactions, as_interactions
from recommender_systems.progress import Epoch, EpochCallback, Training
from recommender_systems.query import UNKNOWN_USERS, CandidateStep, TopN, UnknownUsers
from recommender_systems.recommendations import Recommendations
from recommender_systems.state import Array, Ids, Sparse, StateDeclaration, declare_state


class Recommender(Estimator, abc.ABC):
    """Base class of every model. See the module docs for the shared behaviours.

    Subclasses declare their hyperparameters (``hyperparameters = {...}``, see
    :mod:`recommender_systems.hyperparameters`) and their fitted state (``state =
    declare_state(...)``, see :mod:`recommender_systems.state`), store the
    hyperparameters in ``__init__`` (nothing else), and set their fitted state, in
    attributes ending with ``_``, in ``_fit``.
    """

    #: What a user unseen in training gets by default (see :mod:`recommender_systems.query`).
    unknown_users: ClassVar[Literal["empty", "popular"]] = "empty"
    #: False for models that give every user the same ranking (the baselines).
    personalised: ClassVar[bool] = True

    #: What ``fit`` leaves behind (see :mod:`recommender_systems.state`): every model
    #: holds these; subclasses add theirs with ``declare_state(Base.state, ...)``.
    state: ClassVar[StateDeclaration] = declare_state(
        user_ids_=Ids(),
        item_ids_=Ids(),
        user_items_=Sparse("csr", "float32", ("n_users", "n_items")),
        item_popularity_=Array("float32", ("n_items",)),
        open=True,
    )

    user_ids_: IdMap
    item_ids_: IdMap
    user_items_: sp.csr_matrix
    item_popularity_: np.ndarray

    #: What the current ``fit`` call was asked about progress (set only during fit).
    _training: Training | None = None

    # ----------------------------------------------------------------- fitting
    @renamed_keywords(ratings="data")
    def fit(
        self,
        data: Any,
        *,
        user_col: str | None = None,
        item_col: str | None = None,
        rating_col: str | None = None,
        timestamp_col: str | None = None,
        progress: bool | None = None,
        callback: EpochCallback | None = None,
    ) -> Self:
        """Trains on ``data``: :class:`Interactions`, a table (pandas or polars
        DataFrame, Arrow table, dict of columns) with ``user_id``, ``item_id``
        [, ``rating``, ``timestamp``] columns, a SciPy sparse matrix, or a path to a
        CSV/Parquet file (``ratings=`` is the original library's name for it).
        ``user_col=`` and the other ``*_col`` arguments name columns called otherwise.

        Hyperparameters are validated first (:class:`~recommender_systems.errors.ParameterError`).
        Iterative models show a progress bar when ``progress`` is true (default: as
        set by :func:`~recommender_systems.progress.show_progress`) and call
        ``callback(epoch)`` after each epoch with its number, loss and duration.
        Returns ``self``. If training fails, the model keeps the state it had before
        (fitted or not), so a failed re-fit never loses a working model.
        """
        self._validate_params()
        columns = {
            name: value
            for name, value in (
                ("user_col", user_col),
                ("item_col", item_col),
                ("rating_col", rating_col),
                ("timestamp_col", timestamp_col),
            )
            if value is not None
        }
        interactions = as_interactions(data, **columns)
        previous = fitted_state(self)
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
        """Learns the model's state from ``data`` (ids and seen items are already
        stored; hyperparameters are already validated).

        Long loops iterate ``self._epochs(n, "Name")`` to get progress and callbacks.
        """

    def _epochs(self, total: int, desc: str, *, live: bool = False) -> Iterator[Epoch]:
        """Training epochs with the progress bar and callback ``fit`` was given.

        ``live=True`` promises that the model's fitted state is current (it can
        score) at the end of every epoch: the callback then gets the model with each
        epoch (:attr:`Epoch.model`), which is how a tuner scores and prunes fits."""
        return (self._training or Training()).epochs(total, desc, self if live else None)

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
        """The non-personalised ranking for unknown users: by default the share of
        training users who have each item (a number in [0, 1], whatever the model's
        own score scale)."""
        return self.item_popularity_ / np.float32(max(1, len(self.user_ids_)))

    def _top_candidates(
        self,
        users: np.ndarray,
        n: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> TopN:
        """The candidate step: the top ``n`` items of the known users at internal
        indices ``users``, never an item in their row of ``seen`` (one row per user,
        or ``None``) nor outside ``allowed`` (a boolean mask over items, or ``None``).

        Returns ``(indices, scores)`` of shape ``(len(users), min(n, n_items))``, best
        first, padded with -1 and NaN. The default scores blocks of users densely
        (:meth:`_scores`) and selects with the top-k kernel; an ANN index or a fused
        kernel overrides this method only.
        """
        return query.dense_top_candidates(
            self._score_block,
            users,
            n,
            seen,
            allowed,
            n_items=len(self.item_ids_),
            block_rows=self._block_rows(),
            n_threads=self._threads(),
        )

    def _similar_candidates(
        self,
        items: np.ndarray,
        n: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> TopN:
        """The candidate step of :meth:`similar_items`: like :meth:`_top_candidates`,
        for the items at ``items`` (``seen`` holds each item itself)."""
        sims = query.check_scores(self._item_similarity(items), items.size, len(self.item_ids_))
        return query.rank(sims, n, seen, allowed, self._threads())

    def _approximate_step(self, purpose: query.Purpose) -> CandidateStep | None:
        """The approximate candidate step for ``purpose`` (``"recommend"`` or
        ``"similar_items"``), or ``None`` when the model holds no index for it."""
        return None

    def _candidate_step(self, approximate: bool | None, purpose: query.Purpose) -> CandidateStep:
        """The candidate step a query uses: the approximate one when ``approximate`` is
        true, or ``None`` and the model holds an index; else the exact one."""
        if approximate is not None:
            approximate = check_bool(approximate, "approximate")
        step = None if approximate is False else self._approximate_step(purpose)
        if step is not None:
            return step
        if approximate:
            raise NotSupportedError(
                f"approximate: expected a model with an approximate index for {purpose}, "
                f"received a {type(self).__name__} without one (build it with "
                "model.build_index(), which models with item vectors have: ALS, BPR, SVD, "
                "TwoTowerCF)"
            )
        return self._top_candidates if purpose == "recommend" else self._similar_candidates

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
        from recommender_systems.persistence import save  # the layer above this one

        return save(self, path)

    def _threads(self) -> int:
        """The value of the model's :class:`~recommender_systems.hyperparameters.Threads`
        hyperparameter (0, all cores, for models without one)."""
        for name, hp in declared(type(self)).items():
            if isinstance(hp, Threads):
                return int(getattr(self, name))
        return 0

    # ---------------------------------------------------------- recommending
    @renamed_keywords(user_id="user")
    def recommend(
        self,
        user: Any,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
        unknown: UnknownUsers | None = None,
        approximate: bool | None = None,
    ) -> list[Any]:
        """The top ``n`` item ids for ``user``, best first (``user_id=`` is the original
        library's name for ``user``). A user unseen in training gets what ``unknown``
        says, by default the model's :attr:`unknown_users`. ``approximate`` is as in
        :meth:`recommend_batch`.

        Example:
            >>> import pandas as pd
            >>> from recommender_systems import MostPopular
            >>> df = pd.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "b", "a", "c"]})
            >>> MostPopular().fit(df).recommend(2, n=2)
            ['b', 'c']
        """
        batch = self.recommend_batch(
            query.one_id(user),
            n,
            exclude_seen=exclude_seen,
            items=items,
            exclude=exclude,
            unknown=unknown,
            approximate=approximate,
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
        unknown: UnknownUsers | None = None,
        approximate: bool | None = None,
    ) -> Recommendations:
        """Top ``n`` items for many users at once (the fast path).

        Returns :class:`~recommender_systems.recommendations.Recommendations`
        (arrays of ids and scores; ``.to_frame()`` gives a long DataFrame).
        ``unknown`` overrides the model's unknown-user policy for this call.
        ``approximate``: ``True`` searches the model's approximate index (built by
        ``build_index``; seen items, ``items=`` and ``exclude=`` stay exact),
        ``False`` scores every item, ``None`` uses the index when the model holds one.
        """
        self._check_fitted()
        n = self._list_length(n)
        policy = check_choice(unknown or self.unknown_users, "unknown", UNKNOWN_USERS)
        step = self._candidate_step(approximate, "recommend")
        user_arr = self.user_ids_.keys(query.as_id_array(users), name="user_id")
        indices = self.user_ids_.to_index(user_arr, missing="ignore")
        allowed = query.allowed_items(self.item_ids_, items, exclude)
        missing = np.flatnonzero(indices < 0)
        if missing.size and policy == "raise":
            raise query.unknown_user_error(self.user_ids_, user_arr[missing[0]], missing.size)

        width = min(n, len(self.item_ids_))
        top = np.full((indices.size, width), -1, dtype=np.int64)
        scores = np.full((indices.size, width), np.nan, dtype=np.float32)
        known = np.flatnonzero(indices >= 0)
        if known.size:
            rows = indices[known]
            seen = query.select_rows(self.user_items_, rows) if exclude_seen else None
            top[known], scores[known] = step(rows, n, seen, allowed)
        if missing.size and policy == "popular":
            fallback = query.check_scores(self._fallback_scores()[None, :], 1, len(self.item_ids_))
            top[missing], scores[missing] = query.rank(fallback, n, None, allowed, self._threads())
        return Recommendations.from_indices(user_arr, top, scores, self.item_ids_)

    @renamed_keywords(exclude_history="exclude_seen")
    def recommend_from_history(
        self,
        history: Iterable[Any],
        n: int = 10,
        *,
        weights: Iterable[float] | None = None,
        exclude_seen: bool = True,
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
    ) -> list[Any]:
        """Recommendations for a user not in training, from the items they interacted
        with (fold-in), without retraining.

        Item ids the model does not know are ignored; a history with no known item
        raises :class:`~recommender_systems.errors.DataError`. ``weights`` (e.g.
        ratings) default to 1. With ``exclude_seen``, the history's own items are not
        recommended.
        """
        batch = self.recommend_from_histories(
            [history],
            n,
            weights=None if weights is None else [weights],
            exclude_seen=exclude_seen,
            items=items,
            exclude=exclude,
        )
        return batch.to_lists()[0]

    @renamed_keywords(exclude_history="exclude_seen")
    def recommend_from_histories(
        self,
        histories: Iterable[Iterable[Any]],
        n: int = 10,
        *,
        weights: Iterable[Iterable[float] | None] | None = None,
        exclude_seen: bool = True,
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
    ) -> Recommendations:
        """The batch form of :meth:`recommend_from_history`: one row per history, with
        scores (``users`` holds the histories' positions ``0..len-1``)."""
        self._check_fitted()
        n = self._list_length(n)
        histories = list(histories)
        weight_lists = [None] * len(histories) if weights is None else list(weights)
        if len(weight_lists) != len(histories):
            raise DataError(
                f"weights: expected one weight list per history ({len(histories)}), "
                f"received {len(weight_lists)}"
            )
        n_items = len(self.item_ids_)
        matrix = query.histories_matrix(
            [
                query.history_matrix(self.item_ids_, h, w)
                for h, w in zip(histories, weight_lists, strict=True)
            ],
            n_items,
        )
        if not self.supports_fold_in:
            self._scores_for_history(matrix)  # raises NotSupportedError
        scores = query.check_scores(self._scores_for_history(matrix), matrix.shape[0], n_items)
        allowed = query.allowed_items(self.item_ids_, items, exclude)
        seen = matrix if exclude_seen else None
        top, values = query.rank(scores, n, seen, allowed, self._threads())
        positions = np.arange(matrix.shape[0], dtype=np.int64)
        return Recommendations.from_indices(positions, top, values, self.item_ids_)

    def score(self, user: Any, items: Iterable[Any]) -> np.ndarray:
        """The model's scores of ``items`` for a known ``user`` (float32, same order)."""
        self._check_fitted()
        index = self.user_ids_.index_of(user, missing="ignore", name="user_id")
        if index < 0:
            raise UnknownUserError(
                f"user {self.user_ids_.describe_id(user)} was not seen in training"
            )
        chosen = query.item_indices(self.item_ids_, items)
        return self._score_block(np.array([index], dtype=np.int64))[0, chosen]

    def similar_items(
        self, item: Any, n: int = 10, *, approximate: bool | None = None
    ) -> list[Any]:
        """The ``n`` items most similar to ``item`` (itself excluded), best first.
        ``approximate`` is as in :meth:`recommend_batch`."""
        self._check_fitted()
        n = self._list_length(n)
        if not self.supports_similar_items:
            self._item_similarity(np.empty(0, dtype=np.int64))  # raises NotSupportedError
        step = self._candidate_step(approximate, "similar_items")
        index = query.item_indices(self.item_ids_, [item])
        itself = sp.csr_matrix(
            (np.ones(1, dtype=np.float32), (np.zeros(1, dtype=np.int64), index)),
            shape=(1, len(self.item_ids_)),
        )
        top, _ = step(index, n, itself, None)
        return list(self.item_ids_.to_ids(top[0][top[0] >= 0]).tolist())

    # ---------------------------------------------------------------- helpers
    def _list_length(self, n: object) -> int:
        """``n`` checked (an integer >= 1) and capped at the catalogue: a list never
        holds more items than exist, and no kernel sees an ``n`` beyond them."""
        return min(check_positive_int(n, "n"), len(self.item_ids_))

    def _block_rows(self) -> int:
        """Users scored at once by the default candidate step."""
        return max(1, query.SCORE_BLOCK_ELEMENTS // max(1, len(self.item_ids_)))

    def _score_block(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`_scores`, checked: C-contiguous float32 of shape ``(len(rows), n_items)``."""
        return query.check_scores(self._scores(rows), rows.size, len(self.item_ids_))
