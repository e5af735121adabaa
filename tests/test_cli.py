from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from recommender_systems.cli import main
from tests.conftest import requires_ml100k


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
            ]
        )
        == 0
    )


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


def test_unknown_user_exits_1(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["recommend", "--algo", "most-popular", "--data", str(data_file), "--user", "999999"])
        == 1
    )
    assert "unknown user" in capsys.readouterr().err


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
