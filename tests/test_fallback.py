"""The library works, with the same results, when the Rust extension cannot be imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "blocked":
        sys.modules["recommender_systems._kernels"] = None  # makes the import fail
    import recommender_systems as rs
    df = rs.generate_interactions(60, 40, 600, random_state=5, ratings=True)
    train, test = rs.split_ratings(df, 0.2, random_state=1)
    model = rs.MostPopular().fit(train)
    recs = model.recommend_batch(train["user_id"].unique()[:20], n=7).to_lists()
    result = rs.evaluate(rs.MeanRating(min_ratings=2), train, test, k=5)
    print(json.dumps({"backend": rs.kernel_backend(), "recs": recs, "metrics": dict(result)}))
    """
)


def _run(mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_fallback_path_gives_the_same_results() -> None:
    blocked = _run("blocked")
    normal = _run("normal")
    assert blocked["backend"] == "python"
    assert blocked["recs"] == normal["recs"]
    assert blocked["metrics"] == normal["metrics"]


def test_environment_variable_forces_fallback() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import recommender_systems as rs; print(rs.kernel_backend())"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "RECSYS_NO_EXTENSION": "1"},
    )
    assert out.stdout.strip() == "python"
