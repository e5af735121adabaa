from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from recommender_systems import Interactions, MostPopular, ParameterError, evaluate, load
from recommender_systems.cli import main
from recommender_systems.progress import Training
from tests.conftest import requires_ml100k
from tests.toy_models import RandomFactors

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_file(synthetic: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "interactions.csv"
    synthetic.to_csv(path, index=False)
    return path


def test_evaluate_on_a_file_in_text_and_json(
    data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", "--algo", "most-popular", "--data", str(data_file), "--k", "5"]) == 0
    out = capsys.readouterr().out
    for name in ("precision@5", "recall@5", "map@5", "ndcg@5", "coverage@5"):
        assert name in out
    assert (
        main(
            [
                "evaluate",
                "--algo",
                "mean-rating",
                "--data",
                str(data_file),
                "--format",
                "json",
                "--param",
                "min_ratings=2",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["params"] == {"min_ratings": 2} and 0 <= report["metrics"]["ndcg@10"] <= 1


def test_parquet_and_column_names(
    synthetic: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.parquet"
    synthetic.rename(columns={"user_id": "u", "item_id": "i"}).to_parquet(path)
    assert (
        main(
            [
                "evaluate",
                "--algo",
                "most-popular",
                "--data",
                str(path),
                "--user-col",
                "u",
                "--item-col",
                "i",
                "--format",
                "json",
            ]
        )
        == 0
    )
    renamed = json.loads(capsys.readouterr().out)
    # The same numbers as from a file with the standard column names.
    standard = tmp_path / "standard.parquet"
    synthetic.to_parquet(standard)
    assert (
        main(["evaluate", "--algo", "most-popular", "--data", str(standard), "--format", "json"])
        == 0
    )
    expected = json.loads(capsys.readouterr().out)
    assert renamed["metrics"] == expected["metrics"] and renamed["metrics"]["ndcg@10"] > 0


def test_recommend_prints_rank_and_item(
    data_file: Path, synthetic: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    user = str(synthetic["user_id"].iloc[0])
    assert (
        main(
            [
                "recommend",
                "--algo",
                "most-popular",
                "--data",
                str(data_file),
                "--user",
                user,
                "--n",
                "3",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "2", "3"]


def test_unknown_user_follows_the_one_rule(
    data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same rule as in Python and the server: the model's own, unless overridden.
    base = ["recommend", "--data", str(data_file), "--user", "999999", "--n", "3"]
    assert main([*base, "--algo", "most-popular"]) == 0  # a baseline: its ranking
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 3 and "unknown to the model (gets: popular)" in out.err
    assert main([*base, "--algo", "item-knn"]) == 0  # personalised: nothing
    out = capsys.readouterr()
    assert out.out == "" and "(gets: empty)" in out.err
    assert main([*base, "--algo", "item-knn", "--unknown-users", "popular"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main([*base, "--algo", "most-popular", "--unknown-users", "raise"]) == 1
    assert "unknown user '999999'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evaluate", "--algo", "nope", "--data", "x.csv"], "unknown algorithm 'nope'"),
        (["evaluate", "--algo", "most-popular", "--data", "/no/such/file.csv"], "not found"),
        (["evaluate", "--algo", "most-popular", "--param", "oops"], "KEY=VALUE"),
        (["evaluate", "--algo", "most-popular", "--dataset", "no-such-set"], "no-such-set"),
    ],
)
def test_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_nan_in_a_csv_is_reported_at_its_file_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text("user_id,item_id,rating\n1,1,4\n2,2,5\n3,1,nan\n", encoding="utf-8")
    assert main(["fit", "--algo", "most-popular", "--data", str(path), "--out", "m"]) == 2
    err = capsys.readouterr().err.strip()
    assert "received nan at line 4 of" in err and str(path) in err
    assert len(err.splitlines()) == 1


def test_missing_column_from_the_real_command(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"user": [1], "item_id": [2]}).to_csv(path, index=False)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "recommender_systems",
            "evaluate",
            "--algo",
            "most-popular",
            "--data",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "missing column 'user_id'" in proc.stderr and "Traceback" not in proc.stderr


def test_list_algos_and_datasets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-algos"]) == 0
    out = capsys.readouterr().out
    assert "most-popular" in out and "mean-rating" in out
    assert main(["datasets", "list"]) == 0
    assert "ml-100k" in capsys.readouterr().out


@requires_ml100k
def test_evaluate_most_popular_on_movielens(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["evaluate", "--algo", "most-popular", "--dataset", "ml-100k", "--format", "json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["metrics"]["precision@10"] == pytest.approx(0.19, abs=0.01)


# ------------------------------------------------------------ saved models
@pytest.fixture
def model_file(data_file: Path, tmp_path: Path) -> Path:
    out = tmp_path / "pop.recsys"
    assert main(["fit", "--algo", "most-popular", "--data", str(data_file), "--out", str(out)]) == 0
    return out


def test_fit_shows_progress_and_saves(
    data_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.recsys"
    argv = ["fit", "--algo", "mean-rating", "--param", "min_ratings=2", "--data", str(data_file)]
    assert main([*argv, "--out", str(out)]) == 0
    assert "saved to" in capsys.readouterr().err
    loaded = load(out)
    assert loaded.get_params() == {"min_ratings": 2}


def test_fit_turns_progress_on(
    data_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool | None] = []
    real_fit = MostPopular.fit

    def spy(self: MostPopular, data: object, **kwargs: object) -> MostPopular:
        seen.append(Training().progress)
        return real_fit(self, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MostPopular, "fit", spy)
    argv = ["fit", "--algo", "most-popular", "--data", str(data_file), "--out", str(tmp_path / "m")]
    assert main(argv) == 0  # standard error is captured, not a terminal: no bar
    assert main([*argv, "--progress"]) == 0
    assert main([*argv, "--progress", "--quiet"]) == 0
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(argv) == 0
    assert seen == [False, True, False, True]


def test_recommend_from_a_model_in_every_format(
    model_file: Path, synthetic: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    user = int(synthetic["user_id"].iloc[0])
    expected = load(model_file).recommend(user, n=4)
    base = ["recommend", "--model", str(model_file), "--user", str(user), "--n", "4"]
    assert main(base) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [int(line.split("\t")[1]) for line in lines] == expected
    assert main([*base, "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["user_id"] == user and body["items"] == expected and len(body["scores"]) == 4
    assert main([*base, "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(frame.columns) == ["user_id", "rank", "item_id", "score"]
    assert frame["item_id"].tolist() == expected


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_recommend_a_file_of_users(
    model_file: Path, synthetic: pd.DataFrame, tmp_path: Path, suffix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    users = [*synthetic["user_id"].unique()[:5].tolist(), 999_999]
    users_file = tmp_path / "users.txt"
    users_file.write_text("\n".join(map(str, users)) + "\n")
    out = tmp_path / f"recs{suffix}"
    argv = ["recommend", "--model", str(model_file), "--users", str(users_file), "--n", "3"]
    assert main([*argv, "--output", str(out)]) == 0
    assert "1 of 6 users are unknown" in capsys.readouterr().err
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    expected = load(model_file).recommend_batch(users, 3).to_frame()
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_users_from_a_csv_column(
    model_file: Path, synthetic: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = synthetic["user_id"].unique()[:3].tolist()
    users_file = tmp_path / "users.csv"
    pd.DataFrame({"x": [0, 0, 0], "user_id": users}).to_csv(users_file, index=False)
    assert main(["recommend", "--model", str(model_file), "--users", str(users_file)]) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["user_id"].unique().tolist() == users


def test_similar_from_a_model(
    tmp_path: Path, synthetic: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    model = RandomFactors(n_factors=4).fit(synthetic)
    path = model.save(tmp_path / "f.recsys")
    item = int(synthetic["item_id"].iloc[0])
    argv = ["similar", "--model", str(path), "--item", str(item), "--n", "3"]
    assert main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == model.similar_items(item, 3)
    assert main(argv) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_evaluate_a_saved_model(
    synthetic: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = synthetic.iloc[:1500], synthetic.iloc[1500:]
    model = MostPopular().fit(train)
    path = model.save(tmp_path / "m.recsys")
    test_file = tmp_path / "test.parquet"
    test.to_parquet(test_file)
    argv = ["evaluate", "--model", str(path), "--test", str(test_file), "--format", "json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    expected = evaluate(MostPopular(), train, test, k=10)
    assert report["metrics"] == pytest.approx(dict(expected))
    assert report["users"] == expected.n_users


def test_info_in_text_and_json(model_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(model_file)]) == 0
    text = capsys.readouterr().out
    assert "most-popular" in text and "user_items_" in text
    assert main(["info", str(model_file), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["algorithm"] == "most-popular"


def test_custom_models_load_after_import(
    tmp_path: Path, synthetic: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    path = RandomFactors(n_factors=4).fit(synthetic).save(tmp_path / "f")
    user = str(synthetic["user_id"].iloc[0])
    script = "import sys; from recommender_systems.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", script, "recommend", "--model", str(path), "--user", user]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 2 and "--import" in proc.stderr
    proc = subprocess.run([*argv, "--import", "tests.toy_models"], capture_output=True,
                          text=True, cwd=ROOT, check=False)  # fmt: skip
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 10


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["recommend", "--model", "/no/such.recsys", "--user", "1"], "no such model file"),
        (["info", "/no/such.recsys"], "no such model file"),
        (["similar", "--model", "{model}", "--item", "1"], "no item similarities"),
        (["similar", "--model", "{model}", "--item", "x"], "expected an id like this model's"),
        (["recommend", "--model", "{model}", "--user", "abc"], "expected an id like"),
        (["recommend", "--model", "{model}", "--user", "1", "--n", "0"], "n: expected"),
        (["recommend", "--model", "{model}", "--users", "/no/file"], "file not found"),
        (["recommend", "--model", "{model}", "--user", "1", "--import", "no.such.module"],
         "--import no.such.module"),
        (["evaluate", "--model", "{model}"], "--model needs --test"),
        (["evaluate", "--model", "{model}", "--test", "/no/t.csv"], "not found"),
        (["evaluate", "--algo", "most-popular", "--test", "x.csv"], "--test goes with --model"),
        (["info", "{data}"], "not a recommender_systems model file"),
        (["fit", "--algo", "most-popular", "--data", "{data}", "--out", "/no/dir/m"], "/no/dir"),
        (["fit", "--algo", "mean-rating", "--param", "min_ratings=0", "--data", "{data}",
          "--out", "{tmp}/m"], "min_ratings"),
    ],
)  # fmt: skip
def test_model_command_errors_are_one_line(
    argv: list[str], message: str, model_file: Path, data_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    filled = [a.format(model=model_file, data=data_file, tmp=tmp_path) for a in argv]
    assert main(filled) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_unknown_user_with_a_model_follows_the_one_rule(
    model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--model", str(model_file), "--user", "999999", "--unknown-users",
                 "raise"]) == 1  # fmt: skip
    assert "unknown user" in capsys.readouterr().err
    assert main(["recommend", "--model", str(model_file), "--user", "999999", "--format",
                 "json"]) == 0  # fmt: skip
    assert "unknown to the model" in capsys.readouterr().err


def test_output_format_follows_the_suffix(
    data_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = tmp_path / "users.txt"
    users.write_text("1\n2\n")
    base = ["recommend", "--algo", "most-popular", "--data", str(data_file), "--users", str(users)]
    assert main([*base, "--output", str(tmp_path / "recs.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "recs.parquet")) == 20
    assert main([*base, "--output", str(tmp_path / "recs.txt")]) == 2
    assert "expected a .csv, .parquet or .pq file name" in capsys.readouterr().err
    assert not (tmp_path / "recs.txt").exists()


def test_param_values_follow_the_declaration(capsys: pytest.CaptureFixture[str]) -> None:
    from recommender_systems import ALS, ItemKNN
    from recommender_systems.cli._common import parse_params

    assert parse_params(
        ["n_factors=8", "alpha=2", "solver=cholesky", "random_state=none"], ALS
    ) == {
        "n_factors": 8,
        "alpha": 2.0,
        "solver": "cholesky",
        "random_state": None,
    }
    assert parse_params(["normalize=false"], ItemKNN) == {"normalize": False}
    with pytest.warns(DeprecationWarning, match="'k' is deprecated, use 'n_neighbors'"):
        assert parse_params(["k=20"], ItemKNN) == {"n_neighbors": 20}
    for pairs, message in [
        (["n_factors=2.5"], "n_factors: expected an integer >= 1, received '2.5'"),
        (["alpha=-1"], "alpha: expected a finite number >= 0"),
        (["solver=lu"], "solver: expected one of 'cg', 'cholesky'"),
        (["nope=1"], "--param nope: not a hyperparameter of ALS; expected one of n_factors"),
        (["n_factors"], "expected KEY=VALUE"),
    ]:
        with pytest.raises(ParameterError, match=message):
            parse_params(pairs, ALS)


def test_describe_prints_the_declared_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", "ease"]) == 0
    out = capsys.readouterr().out
    assert "## `ease`: EASE" in out
    assert "| `regularization` (formerly `l2`) | `500.0` | a finite number > 0 |" in out
    assert main(["describe", "nope"]) == 2


def test_evaluate_protocols_by_name(
    data_file: Path, synthetic: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    from recommender_systems import split

    # The rows as the command reads them (grouped by user, items in id order).
    frame = Interactions.from_file(data_file).to_frame()
    cases: list[tuple[list[str], str, dict[str, Any]]] = [
        (["--protocol", "leave-last-out"], "leave-last-out", {}),
        (["--protocol", "kfold", "--n-splits", "4", "--fold", "1", "--seed", "3"], "kfold",
         {"n_splits": 4, "fold": 1, "random_state": 3}),
        (["--protocol", "user-holdout", "--test-size", "0.3"], "user-holdout",
         {"test_size": 0.3, "random_state": split.DEFAULT_SEED}),
    ]  # fmt: skip
    for argv, protocol, options in cases:
        command = ["evaluate", "--algo", "most-popular", "--data", str(data_file), *argv]
        assert main([*command, "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["protocol"] == protocol
        train, test = split.split(frame, protocol, **options)
        expected = evaluate(MostPopular(), train, test, k=10)
        assert report["metrics"]["ndcg@10"] == pytest.approx(expected["ndcg@10"]), protocol


def test_warnings_are_one_clean_line(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", "--algo", "item-knn", "--data", str(data_file), "--param", "k=5"]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["recsys: warning: ItemKNN: 'k' is deprecated, use 'n_neighbors' (same meaning)"]


def test_a_dependencys_own_deprecations_stay_quiet(
    data_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ray Data warns about its own settings from inside Ray: nothing a user can act on.
    import recommender_systems.cli.evaluate as command

    def noisy(args: Any) -> int:
        warnings.warn_explicit("an internal setting is deprecated", DeprecationWarning,
                               "dependency.py", 1, module="dependency")  # fmt: skip
        warnings.warn_explicit("a user-facing warning", UserWarning, "dependency.py", 2,
                               module="dependency")  # fmt: skip
        return 0

    monkeypatch.setattr(command, "run", noisy)
    assert main(["evaluate", "--algo", "most-popular", "--data", str(data_file)]) == 0
    assert capsys.readouterr().err.splitlines() == ["recsys: warning: a user-facing warning"]
