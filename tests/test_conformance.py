"""The model contract (docs/design.md), checked for every model the package defines.

Models are found by walking the subclasses of :class:`Recommender` defined in the
package (registered or not, optional extras included when installed), so a new
model is tested here without new code. Data is small and generated, so the whole
suite stays fast.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import recommender_systems
from recommender_systems import (
    DataError,
    Interactions,
    NotFittedError,
    NotSupportedError,
    ParameterError,
    Recommender,
    UnknownItemError,
    UnknownUserError,
    algorithms,
)
from recommender_systems._params import _same
from recommender_systems.hyperparameters import Bool, Float, Int, OneOf, Range, declared

SEED = 11


def model_classes() -> dict[str, type[Recommender]]:
    """Every concrete, public Recommender subclass the package defines (with the
    installed extras' models), by name."""
    algorithms(optional=True)  # imports the installed extras' modules
    found: dict[str, type[Recommender]] = {}
    pending: list[type[Recommender]] = [Recommender]  # type: ignore[type-abstract]
    while pending:
        for cls in pending.pop().__subclasses__():
            pending.append(cls)
            public = not cls.__name__.startswith("_") and not inspect.isabstract(cls)
            if public and cls.__module__.startswith("recommender_systems."):
                found[cls.__name__] = cls
    return found


MODELS = model_classes()


def make(name: str) -> Recommender:
    model = MODELS[name]()
    if "random_state" in model.get_params():
        model.set_params(random_state=SEED)
    if name == "AutoRecommender":  # the contract, not the search (tests/test_auto.py)
        model.set_params(n_trials=2)
    return model


@pytest.fixture(scope="module")
def data(synthetic: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(synthetic)


class FittedOnDemand(dict[str, Recommender]):
    """Each model fitted on first use, once per module: a run of a few models
    (``-k ALS``) does not train the slow ones."""

    def __init__(self, data: Interactions) -> None:
        super().__init__()
        self.data = data

    def __missing__(self, name: str) -> Recommender:
        model = self[name] = make(name).fit(self.data)
        return model


@pytest.fixture(scope="module")
def fitted(data: Interactions) -> dict[str, Recommender]:
    return FittedOnDemand(data)


def seen_items(data: Interactions, user: object) -> set[object]:
    row = data.matrix[data.user_ids.index_of(user)]
    return set(data.item_ids.to_ids(row.indices).tolist())


# AutoRecommender tunes four families per fit: tens of seconds per test.
names = pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow) if name == "AutoRecommender" else name
        for name in sorted(MODELS)
    ],
)


@names
def test_fit_returns_self(name: str, data: Interactions) -> None:
    model = make(name)
    assert model.fit(data) is model and model.is_fitted


@names
def test_not_fitted_raises(name: str) -> None:
    model = make(name)
    for call in (
        lambda: model.recommend(1),
        lambda: model.recommend_batch([1]),
        lambda: model.score(1, [1]),
    ):
        with pytest.raises(NotFittedError, match="fit"):
            call()


