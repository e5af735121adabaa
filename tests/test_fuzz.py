"""The permanent fuzz suite (issue 11): every registered model's public methods with
generated bad arguments and data, and mutated model files. Each case must end in a
typed error from ``recommender_systems.errors`` or a correct result (see
``tests/fuzzing.py``). A few dozen examples per model here, a few minutes in all;
``python -m benchmarks.robustness`` runs many more and counts the outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender_systems import Interactions, Recommender
from tests import fuzzing

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,  # CI sees the same cases on every run; the benchmark explores
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def data() -> Interactions:
    return fuzzing.training_data()


@pytest.fixture(scope="module")
def models(data: Interactions) -> dict[str, Recommender]:
    return {name: fuzzing.make(name).fit(data) for name in fuzzing.NAMES}


@pytest.fixture(scope="module")
def files(data: Interactions, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return fuzzing.saved_models(tmp_path_factory.mktemp("fuzz"), data)


@pytest.mark.parametrize("name", fuzzing.NAMES)
def test_query_methods(name: str, models: dict[str, Recommender], data: Interactions) -> None:
    model = models[name]
    users = data.user_ids.ids[:10].tolist()
    items = data.item_ids.ids[:10].tolist()

    @FUZZ
    @given(call=fuzzing.calls(users, items))
    def case(call: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
        fuzzing.run_call(model, data, *call)

    case()


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n == "auto" else n for n in fuzzing.NAMES],
)
def test_fit_on_generated_data(name: str) -> None:
    @settings(FUZZ, max_examples=25)
    @given(columns=fuzzing.frames())
    def case(columns: dict[str, Any]) -> None:
        fuzzing.run_fit(name, columns)

    case()


@pytest.mark.parametrize("name", fuzzing.NAMES)
def test_mutated_model_files(
    name: str, files: dict[str, Path], data: Interactions, tmp_path: Path
) -> None:
    @settings(FUZZ, max_examples=30)
    @given(mutation=fuzzing.header_mutations(), flip=st.integers(min_value=0, max_value=10**6))
    def case(mutation: tuple[list[int], Any], flip: int) -> None:
        out = tmp_path / "mutated.recsys"
        if fuzzing.mutate_header(files[name], mutation[0], mutation[1], out):
            fuzzing.run_file(out, data)
        fuzzing.flip_byte(files[name], flip, out)
        assert fuzzing.run_file(out, data) == "typed_error"  # checksums catch every flip

    case()
