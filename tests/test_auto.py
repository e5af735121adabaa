"""``create("auto")``: chooses the best of a portfolio on a validation split, says
why, saves, loads and serves as the chosen model (needs the `tune` extra)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from recommender_systems import (
    AutoRecommender,
    HybridRecommender,
    Interactions,
    ItemKNN,
    MostPopular,
    ParameterError,
    evaluate,
    generate_interactions,
    load,
    read_info,
    split_ratings,
)
from recommender_systems.cli import main
from recommender_systems.validation import validation_split

pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tastes() -> pd.DataFrame:
    """Strong tastes: a personalised model beats popularity by far."""
    return generate_interactions(200, 150, 4_000, n_tastes=4, taste_strength=3.0, random_state=2)


def test_it_chooses_the_family_that_is_best_on_held_out_data(tastes: pd.DataFrame) -> None:
    train, test = split_ratings(tastes, 0.2, random_state=1)
    auto = AutoRecommender(
        portfolio=["most-popular", "item-knn"], hybrid=False, n_trials=3, random_state=0
    ).fit(train)
    assert isinstance(auto.model_, ItemKNN)
    assert auto.report_["chosen"].startswith("item-knn")
    assert "most-popular" in auto.report_["reason"] and "item-knn" in auto.report_["reason"]
    knn = evaluate(auto, None, test)["ndcg@10"]
    assert knn > 1.5 * evaluate(MostPopular(), train, test)["ndcg@10"]


def test_it_chooses_popularity_when_that_is_what_works() -> None:
    # No tastes, a steep popularity law: mean ratings rank nothing useful.
    log = generate_interactions(200, 150, 4_000, item_exponent=1.2, ratings=True, random_state=3)
    auto = AutoRecommender(
        portfolio=["mean-rating", "most-popular"], hybrid=False, random_state=0
    ).fit(log)
    assert isinstance(auto.model_, MostPopular)
    families = {t["family"] for t in auto.report_["trials"]}
    assert families == {"mean-rating", "most-popular"}


@pytest.mark.slow
def test_the_default_portfolio_with_a_hybrid_serves_saves_and_loads(
    tastes: pd.DataFrame, tmp_path: Path
) -> None:
    auto = AutoRecommender(n_trials=3, random_state=0).fit(tastes)
    families = {t["family"] for t in auto.report_["trials"]}
    assert {"ease", "item-knn", "rp3beta", "als"} <= families
    assert auto.report_["best_per_family"] and auto.report_["chosen"] in str(auto.report_)
    users = tastes["user_id"].unique()[:20]
    assert (
        auto.recommend_batch(users, 10).to_lists()
        == auto.model_.recommend_batch(users, 10).to_lists()
    )
    history = tastes["item_id"].iloc[:4].tolist()
    if auto.supports_fold_in:
        assert auto.recommend_from_history(history, n=5) == auto.model_.recommend_from_history(
            history, n=5
        )
    path = auto.save(tmp_path / "auto.recsys")
    loaded = load(path)
    assert isinstance(loaded, AutoRecommender)
    assert loaded.report_ == auto.report_
    assert (
        loaded.recommend_batch(users, 10).to_lists() == auto.recommend_batch(users, 10).to_lists()
    )
    assert read_info(path).algorithm == "auto"


@pytest.mark.parametrize(
    ("gain", "budget", "second_gain", "hybrid_kept"),
    [
        # Time to confirm: the gains on both splits together decide.
        (0.005, 60.0, 0.01, True),
        (0.05, 60.0, -0.05, False),
        (0.05, 60.0, -0.001, True),  # a clear first gain outweighs a small loss
        (0.001, 60.0, -0.01, False),
        # No time left to confirm: only a gain over 1% (the noise of one split) counts.
        (0.005, 1e-6, 0.01, False),
        (0.05, 1e-6, -0.05, True),
        # Not better on the first split: no hybrid, nothing to confirm.
        (-0.01, 60.0, 0.01, False),
        # The second split could not be scored: the 1% rule decides.
        (0.005, 60.0, None, False),
        (0.05, 60.0, None, True),
    ],
)
def test_a_hybrid_is_kept_only_when_its_gains_on_two_splits_sum_above_zero(
    tastes: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    gain: float,
    budget: float,
    second_gain: float | None,
    hybrid_kept: bool,
) -> None:
    # The hybrid's validation score is set relative to the best single family's
    # (``gain``), and its absolute gain on the second split is stubbed.
    from recommender_systems.tune import _search

    confirmations: list[int] = []
    search_families = _search.search_families

    def hybrid_of(members, split, report, progress):  # type: ignore[no-untyped-def]
        best = split.score(members[0].clone().fit(split.fit_part))
        return {"weights": [0.5, 0.5], "rank_constant": 60.0}, best * (1.0 + gain)

    def confirm(hybrid, data, test_size, seed):  # type: ignore[no-untyped-def]
        assert type(hybrid).__name__ == "HybridRecommender"
        assert seed == 0 and test_size == 0.2
        confirmations.append(len(hybrid.recommenders))
        if second_gain is None:
            return None  # a fit failed on the second split
        return 0.3, 0.3 + second_gain

    def searched(*args, **kwargs):  # type: ignore[no-untyped-def]
        # The search itself does not depend on the budget under test.
        return search_families(*args, **{**kwargs, "budget": 60.0})

    monkeypatch.setattr(_search, "hybrid_of", hybrid_of)
    monkeypatch.setattr(_search, "confirm", confirm)
    monkeypatch.setattr(_search, "search_families", searched)
    auto = AutoRecommender(
        portfolio=["most-popular", "item-knn"],
        hybrid=True,
        n_trials=2,
        budget=budget,
        random_state=0,
    ).fit(tastes)
    assert isinstance(auto.model_, HybridRecommender) is hybrid_kept
    assert auto.report_["chosen"].startswith("hybrid") is hybrid_kept
    assert bool(confirmations) is (budget > 1 and gain > 0)
    confirmed_there = budget > 1 and second_gain is not None and gain > 0
    assert ("both validation splits" in auto.report_["reason"]) is confirmed_there
    assert ("was not kept" in auto.report_["reason"]) is (gain > 0 and not hybrid_kept)


def test_confirm_scores_on_a_second_split_or_says_it_could_not(tastes: pd.DataFrame) -> None:
    from recommender_systems.tune import _search

    data = Interactions.from_frame(tastes)
    members = [MostPopular(), ItemKNN(n_neighbors=10)]
    scores = _search.confirm(HybridRecommender(members), data, 0.2, 0)
    second = validation_split(data, test_size=0.2, random_state=1)
    assert scores == (
        second.score(MostPopular().fit(second.fit_part)),
        second.score(HybridRecommender(members).fit(second.fit_part)),
    )
    first = validation_split(data, test_size=0.2, random_state=0)
    assert scores[0] != first.score(MostPopular().fit(first.fit_part))
    # A model that cannot be fitted there: no scores, not an error.
    failing = HybridRecommender([ItemKNN(n_neighbors=10), ItemKNN(shrink=-1)])
    assert _search.confirm(failing, data, 0.2, 0) is None


def test_the_hybrid_search_tries_rank_and_score_fusion(tastes: pd.DataFrame) -> None:
    auto = AutoRecommender(
        portfolio=["item-knn", "ease"], hybrid=True, n_trials=2, random_state=0
    ).fit(tastes)
    tried = [t for t in auto.report_["trials"] if t["family"] == "hybrid"]
    fusions = [str(t["params"]) for t in tried]
    assert len(tried) == 15  # 5 weightings x (2 rank constants + score fusion)
    assert sum("'scores'" in f for f in fusions) == 5
    assert sum("'rank'" in f for f in fusions) == 10
    if isinstance(auto.model_, HybridRecommender):
        best = max(tried, key=lambda t: t["score"])
        assert auto.model_.get_params()["fusion"] in str(best["params"])


def test_too_little_data_to_validate_falls_back_to_defaults() -> None:
    one = pd.DataFrame({"user_id": [1], "item_id": [2]})
    auto = AutoRecommender().fit(one)
    assert "too few" in auto.report_["reason"]


def test_bad_portfolios_are_refused(tastes: pd.DataFrame) -> None:
    for bad in (["auto"], ["no-such-model"], [], "ease"):
        with pytest.raises(ParameterError, match="portfolio: expected"):
            AutoRecommender(portfolio=bad).fit(tastes)


@pytest.mark.slow
def test_evaluate_fit_and_tune_from_the_command_line(
    tastes: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "plays.csv"
    tastes.to_csv(data, index=False)
    quick = ["--param", "n_trials=2", "--param", "budget=30"]
    assert main(["evaluate", "--algo", "auto", "--data", str(data), *quick]) == 0
    assert "ndcg@10" in capsys.readouterr().out
    out = tmp_path / "auto.recsys"
    assert (
        main(["fit", "--algo", "auto", "--data", str(data), "--out", str(out), "--quiet", *quick])
        == 0
    )
    assert isinstance(load(out), AutoRecommender)
    tuned = tmp_path / "knn.recsys"
    args = ["tune", "--algo", "item-knn", "--data", str(data), "--budget", "20s"]
    args += ["--n-trials", "2", "--out", str(tuned), "--report", str(tmp_path / "r.md")]
    args += ["--plot", str(tmp_path / "r.png"), "--quiet"]
    assert main(args) == 0
    assert isinstance(load(tuned), ItemKNN)
    assert "**Best**" in (tmp_path / "r.md").read_text()
    assert (tmp_path / "r.png").is_file()
    assert (
        main(["tune", "--algo", "ease", "--data", str(data), "--budget", "soon", "--out", "x"]) == 2
    )
    assert "--budget: expected a duration" in capsys.readouterr().err


def test_without_optuna_fitting_says_how_to_install_it(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["optuna"] = None  # the extra is not installed
        import recommender_systems as rs
        model = rs.create("auto")  # creating it needs nothing
        try:
            model.fit(rs.generate_interactions(30, 20, 200, random_state=0))
        except ImportError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "pip install 'recommender-systems[tune]'" in done.stdout