@names
def test_recommendations_are_unseen_unique_and_ranked(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    for user in data.user_ids.ids[:25].tolist():
        recs = model.recommend(user, n=10)
        assert len(recs) == len(set(recs)) <= 10
        assert not set(recs) & seen_items(data, user)
        if recs:
            scores = model.score(user, recs)
            assert np.all(np.diff(scores) <= 1e-6), "scores must not increase down the list"


@names
def test_items_and_exclude_filters(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    user = data.user_ids.ids[0].item()
    pool = data.item_ids.ids[::3].tolist()
    recs = model.recommend(user, n=50, items=pool)
    assert set(recs) <= set(pool) - seen_items(data, user)
    banned = model.recommend(user, n=3)
    assert not set(model.recommend(user, n=10, exclude=banned)) & set(banned)
    assert model.recommend(user, n=5, exclude=[-404]) == model.recommend(user, n=5)
    with pytest.raises(UnknownItemError, match="-404"):
        model.recommend(user, items=[-404])
    with pytest.raises(DataError, match="this model's ids are integers"):
        model.recommend(user, items=["no-such-item"])


@names
def test_exclude_seen_false_allows_seen(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    n_items = data.n_items
    for user in data.user_ids.ids[:10].tolist():
        seen = list(seen_items(data, user))
        everything = model.recommend(user, n=n_items, exclude_seen=False)
        restricted = model.recommend(user, n=n_items)
        assert set(restricted) <= set(everything)
        # Every seen item the model can score is back, and only seen items were added.
        scored = [
            item for item, s in zip(seen, model.score(user, seen), strict=True) if s > -np.inf
        ]
        assert set(scored) <= set(everything)
        assert set(everything) - set(restricted) <= set(seen)


@names
def test_unknown_user_follows_the_documented_rule(
    name: str, fitted: dict[str, Recommender]
) -> None:
    model = fitted[name]
    nobody = -31337  # an id of the model's type (integers) that it never saw
    recs = model.recommend(nobody, n=5)
    if model.unknown_users == "empty":
        assert recs == []
    else:
        assert len(recs) == 5
    with pytest.raises(UnknownUserError, match="-31337"):
        model.recommend_batch([nobody], unknown="raise")
    assert model.recommend_batch([nobody], n=4, unknown="empty").to_lists() == [[]]
    assert len(model.recommend_batch([nobody], n=4, unknown="popular").to_lists()[0]) == 4
    with pytest.raises(UnknownUserError):
        model.score(nobody, [1])


@names
def test_ids_of_the_wrong_type_are_an_error_naming_the_id_type(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    known = data.user_ids.ids[:2].tolist()
    for call in (
        lambda: model.recommend("1"),
        lambda: model.recommend_batch([*known, "nobody"]),
        lambda: model.score("1", [1]),
        lambda: model.score(known[0], ["1"]),
        lambda: model.recommend(2**63),
    ):
        with pytest.raises(DataError, match=r"user_id|item_id"):
            call()
    with pytest.raises(DataError, match="this model's ids are integers"):
        model.recommend("1")


@names
@pytest.mark.parametrize("n", [0, -1, 2.5, "3", None])
def test_bad_n(name: str, n: object, fitted: dict[str, Recommender], data: Interactions) -> None:
    with pytest.raises(ParameterError, match="n: expected an integer >= 1"):
        fitted[name].recommend(data.user_ids.ids[0].item(), n=n)  # type: ignore[arg-type]


@names
def test_n_larger_than_catalogue(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    user = data.user_ids.ids[0].item()
    recs = fitted[name].recommend(user, n=10**9)
    assert len(recs) <= data.n_items - len(seen_items(data, user))


@names
def test_batch_and_single_agree(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    users = data.user_ids.ids[:30].tolist()
    batch = model.recommend_batch(users, n=7)
    assert batch.to_lists() == [model.recommend(u, n=7) for u in users]
    frame = batch.to_frame()
    assert list(frame.columns) == ["user_id", "rank", "item_id", "score"]
    assert len(frame) == int(batch.mask.sum())


@names
def test_reproducible(name: str, data: Interactions, fitted: dict[str, Recommender]) -> None:
    again = make(name).fit(data)
    users = data.user_ids.ids[:20].tolist()
    assert (
        again.recommend_batch(users, 10).to_lists()
        == fitted[name].recommend_batch(users, 10).to_lists()
    )


@names
def test_params_clone_and_repr(name: str, fitted: dict[str, Recommender]) -> None:
    model = fitted[name]
    params = model.get_params()
    twin = model.clone()
    assert twin.get_params().keys() == params.keys() and not twin.is_fitted
    assert type(twin).__name__ in repr(twin)
    with pytest.raises(ParameterError, match="not a parameter"):
        twin.set_params(definitely_not_a_param=1)


@names
def test_fold_in_or_clear_refusal(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    history = data.item_ids.ids[:5].tolist()
    if not model.supports_fold_in:
        with pytest.raises(NotSupportedError):
            model.recommend_from_history(history)
        return
    recs = model.recommend_from_history(history, n=8)
    assert len(recs) == len(set(recs)) <= 8 and not set(recs) & set(history)
    with pytest.raises(DataError, match="history"):
        model.recommend_from_history([])
    with pytest.raises(DataError, match="history"):
        model.recommend_from_history([-404])
    with pytest.raises(DataError, match="this model's ids are integers"):
        model.recommend_from_history(["unknown-item"])


@names
def test_similar_items_or_clear_refusal(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    item = data.item_ids.ids[0].item()
    if not model.supports_similar_items:
        with pytest.raises(NotSupportedError):
            model.similar_items(item)
        return
    similar = model.similar_items(item, n=5)
    assert item not in similar and len(similar) == len(set(similar)) <= 5
    with pytest.raises(UnknownItemError):
        model.similar_items(-404)
    with pytest.raises(DataError, match="this model's ids are integers"):
        model.similar_items("not-an-item")


@names
def test_string_ids_and_edge_shapes(name: str) -> None:
    # An empty user row, an item nobody touched, and a single-user dataset.
    matrix = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=np.float32))
    data = Interactions.from_sparse(
        matrix, user_ids=["u0", "u1", "u2"], item_ids=["a", "b", "c", "d"]
    )
    model = make(name).fit(data)
    assert set(model.recommend("u0", n=4)) <= {"b", "d"}
    empty_row = model.recommend("u1", n=4)  # a known user with nothing seen
    assert len(empty_row) == len(set(empty_row)) <= 4 and set(empty_row) <= {"a", "b", "c", "d"}
    single = pd.DataFrame(
        {"user_id": ["solo"] * 3, "item_id": ["x", "y", "z"], "rating": [5.0, 3.0, 1.0]}
    )
    assert make(name).fit(single).recommend("solo") == []


# ------------------------------------------------------------- declarations
def test_every_registered_and_exported_model_is_checked() -> None:
    checked = set(MODELS.values())
    assert {a.cls for a in algorithms()} <= checked
    exported = {
        obj
        for obj in vars(recommender_systems).values()
        if isinstance(obj, type) and issubclass(obj, Recommender) and not inspect.isabstract(obj)
    }
    assert exported <= checked
    assert "HybridBook" in MODELS  # exported, not registered


@names
def test_hyperparameters_are_declared_once(name: str) -> None:
    cls = MODELS[name]
    declarations = declared(cls)
    signature = inspect.signature(cls.__init__).parameters
    assert list(cls._param_names()) == [p for p in signature if p != "self"]
    assert set(declarations) == set(cls._param_names()), "declare every __init__ argument"
    for param, hp in declarations.items():
        assert _same(signature[param].default, hp.default), (param, hp.default)
        assert hp.doc and hp.describe()
        hp.check(hp.default, param)  # the default is valid


def _candidates(hp: object, search: object) -> list[object]:
    if isinstance(search, OneOf):
        return list(search.choices)
    assert isinstance(search, Range)
    values: list[object] = [search.low, search.high]
    if isinstance(hp, Int):
        values = [int(v) for v in values]  # type: ignore[call-overload]
    return values


@names
def test_search_space_stays_within_the_declaration(name: str) -> None:
    declarations = declared(MODELS[name])
    for param, hp in declarations.items():
        if hp.tune is None:
            continue
        for value in _candidates(hp, hp.tune):
            hp.check(value, param)
        for other, values in hp.tune.when.items():
            assert other in declarations, (param, other)
            for value in values:
                declarations[other].check(value, other)


@names
def test_former_names_still_work(name: str) -> None:
    cls = MODELS[name]
    for param, hp in declared(cls).items():
        for old in hp.formerly:
            with pytest.warns(
                DeprecationWarning, match=f"'{old}' is deprecated, use '{param}'"
            ) as seen:
                model = cls(**{old: hp.default})
            assert seen[0].filename == __file__  # names the caller's line, not the library's
            assert model.get_params()[param] == hp.default
            with pytest.warns(DeprecationWarning, match=param):
                assert getattr(model, old) == hp.default
            with pytest.raises(ParameterError, match="received both"):
                cls(**{old: hp.default, param: hp.default})


def _below_bound(hp: object) -> object | None:
    if isinstance(hp, Int) and hp.low is not None:
        return hp.low - 1
    if isinstance(hp, Float) and hp.low is not None:
        return hp.low - 1.0
    if isinstance(hp, Bool):
        return "yes"
    return None


@names
def test_bad_hyperparameters_are_refused_before_training(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    before = model.recommend_batch(data.user_ids.ids[:5], n=5).to_lists()
    for param, hp in declared(type(model)).items():
        bad = _below_bound(hp)
        if bad is None:
            continue
        broken = model.clone().set_params(**{param: bad})
        with pytest.raises(ParameterError, match=f"^{param}: expected"):
            broken.fit(data)
        assert not broken.is_fitted
    assert model.recommend_batch(data.user_ids.ids[:5], n=5).to_lists() == before


# --------------------------------------------------------- learnable patterns
def checkerboard(
    users_per_group: int = 40, items_per_group: int = 24
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Two groups of users, each with its own items; every user has all of their
    group's items but one, which is the obvious recommendation."""
    rows, withheld = [], {}
    for group in range(2):
        items = [f"g{group}-item{i}" for i in range(items_per_group)]
        for u in range(users_per_group):
            user = f"g{group}-user{u}"
            withheld[user] = items[u % items_per_group]
            rows += [(user, item) for item in items if item != withheld[user]]
    return pd.DataFrame(rows, columns=["user_id", "item_id"]), withheld


def ladder() -> tuple[pd.DataFrame, str]:
    """Items ranked by popularity and by mean rating alike; the probe user lacks the
    best item and the second: the best must come first."""
    rows = []
    for j in range(10):
        for u in range(30 - 2 * j):
            rows.append((f"user{u}", f"item{j}", 5.0 - 0.4 * j))
    rows += [("probe", f"item{j}", 3.0) for j in range(2, 10)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]), "item0"


@names
def test_learns_an_obviously_learnable_pattern(name: str) -> None:
    model = make(name)
    if model.personalised:
        frame, withheld = checkerboard()
        model.fit(frame)
        top = model.recommend_batch(list(withheld), n=1).to_lists()
        assert [t[:1] for t in top] == [[withheld[u]] for u in withheld]
    else:
        frame, best = ladder()
        assert model.fit(frame).recommend("probe", n=1) == [best]


@names
def test_fit_takes_other_column_names(name: str, synthetic: pd.DataFrame) -> None:
    renamed = synthetic.rename(columns={"user_id": "user", "item_id": "item", "rating": "stars"})
    model = make(name).fit(renamed, user_col="user", item_col="item", rating_col="stars")
    reference = make(name).fit(synthetic)
    users = synthetic["user_id"].unique()[:5].tolist()
    assert (
        model.recommend_batch(users, 5).to_lists() == reference.recommend_batch(users, 5).to_lists()
    )
    with pytest.raises(DataError, match=r"missing column 'user_id'.*user_col="):
        make(name).fit(renamed)
