"""``recsys fit/recommend-all/evaluate --engine ray`` on a folder of Parquet files
(each command starts a local Ray and shuts it down), and the "Scaling out" page's
examples, run as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from recommender_systems import ALS, evaluate, generate_interactions, load  # noqa: E402
from recommender_systems.cli import main  # noqa: E402
from tests.distributed.helpers import write_parquet_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


# The `--engine ray` commands of docs/cli.md (fit, recommend-all, evaluate) run here.
@pytest.mark.slow
def test_cli_commands_on_a_parquet_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = generate_interactions(400, 120, 6_000, random_state=2)
    test = log.iloc[2::5]
    data = write_parquet_dataset(log.drop(index=test.index), tmp_path / "train")
    test_dir = write_parquet_dataset(test, tmp_path / "test", n_files=2)
    model_path = tmp_path / "als.recsys"
    params = ["--param", "n_factors=8", "--param", "epochs=3", "--param", "random_state=0"]
    fit = ["fit", "--algo", "als", "--data", str(data), "--engine", "ray", "--quiet"]
    assert main([*fit, *params, "--out", str(model_path)]) == 0
    assert not ray.is_initialized()  # the command's own Ray was shut down
    model = load(model_path)
    assert isinstance(model, ALS)
    local = ALS(n_factors=8, epochs=3, random_state=0).fit(log.drop(index=test.index))
    np.testing.assert_allclose(model.user_factors_, local.user_factors_, atol=1e-6)

    out = tmp_path / "recs"
    command = ["recommend-all", "--model", str(model_path), "--engine", "ray", "--quiet"]
    assert main([*command, "--n", "5", "--out", str(out)]) == 0
    written = pd.read_parquet(out)
    assert written["user_id"].nunique() == len(model.user_ids_)
    assert (written.groupby("user_id").size() == 5).all()

    evaluate_cmd = ["evaluate", "--model", str(model_path), "--test", str(test_dir)]
    assert main([*evaluate_cmd, "--engine", "ray", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = evaluate(model, None, test, k=10)
    assert report["users"] == expected.n_users
    assert report["metrics"]["ndcg@10"] == pytest.approx(expected["ndcg@10"], rel=1e-12)


def test_cli_explains_what_ray_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_parquet_dataset(generate_interactions(50, 20, 300), tmp_path / "d", 1)
    assert main(["fit", "--algo", "ease", "--data", str(folder), "--engine", "ray",
                 "--out", str(tmp_path / "m")]) == 2  # fmt: skip
    assert "--engine ray fits ALS, ItemKNN, RP3beta" in capsys.readouterr().err
    assert main(["evaluate", "--algo", "als", "--engine", "ray"]) == 2
    assert "saved --model" in capsys.readouterr().err
    assert main(["fit", "--algo", "als", "--address", "auto", "--out", "m"]) == 2
    assert "--address goes with --engine ray" in capsys.readouterr().err


def test_recommend_all_locally_writes_the_same_table(tmp_path: Path) -> None:
    log = generate_interactions(100, 40, 1_000, random_state=4)
    path = ALS(n_factors=4, epochs=2, random_state=0).fit(log).save(tmp_path / "m.recsys")
    users = write_parquet_dataset(log, tmp_path / "users", n_files=2)
    assert main(["recommend-all", "--model", str(path), "--data", str(users), "--quiet",
                 "--out", str(tmp_path / "out")]) == 0  # fmt: skip
    written = pd.read_parquet(tmp_path / "out")
    expected = load(path).recommend_batch(pd.unique(log["user_id"]), 10).to_frame()
    pd.testing.assert_frame_equal(written.reset_index(drop=True), expected)


@pytest.mark.slow
def test_the_scaling_out_page_runs(capsys: pytest.CaptureFixture[str]) -> None:
    page = ROOT / "docs" / "scaling-out.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    try:
        for block in blocks:
            exec(compile(block, str(page), "exec"), namespace)
    finally:
        if ray.is_initialized():
            ray.shutdown()
    printed = capsys.readouterr().out
    assert "same top-10 for user 0: True" in printed
    assert "DistributedInteractions(3000 users" in printed
