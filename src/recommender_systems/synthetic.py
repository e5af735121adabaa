"""Synthetic interaction logs with the heavy tails of real recommender data.

Example:
    >>> from recommender_systems.synthetic import generate_interactions
    >>> log = generate_interactions(100, 50, 1_000, random_state=1, ratings=True)
    >>> log.shape, int(log.duplicated(["user_id", "item_id"]).sum())
    ((1000, 3), 0)

Play counts with latent tastes (users prefer items close to their taste, and play
those more), shaped like a music listening log:

    >>> plays = generate_interactions(300, 2_000, 6_000, n_tastes=8, counts=True,
    ...                               random_state=1)
    >>> bool(plays["rating"].min() >= 1 and plays["rating"].max() > 100 * plays["rating"].median())
    True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender_systems._deprecation import renamed_keywords
from recommender_systems._validation import (
    check_bool,
    check_non_negative_float,
    check_non_negative_int,
    check_positive_int,
    check_seed,
)
from recommender_systems.errors import ParameterError

__all__ = ["generate_interactions"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Users who need more than this share of the catalogue get their items by one
# exact pass over all items; drawing and rejecting repeats would stall for them.
_DENSE_USER_SHARE = 0.25
_MAX_REDRAW_ROUNDS = 8
_OVERSAMPLING = 1.25
_TIMESTAMP_START = 1_420_070_400  # 2015-01-01 UTC
_TIMESTAMP_SPAN = 3 * 365 * 24 * 3600


@renamed_keywords(seed="random_state")
def generate_interactions(
    n_users: int,
    n_items: int,
    n_interactions: int,
    *,
    user_exponent: float = 0.8,
    item_exponent: float = 1.0,
    random_state: int | None = 0,
    ratings: bool = False,
    counts: bool = False,
    timestamps: bool = False,
    n_tastes: int = 0,
    taste_strength: float = 1.5,
) -> pd.DataFrame:
    """A random log of ``n_interactions`` distinct (user, item) pairs.

    User activity and item popularity follow power laws: the user (item) of
    popularity rank ``r`` has weight ``r ** -exponent`` (0 gives uniform weights),
    and ranks are shuffled over ids. Each user samples its items without
    replacement in proportion to item weight. Every user gets at least one
    interaction when ``n_interactions >= n_users``.

    With ``n_tastes > 0`` users and items also get random taste vectors (that many
    dimensions), and a user samples item ``i`` in proportion to its popularity
    weight times ``exp(affinity)``, where the affinity is ``taste_strength`` times
    the (unit-variance) inner product of the two taste vectors: there is then
    something to learn beyond popularity. This costs ``O(n_users * n_items)``.

    Columns: ``user_id``, ``item_id`` (int64, ids ``0..n-1``), plus ``timestamp``
    (int64 unix seconds in 2015-2017) if ``timestamps`` and a value column named
    ``rating`` (the column the library reads values from) holding either

    - ``ratings``: whole stars 1-5 from user and item biases plus noise (plus the
      affinity, with tastes), or
    - ``counts``: play-count-like integers >= 1, heavy-tailed (log-normal with a
      heavier-tailed noise: a median in the hundreds, a few rows in the hundreds of
      thousands), scaled per user (heavy and light listeners) and, with tastes,
      larger for items of higher affinity.

    Rows are grouped by user; within a user, in time order when timestamps are
    drawn. The same arguments and ``random_state`` always give the same frame.

    Example:
        >>> log = generate_interactions(1_000, 500, 20_000, timestamps=True)
        >>> list(log.columns), len(log)
        (['user_id', 'item_id', 'timestamp'], 20000)
    """
    n_users = check_positive_int(n_users, "n_users")
    n_items = check_positive_int(n_items, "n_items")
    n_interactions = check_positive_int(n_interactions, "n_interactions")
    capacity = n_users * n_items
    if n_interactions > capacity:
        raise ParameterError(
            f"n_interactions: expected at most n_users * n_items = {capacity} (each "
            f"(user, item) pair occurs once), received {n_interactions}"
        )
    user_exponent = check_non_negative_float(user_exponent, "user_exponent")
    item_exponent = check_non_negative_float(item_exponent, "item_exponent")
    seed = check_seed(random_state, "random_state")
    ratings = check_bool(ratings, "ratings")
    counts = check_bool(counts, "counts")
    if ratings and counts:
        raise ParameterError("ratings, counts: expected at most one value column, received both")
    timestamps = check_bool(timestamps, "timestamps")
    n_tastes = check_non_negative_int(n_tastes, "n_tastes")
    taste_strength = check_non_negative_float(taste_strength, "taste_strength")

    rng = np.random.default_rng(seed)
    user_weights = _normalised(_power_law(n_users, user_exponent, rng))
    item_log_weights = _power_law(n_items, item_exponent, rng)
    per_user = _interactions_per_user(n_interactions, n_items, user_weights, rng)
    affinity: FloatArray | None = None
    if n_tastes:
        tastes = _Tastes(n_users, n_items, n_tastes, taste_strength, rng)
        users, items = tastes.sample(per_user, item_log_weights, rng)
        affinity = tastes.affinity(users, items)
    else:
        users, items = _sample_items(per_user, item_log_weights, rng)

    columns: dict[str, npt.NDArray[np.generic]] = {"user_id": users, "item_id": items}
    if ratings:
        columns["rating"] = _ratings(users, items, n_users, n_items, rng, affinity)
    if counts:
        columns["rating"] = _play_counts(users, n_users, rng, affinity)
    if timestamps:
        offsets = rng.integers(0, _TIMESTAMP_SPAN, size=users.size, dtype=np.int64)
        # Users are already grouped, so one sort on (user, time) packed into an
        # int64 puts each user's rows in time order (cheaper than a lexsort).
        order = np.argsort(users * _TIMESTAMP_SPAN + offsets)
        columns = {name: values[order] for name, values in columns.items()}
        columns["timestamp"] = _TIMESTAMP_START + offsets[order]
    # The arrays are fresh and owned here: no need for pandas to copy them.
    return pd.DataFrame(columns, copy=False)


def _power_law(n: int, exponent: float, rng: np.random.Generator) -> FloatArray:
    """Log-weights ``-exponent * log(rank)``, randomly assigned to ids.

    Logs keep very steep laws exact where ``rank ** -exponent`` would underflow.
    """
    log_weights = -exponent * np.log(np.arange(1, n + 1, dtype=np.float64))
    return np.asarray(rng.permutation(log_weights), dtype=np.float64)


def _normalised(log_weights: FloatArray) -> FloatArray:
    weights = np.exp(log_weights - log_weights.max())
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _interactions_per_user(
    total: int, cap: int, weights: FloatArray, rng: np.random.Generator
) -> IntArray:
    """How many items each user gets: a multinomial draw, each at most ``cap``."""
    n_users = weights.size
    counts = np.zeros(n_users, dtype=np.int64)
    if total >= n_users:
        counts += 1
    counts += rng.multinomial(total - int(counts.sum()), weights)
    for _ in range(_MAX_REDRAW_ROUNDS):
        excess = int(np.maximum(counts - cap, 0).sum())
        if excess == 0:
            return counts
        np.minimum(counts, cap, out=counts)
        open_weights = np.where(counts < cap, weights, 0.0)
        counts += rng.multinomial(excess, open_weights / open_weights.sum())
    # Almost every user is full: hand out what is left to the heaviest users first.
    excess = int(np.maximum(counts - cap, 0).sum())
    np.minimum(counts, cap, out=counts)
    order = np.argsort(-weights, kind="stable")
    room = (cap - counts)[order]
    taken_before = np.cumsum(room) - room
    counts[order] += np.clip(excess - taken_before, 0, room)
    return counts


def _sample_items(
    counts: IntArray, item_log_weights: FloatArray, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """For each user ``u``, ``counts[u]`` distinct items drawn by weight.

    Sparse users draw items independently and keep the first occurrence of each,
    which is exactly weighted sampling without replacement; repeats are topped
    up in further rounds. Dense users, and any still short after those rounds,
    use exponential keys (Efraimidis-Spirakis), which gives the same distribution.
    """
    n_items = item_log_weights.size
    cumulative = np.cumsum(_normalised(item_log_weights))
    cumulative /= cumulative[-1]
    dense = counts > _DENSE_USER_SHARE * n_items
    needed = np.where(dense, 0, counts)
    chosen_users: list[IntArray] = []
    chosen_items: list[IntArray] = []
    seen = np.empty(0, dtype=np.int64)  # sorted keys user * n_items + item
    for _ in range(_MAX_REDRAW_ROUNDS):
        if not needed.any():
            break
        draws = np.ceil(needed * _OVERSAMPLING).astype(np.int64) + (needed > 0)
        users = np.repeat(np.arange(counts.size, dtype=np.int64), draws)
        items = np.searchsorted(cumulative, rng.random(users.size), side="right")
        items = np.minimum(items, n_items - 1).astype(np.int64)
        keys = users * n_items + items
        # Keep the first draw of each new pair, then at most `needed` per user.
        first = np.sort(np.unique(keys, return_index=True)[1])
        first = first[~_contains(seen, keys[first])]
        kept_users = users[first]
        per_user = np.bincount(kept_users, minlength=counts.size)
        group_start = np.cumsum(per_user) - per_user
        rank = np.arange(first.size) - group_start[kept_users]
        first = first[rank < needed[kept_users]]
        chosen_users.append(users[first])
        chosen_items.append(items[first])
        # Both parts are sorted, so a stable sort merges them in linear time.
        seen = np.sort(np.concatenate([seen, keys[first]]), kind="stable")
        needed -= np.bincount(users[first], minlength=counts.size)
    exact = np.flatnonzero(dense | (needed > 0))
    for user in exact:
        have = _items_given(int(user), seen, n_items)
        want = int(counts[user]) - have.size
        # The smallest Exp(1) / weight keys, computed in logs.
        priority = np.log(rng.standard_exponential(n_items)) - item_log_weights
        priority[have] = np.inf
        picked = (
            np.argpartition(priority, want - 1)[:want] if want < n_items else np.arange(n_items)
        )
        chosen_users.append(np.full(picked.size, user, dtype=np.int64))
        chosen_items.append(picked.astype(np.int64))
    users = np.concatenate(chosen_users) if chosen_users else np.empty(0, np.int64)
    items = np.concatenate(chosen_items) if chosen_items else np.empty(0, np.int64)
    order = np.argsort(users, kind="stable")
    return users[order], items[order]


def _items_given(user: int, seen: IntArray, n_items: int) -> IntArray:
    """Items already given to ``user`` (``seen`` holds sorted pair keys)."""
    low, high = np.searchsorted(seen, [user * n_items, (user + 1) * n_items])
    return seen[low:high] - user * n_items


def _contains(sorted_keys: IntArray, keys: IntArray) -> npt.NDArray[np.bool_]:
    if sorted_keys.size == 0:
        return np.zeros(keys.size, dtype=bool)
    position = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.asarray(sorted_keys[position] == keys)


def _ratings(
    users: IntArray,
    items: IntArray,
    n_users: int,
    n_items: int,
    rng: np.random.Generator,
    affinity: FloatArray | None = None,
) -> FloatArray:
    """Whole stars 1-5 around 3.5 with per-user and per-item biases (and the
    user's affinity for the item, when there are tastes)."""
    user_bias = rng.normal(0.0, 0.5, n_users)
    item_bias = rng.normal(0.0, 0.5, n_items)
    noise = rng.normal(0.0, 0.8, users.size)
    raw = 3.5 + user_bias[users] + item_bias[items] + noise
    if affinity is not None:
        raw += 0.5 * (affinity - affinity.mean())
    return np.clip(np.rint(raw), 1.0, 5.0)


#: Play counts: the log of a user's typical count, its spread over users, and the
#: scale of the (Student-t, 6 degrees of freedom) noise around it.
_PLAYS_LOG_MEDIAN = 5.0
_PLAYS_USER_SPREAD = 0.9
_PLAYS_NOISE = 0.8
_PLAYS_AFFINITY = 0.5
_PLAYS_MAX = 1e6


def _play_counts(
    users: IntArray, n_users: int, rng: np.random.Generator, affinity: FloatArray | None
) -> FloatArray:
    """Heavy-tailed counts >= 1: log-normal per-user scale, Student-t noise, and a
    share of the user's affinity for the item."""
    user_scale = rng.normal(_PLAYS_LOG_MEDIAN, _PLAYS_USER_SPREAD, n_users)
    log_plays = user_scale[users] + _PLAYS_NOISE * rng.standard_t(6.0, users.size)
    if affinity is not None:
        log_plays += _PLAYS_AFFINITY * (affinity - affinity.mean())
    return np.ceil(np.minimum(np.exp(log_plays), _PLAYS_MAX))


class _Tastes:
    """Random taste vectors for users and items; affinity is their scaled inner product."""

    _BLOCK_ELEMENTS = 1 << 22

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_tastes: int,
        strength: float,
        rng: np.random.Generator,
    ) -> None:
        scale = strength / np.sqrt(n_tastes)
        self.users = rng.standard_normal((n_users, n_tastes)) * scale
        self.items = rng.standard_normal((n_items, n_tastes))

    def affinity(self, users: IntArray, items: IntArray) -> FloatArray:
        return np.einsum("ij,ij->i", self.users[users], self.items[items])

    def sample(
        self, counts: IntArray, item_log_weights: FloatArray, rng: np.random.Generator
    ) -> tuple[IntArray, IntArray]:
        """For each user ``u``, ``counts[u]`` distinct items drawn in proportion to
        ``popularity * exp(affinity)``, without replacement (Gumbel top-k keys)."""
        n_users, n_items = counts.size, item_log_weights.size
        block = max(1, self._BLOCK_ELEMENTS // n_items)
        chosen_users: list[IntArray] = []
        chosen_items: list[IntArray] = []
        for start in range(0, n_users, block):
            stop = min(n_users, start + block)
            keys = self.users[start:stop] @ self.items.T + item_log_weights
            keys += rng.gumbel(size=keys.shape)
            order = np.argsort(-keys, axis=1, kind="stable")
            for offset, row in enumerate(order):
                want = int(counts[start + offset])
                chosen_users.append(np.full(want, start + offset, dtype=np.int64))
                chosen_items.append(np.sort(row[:want]).astype(np.int64))
        users = np.concatenate(chosen_users) if chosen_users else np.empty(0, np.int64)
        items = np.concatenate(chosen_items) if chosen_items else np.empty(0, np.int64)
        return users, items
