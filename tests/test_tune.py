"""Tuning: search spaces from the declarations, the validation split, sweeps,
pruning, budgets, reproducibility and the report (needs the `tune` extra)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recommender_systems import (
    ALS,
    EASE,
    ItemKNN,
    RP3beta,
    algorithms,
    generate_interactions,
    load,
    split_ratings,
    validation_split,
)
from recommender_systems.hyperparameters import Int, OneOf, Range, declare, declared, search_space
from recommender_systems.interactions import Interactions

optuna = pytest.importorskip("optuna")

from recommender_systems.tune import (  # noqa: E402
    FarBehindPruner,
    TrialRecord,
    TuningReport,
    _search,
    tune,
)


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return generate_interactions(150, 120, 3_000, n_tastes=4, counts=True, random_state=5)


def pairs(frame: Any) -> set[tuple[Any, Any]]:
    data = frame if isinstance(frame, Interactions) else Interactions.from_frame(frame)
    f = data.to_frame()
    return set(zip(f["user_id"].tolist(), f["item_id"].tolist(), strict=True))


# ------------------------------------------------------------------ declarations
@pytest.mark.parametrize("algo", list(algorithms()), ids=lambda a: a.name)
def test_every_declared_search_range_is_valid_for_its_hyperparameter(algo: Any) -> None:
    decl = declared(algo.cls)
    for name, search in search_space(algo.cls).items():
        hp = decl[name]
        if isinstance(search, Range):
            for value in (search.low, search.high):
                hp.check(int(value) if type(hp.default) is int else value, name)
        else:
            assert isinstance(search, OneOf)
            for choice in search.choices:
                hp.check(choice, name)
        for other, values in search.when.items():
            assert other in decl, f"{name} depends on an undeclared {other}"
            for value in values:
                decl[other].check(value, other)


def test_a_new_model_gets_tuning_by_declaring_it(log: pd.DataFrame) -> None:
    from tests.toy_models import RandomFactors

    class Tunable(RandomFactors):
        hyperparameters = declare(
            n_factors=Int(default=64, low=1, doc="factors", tune=Range(1, 6)),
            random_state=Int(default=0, low=0, doc="seed", tune=OneOf(0, 1, 2)),
        )

    result = tune(Tunable(), log, n_trials=4, random_state=0)
    assert {t.family for t in result.report.trials} == {"Tunable"}
    assert set(result.best_params) == {"n_factors", "random_state"}
    assert len(result.report.trials) == 4
    assert all(1 <= t.params["n_factors"] <= 6 for t in result.report.trials)


# ------------------------------------------------------------ validation split
def test_the_validation_split_never_touches_test_rows(
    log: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, test = split_ratings(log, 0.2, random_state=1)
    seen: list[Any] = []
    original = validation_split

    def spy(*args: Any, **kwargs: Any) -> Any:
        split = original(*args, **kwargs)
        seen.append(split)
        return split

    monkeypatch.setattr("recommender_systems.tune._search.validation_split", spy)
    tune("item-knn", train, n_trials=2, random_state=3)
    (split,) = seen
    train_pairs, test_pairs = pairs(train), pairs(test)
    fitted, held = pairs(split.fit_part), pairs(split.held_out)
    assert fitted | held == train_pairs and not fitted & held
    assert not (fitted | held) & test_pairs


def test_the_validation_split_follows_the_protocol_and_is_seeded(log: pd.DataFrame) -> None:
    a = validation_split(log, random_state=4)
    b = validation_split(log, random_state=4)
    assert pairs(a.held_out) == pairs(b.held_out)
    assert a.held_out.nnz == math.ceil(0.2 * len(log))
    assert pairs(validation_split(log, random_state=5).held_out) != pairs(a.held_out)
    assert a.describe()["protocol"] == "random" and a.metric_name == "ndcg@10"
    timed = generate_interactions(50, 40, 600, timestamps=True, random_state=0)
    last = validation_split(timed, protocol="leave-last-out")
    assert last.held_out.n_users == timed["user_id"].nunique()


# ---------------------------------------------------------------- shortcuts
def test_the_ease_sweep_scores_every_lambda_like_a_fit(log: pd.DataFrame) -> None:
    split = validation_split(log, random_state=0)
    for l2, view in EASE()._sweep(split.fit_part, "regularization", [5.0, 50.0, 800.0]):
        fitted = EASE(regularization=l2, dtype="float64").fit(split.fit_part)
        assert split.score(view) == pytest.approx(split.score(fitted), abs=2e-3)


@pytest.mark.parametrize("cls", [ItemKNN, RP3beta])
def test_one_neighbour_search_serves_every_smaller_count(cls: type, log: pd.DataFrame) -> None:
    data = Interactions.from_frame(log)
    for k, view in cls()._sweep(data, "n_neighbors", [5, 20, 60]):
        fitted = cls(n_neighbors=k).fit(data)
        np.testing.assert_allclose(
            view.similarity_.toarray(), fitted.similarity_.toarray(), rtol=1e-5, atol=1e-7
        )


def test_epochs_are_scored_at_checkpoints_from_one_fit(log: pd.DataFrame) -> None:
    result = tune(ALS(n_factors=8), log, n_trials=2, random_state=0, refit=False)
    epochs = [t.params["epochs"] for t in result.report.trials if t.number < 6]
    assert epochs == sorted(epochs) and len(set(epochs)) == len(epochs) > 1
    # A checkpoint's score is the score of a fit with that many epochs.
    first = result.report.trials[1]
    params = dict(first.params.items())
    model = ALS(n_factors=8, random_state=0).set_params(**params)
    split = validation_split(log, random_state=0)
    assert split.score(model.fit(split.fit_part)) == pytest.approx(first.score, abs=1e-6)


# ------------------------------------------------------------------ pruning
def test_the_pruner_stops_a_trial_far_behind_at_the_same_epoch() -> None:
    study = optuna.create_study(direction="maximize")
    done = optuna.trial.create_trial(
        value=0.30,
        intermediate_values={5: 0.28, 10: 0.30},
        params={},
        distributions={},
    )
    study.add_trial(done)
    pruner = FarBehindPruner(fraction=0.9)
    for values, expected in (({5: 0.10}, True), ({5: 0.27}, False), ({3: 0.01}, False)):
        trial = optuna.trial.create_trial(
            state=optuna.trial.TrialState.RUNNING,
            intermediate_values=values,
            params={},
            distributions={},
        )
        assert pruner.prune(study, trial) is expected


def test_a_pruned_fit_stops_at_its_checkpoint(
    log: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prune every trial after the first at its first checkpoint.
    def after_the_first(self: Any, study: Any, trial: Any) -> bool:
        return trial.number > 0

    monkeypatch.setattr(FarBehindPruner, "prune", after_the_first)
    result = tune(ALS(n_factors=8), log, n_trials=3, random_state=0, refit=False)
    checkpoints = _search._plan(ALS(), Interactions.from_frame(log)).epoch_checkpoints
    first = [t for t in result.report.trials if t.state == "complete"]
    pruned = [t for t in result.report.trials if t.state == "pruned"]
    assert [t.params["epochs"] for t in first] == checkpoints  # the first trial ran through
    assert len(pruned) == 2 and all(t.note == "far behind" for t in pruned)
    assert all(t.params["epochs"] == checkpoints[0] for t in pruned)


# ----------------------------------------------------------- budgets, seeds
def test_a_trial_budget_is_reproducible_with_a_seed_at_one_thread(log: pd.DataFrame) -> None:
    runs = [
        tune("rp3beta", log, n_trials=4, random_state=7, n_threads=1).report.to_frame()
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0].drop(columns="seconds"), runs[1].drop(columns="seconds"))


def test_a_time_budget_stops_the_search(log: pd.DataFrame) -> None:
    result = tune("item-knn", log, budget=0.5, n_trials=10_000, random_state=0)
    assert result.model is not None and result.model.is_fitted
    assert result.report.seconds < 30


def test_the_best_configuration_is_refitted_on_all_training_rows(log: pd.DataFrame) -> None:
    result = tune("ease", log, n_trials=2, random_state=0)
    assert result.model is not None
    assert result.model.user_items_.nnz == len(log)
    assert result.model.get_params()["regularization"] == result.best_params["regularization"]


def test_the_defaults_stay_unless_clearly_beaten(log: pd.DataFrame) -> None:
    report = TuningReport(metric="ndcg@10", validation={})
    report.trials += [
        TrialRecord(0, "ease", {"regularization": 500.0}, 0.300, 1.0),
        TrialRecord(1, "ease", {"regularization": 90.0}, 0.302, 1.0),
    ]
    defaults = EASE().get_params()
    assert _search.chosen_trial(report, "ease", defaults).number == 0
    report.trials.append(TrialRecord(2, "ease", {"regularization": 20.0}, 0.32, 1.0))
    assert _search.chosen_trial(report, "ease", defaults).number == 2


def test_the_refit_gets_the_most_epochs_within_the_margin_of_the_best() -> None:
    report = TuningReport(metric="ndcg@10", validation={})
    same = {"n_factors": 32, "alpha": 1.0}
    report.trials += [
        TrialRecord(0, "als", {**same, "epochs": 5}, 0.300, 1.0),
        TrialRecord(1, "als", {**same, "epochs": 10}, 0.2980, 1.0),
        TrialRecord(2, "als", {**same, "epochs": 20}, 0.2975, 1.0),
        TrialRecord(3, "als", {**same, "epochs": 30}, 0.290, 1.0),  # clearly behind
        TrialRecord(4, "als", {"n_factors": 64, "alpha": 1.0, "epochs": 40}, 0.299, 1.0),
        TrialRecord(5, "als", {**same, "epochs": 25}, 0.2999, 1.0, state="pruned"),
    ]
    defaults = {**ALS().get_params(), "epochs": 99}  # no default trial to fall back to
    assert _search.chosen_trial(report, "als", defaults).number == 2
    # Without longer checkpoints of the same configuration, the best stays.
    assert _search.most_epochs_within_margin(report, report.trials[4]) is report.trials[4]


# ------------------------------------------------------------------ report
def test_the_report_as_frame_markdown_json_and_plot(log: pd.DataFrame, tmp_path: Path) -> None:
    report = tune("item-knn", log, n_trials=3, random_state=0).report
    frame = report.to_frame()
    assert {"trial", "family", "score", "seconds", "state", "param.n_neighbors"} <= set(frame)
    assert len(frame) == len(report.trials) > 3
    text = report.to_markdown()
    assert "**Best**" in text and "| trial |" in text and "Validation: random split" in text
    data = json.loads(report.to_json(tmp_path / "r.json"))
    assert data["best"]["score"] == pytest.approx(frame["score"].max())
    assert json.loads((tmp_path / "r.json").read_text()) == data
    pytest.importorskip("matplotlib")
    report.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1_000


def test_the_tuned_model_saves_and_loads(log: pd.DataFrame, tmp_path: Path) -> None:
    result = tune("rp3beta", log, n_trials=2, random_state=0)
    assert result.model is not None
    loaded = load(result.model.save(tmp_path / "m.recsys"))
    assert loaded.recommend(0, n=5) == result.model.recommend(0, n=5)


def test_raw_values_are_not_searched_on_heavy_tailed_counts(log: pd.DataFrame) -> None:
    plays = Interactions.from_frame(log)
    values = _search._plan(ItemKNN(), plays).space["values"]
    assert isinstance(values, OneOf) and "linear" not in values.choices
    ratings = Interactions.from_frame(generate_interactions(50, 40, 600, ratings=True))
    values = _search._plan(ItemKNN(), ratings).space["values"]
    assert isinstance(values, OneOf) and "linear" in values.choices
    binary = Interactions.from_frame(generate_interactions(50, 40, 600))
    assert "values" not in _search._plan(ItemKNN(), binary).space
