"""The kernel bindings under generated bad input: a typed error or the reference's result.

See ``tests/kernels/fuzzing.py`` for what is generated. The run here is bounded
(``RECSYS_FUZZ_EXAMPLES`` calls per binding, 200 by default: about a minute in
all); ``python -m benchmarks.fuzz_kernels`` runs longer and counts the outcomes.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from recommender_systems.kernels import _loader
from tests.kernels.fuzzing import BINDINGS, Args, calls, check

EXAMPLES = int(os.environ.get("RECSYS_FUZZ_EXAMPLES", "200"))

pytestmark = pytest.mark.skipif(not _loader.RUST, reason="Rust extension not built")


@pytest.mark.parametrize("name", sorted(BINDINGS))
def test_binding_gives_a_typed_error_or_the_reference_result(name: str) -> None:
    binding = BINDINGS[name]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(calls(binding))
    def run(args: Args) -> None:
        check(binding, args)

    run()
