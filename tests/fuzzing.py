"""Generated bad input for every registered model, and the judge of what comes out.

The rule (issue 11): whatever a caller sends, a public method either raises a typed
error from :mod:`recommender_systems.errors` or returns a correct result: at most
``n`` items, no duplicates, never a seen item (with ``exclude_seen``), never an item
outside ``items=`` or inside ``exclude=``, finite scores. :func:`run_call`,
:func:`run_fit` and :func:`run_file` apply one generated case and return
``"ok"`` or ``"typed_error"``; anything else is raised (an untyped exception, or
:class:`WrongResult`).

``tests/test_fuzz.py`` runs these under hypothesis with a few examples each (CI);
``benchmarks/robustness.py`` runs many more and counts the outcomes.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

from recommender_systems import (
    Interactions,
    Recommendations,
    Recommender,
    RecsysError,
    algorithms,
    generate_interactions,
    load,
)
from recommender_systems.persistence import container

Outcome = Literal["ok", "typed_error"]

#: Small, fast settings per algorithm, so that a fuzz case costs milliseconds.
FAST: dict[str, dict[str, Any]] = {
    "als": {"n_factors": 4, "epochs": 2, "random_state": 0},
    "bpr": {"n_factors": 4, "epochs": 2, "random_state": 0},
    "svd": {"n_factors": 3, "random_state": 0},
    "item-knn": {"n_neighbors": 10},
    "user-knn": {"n_neighbors": 10},
    "rp3beta": {"n_neighbors": 10},
    "mean-rating": {"min_ratings": 1},
}
NAMES = sorted(a.name for a in algorithms())


class WrongResult(AssertionError):
    """A method returned instead of raising, but what it returned breaks the contract."""


def make(name: str) -> Recommender:
    return next(a for a in algorithms() if a.name == name).create(**FAST.get(name, {}))


def training_data() -> Interactions:
    """40 users, 30 items, integer ids, explicit ratings."""
    frame = generate_interactions(40, 30, 400, random_state=5, ratings=True)
    return Interactions.from_frame(frame)


# ------------------------------------------------------------------- strategies
def _ids(known: list[Any]) -> Any:
    right = st.sampled_from(known)  # half the ids are right, so results get judged too
    return st.one_of(
        right,
        right,
        right,
        right,
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(min_value=-3, max_value=60),
        st.text(max_size=4),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([None, True, b"1", 1.5, 2.0**60, np.int32(3), np.float32(2), [1], (1,)]),
    )


def _id_lists(known: list[Any]) -> Any:
    one = _ids(known)
    return st.one_of(
        st.lists(one, max_size=8),
        st.lists(st.sampled_from(known), max_size=8),
        st.lists(st.sampled_from(known), max_size=4).map(np.asarray),
        one,
        st.none(),
    )


_N = st.one_of(
    st.integers(min_value=-2, max_value=40),
    st.sampled_from([0, 10**9, 2**63, 1.0, 2.5, "3", None, True, np.int64(5)]),
)
_WEIGHTS = st.one_of(
    st.none(),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=8),
    st.lists(st.floats(min_value=-5, max_value=5), max_size=8),
    st.sampled_from([1.0, "x", [1e13], [3e38]]),
)
_JUNK: Any = st.sampled_from([None, "x", 1, 2.5, [], {}, np.nan])


def calls(known_users: list[Any], known_items: list[Any]) -> Any:
    """``(method, args, kwargs)`` for the public query methods, with bad and good values."""
    users, items = _ids(known_users), _ids(known_items)
    user_lists, item_lists = _id_lists(known_users), _id_lists(known_items)
    flag = st.one_of(st.booleans(), _JUNK)
    optional_items = st.one_of(st.none(), item_lists)
    return st.one_of(
        st.tuples(
            st.just("recommend"),
            st.tuples(users, _N),
            st.fixed_dictionaries(
                {},
                optional={"exclude_seen": flag, "items": optional_items, "exclude": optional_items},
            ),
        ),
        st.tuples(
            st.just("recommend_batch"),
            st.tuples(user_lists, _N),
            st.fixed_dictionaries(
                {},
                optional={
                    "exclude_seen": flag,
                    "unknown": st.one_of(st.sampled_from(["empty", "popular", "raise"]), _JUNK),
                    "items": optional_items,
                },
            ),
        ),
        st.tuples(st.just("score"), st.tuples(users, item_lists), st.just({})),
        st.tuples(st.just("similar_items"), st.tuples(items, _N), st.just({})),
        st.tuples(
            st.just("recommend_from_history"),
            st.tuples(item_lists, _N),
            st.fixed_dictionaries({}, optional={"weights": _WEIGHTS, "exclude_seen": flag}),
        ),
    )


_VALUES = st.one_of(
    st.floats(min_value=-5, max_value=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([3e38, -3e38, 1e12, 1e13, 0.0, -1.0, None, "4", True]),
)


def frames() -> Any:
    """Column dicts for ``fit``: half valid but unusual (one row, one user, negative,
    zero or extreme values, string ids), half with something wrong in them (bad ids
    or values, ragged lengths)."""
    good_ids = st.one_of(st.integers(min_value=0, max_value=12), st.sampled_from([-(2**62), 2**53]))
    string_ids = st.sampled_from(["a", "b", "001", "1", "", "é"])
    edge_values = st.one_of(
        st.integers(1, 5),
        st.floats(min_value=-1e12, max_value=1e12),
        st.sampled_from([0.0, -1.0, 1e-30, 1e12, -1e12]),
    )

    def build(users: list[Any], items: list[Any], ratings: list[Any]) -> dict[str, Any]:
        return {"user_id": users, "item_id": items, "rating": ratings}

    def valid(n: int) -> Any:
        ids = st.one_of(
            st.lists(good_ids, min_size=n, max_size=n), st.lists(string_ids, min_size=n, max_size=n)
        )
        return st.builds(build, ids, ids, st.lists(edge_values, min_size=n, max_size=n))

    def broken(n: int) -> Any:
        some = st.one_of(good_ids, good_ids, _ids([0, 1]))
        return st.builds(
            build,
            st.lists(some, min_size=n, max_size=n + 1),
            st.lists(some, min_size=n, max_size=n),
            st.lists(st.one_of(_VALUES, st.integers(1, 5)), min_size=n, max_size=n),
        )

    sizes = st.integers(min_value=0, max_value=25)
    return sizes.flatmap(lambda n: st.one_of(valid(n), broken(n)))


def header_mutations() -> Any:
    """``(path into the header, new value or a deletion)`` to apply to a saved file."""
    values = st.one_of(
        st.integers(min_value=-(2**64), max_value=2**64),
        st.sampled_from([0, 1, -1, 2**31, 2**32, 2**63, 1500, 10**12]),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
        st.sampled_from(["<U0", "|O", "<f8", "<i4", "F", "C", "csc", "model", "array", "ref"]),
        st.none(),
        st.booleans(),
        st.lists(st.integers(min_value=-1, max_value=2**33), max_size=3),
        st.just({}),
        st.just("__delete__"),
    )
    return st.tuples(
        st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=8), values
    )


# ---------------------------------------------------------------------- judging
def run_call(
    model: Recommender,
    data: Interactions,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Outcome:
    """One query call: a typed error, or a result that keeps the contract."""
    try:
        result = getattr(model, method)(*args, **kwargs)
    except RecsysError:
        return "typed_error"
    check_call(model, data, method, args, kwargs, result)
    return "ok"


def run_fit(name: str, columns: dict[str, Any]) -> Outcome:
    """``fit`` on generated columns: a typed error, or a model whose recommendations
    for every user keep the contract."""
    model = make(name)
    try:
        model.fit(columns)
    except RecsysError:
        return "typed_error"
    data = Interactions(model.user_items_, model.user_ids_, model.item_ids_)
    users = model.user_ids_.ids
    check_batch(model, data, users, 5, model.recommend_batch(users, 5), exclude_seen=True)
    return "ok"


def run_file(path: Path, data: Interactions) -> Outcome:
    """Loading a (mutated) model file: a typed error, or a model that answers correctly."""
    try:
        model = load(path)
    except RecsysError:
        return "typed_error"
    users = np.concatenate([model.user_ids_.ids[:10], model.user_ids_.ids[-3:]])
    try:
        recs = model.recommend_batch(users, 5)
    except RecsysError:
        return "typed_error"
    check_batch(model, data_of(model), users, 5, recs, exclude_seen=True)
    return "ok"


def data_of(model: Recommender) -> Interactions:
    return Interactions(model.user_items_, model.user_ids_, model.item_ids_)


def check_call(
    model: Recommender,
    data: Interactions,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    result: Any,
) -> None:
    exclude_seen = kwargs.get("exclude_seen", True)
    if method == "recommend":
        user, n = args
        check_list(model, result, n, "recommend")
        if exclude_seen and user in model.user_ids_:
            _expect(not set(result) & seen(data, user), "recommend returned a seen item")
        _check_filters(result, kwargs)
        if result and user in model.user_ids_:
            scores = model.score(user, result)
            _expect(bool(np.isfinite(scores).all()), f"non-finite scores {scores}")
    elif method == "recommend_batch":
        users, n = args
        check_batch(model, data, model.user_ids_.keys(users), n, result, exclude_seen=exclude_seen)
        allowed = kwargs.get("items")
        if allowed is not None:
            listed = set(np.asarray(model.item_ids_.keys(allowed)).tolist())
            for row in result.to_lists():
                _expect(set(row) <= listed, "recommend_batch left items=")
    elif method == "score":
        _expect(isinstance(result, np.ndarray) and not np.isnan(result).any(), "NaN score")
    elif method == "similar_items":
        item, n = args
        check_list(model, result, n, "similar_items")
        _expect(item not in result, "similar_items returned the item itself")
    elif method == "recommend_from_history":
        history, n = args
        check_list(model, result, n, "recommend_from_history")
        if exclude_seen:
            own = set(model.item_ids_.keys(history).tolist())
            _expect(not set(result) & own, "fold-in returned a history item")


def check_list(model: Recommender, result: Any, n: Any, what: str) -> None:
    _expect(isinstance(result, list), f"{what} returned {type(result).__name__}")
    _expect(len(result) <= int(n), f"{what}: {len(result)} items for n={n}")
    _expect(len(set(result)) == len(result), f"{what}: duplicates {result}")
    _expect(all(item in model.item_ids_ for item in result), f"{what}: unknown items {result}")


def check_batch(
    model: Recommender, data: Interactions, users: Any, n: Any, result: Any, *, exclude_seen: Any
) -> None:
    _expect(isinstance(result, Recommendations), "recommend_batch returned no Recommendations")
    rows = result.to_lists()
    _expect(len(rows) == len(users), "one row per user")
    _expect(bool(np.isfinite(result.scores[result.mask]).all()), "non-finite scores")
    for user, row in zip(np.asarray(users).tolist(), rows, strict=True):
        _expect(len(row) <= int(n) and len(set(row)) == len(row), f"bad row {row} for n={n}")
        if exclude_seen is True and user in data.user_ids:
            _expect(not set(row) & seen(data, user), f"seen item recommended to {user!r}")


def seen(data: Interactions, user: Any) -> set[Any]:
    row = data.matrix[data.user_ids.index_of(user)]
    return set(data.item_ids.to_ids(row.indices).tolist())


def _check_filters(result: list[Any], kwargs: dict[str, Any]) -> None:
    excluded = kwargs.get("exclude")
    if excluded is not None and not isinstance(excluded, str | bytes):
        try:
            banned = set(np.asarray(excluded, dtype=object).ravel().tolist())
        except (TypeError, ValueError):
            return
        _expect(not set(result) & banned, "recommend returned an excluded item")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise WrongResult(message)


# ------------------------------------------------------------- mutating files
def mutate_header(path: Path, where: list[int], value: Any, out: Path) -> bool:
    """Writes ``path`` to ``out`` with one value of its JSON header replaced (or
    deleted), re-checksummed, so that only the meaning is wrong. ``where`` picks a
    node: each number chooses among the children of the node reached so far."""
    raw = path.read_bytes()
    length = struct.unpack_from("<Q", raw, 16)[0]
    header = json.loads(raw[56 : 56 + length])
    parent: Any = None
    key: Any = None
    node: Any = header
    for step in where:
        children = (
            list(node)
            if isinstance(node, dict)
            else range(len(node))
            if isinstance(node, list)
            else []
        )
        if not children:
            break
        parent, key = node, list(children)[step % len(children)]
        node = node[key]
    if parent is None:
        return False
    if value == "__delete__":
        if isinstance(parent, dict):
            del parent[key]
        else:
            parent.pop(key)
    else:
        parent[key] = value
    text = json.dumps(header).encode()
    preamble = container._PREAMBLE.pack(
        container.MAGIC, 1, 0, len(text), hashlib.sha256(text).digest()
    )
    start = len(preamble) + len(text)
    blobs = raw[container._align(56 + length) :]
    out.write_bytes(preamble + text + bytes(container._align(start) - start) + blobs)
    return True


def flip_byte(path: Path, position: int, out: Path) -> None:
    data = bytearray(path.read_bytes())
    data[position % len(data)] ^= 1 << (position % 8)
    out.write_bytes(bytes(data))


def saved_models(directory: Path, data: Interactions) -> dict[str, Path]:
    """Every registered algorithm (fast settings), fitted on ``data`` and saved."""
    return {name: make(name).fit(data).save(directory / f"{name}.recsys") for name in NAMES}
