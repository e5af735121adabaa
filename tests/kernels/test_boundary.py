"""The Rust boundary holds: huge or empty arguments, memory limits and thread counts.

Each reproducer of issue 11 (items 2 and 8) is here: before, the first three
raised ``PanicException`` (a ``BaseException``), the allocation aborted the
process, and every distinct ``n_threads`` left a pool of threads alive.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import recommender_systems as rs
from recommender_systems.errors import InsufficientMemoryError, ParameterError
from recommender_systems.hyperparameters import MAX_THREADS
from recommender_systems.kernels import _loader, sparse_topk_product_reference, topk_reference
from recommender_systems.kernels.als import gram_reference

ext = _loader.extension
needs_ext = pytest.mark.skipif(not _loader.RUST, reason="Rust extension not built")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(scope="module")
def interactions() -> Any:
    return rs.generate_interactions(60, 45, 900, random_state=3)


@pytest.mark.parametrize("name", ["item-knn", "user-knn", "rp3beta"])
@pytest.mark.parametrize("huge", [2**62, 2**100])
def test_neighbour_counts_beyond_the_catalogue_keep_every_neighbour(
    interactions: Any, name: str, huge: int
) -> None:
    # 2**62 made `4 * k` overflow in the kernel ("index out of bounds").
    everything = rs.create(name, n_neighbors=huge).fit(interactions)
    catalogue = rs.create(name, n_neighbors=10_000).fit(interactions)
    attribute = "neighbours_" if name == "user-knn" else "similarity_"
    got, want = getattr(everything, attribute), getattr(catalogue, attribute)
    assert got.nnz == want.nnz > 0
    assert (got != want).nnz == 0
    user = interactions["user_id"].iloc[0]
    assert everything.recommend(user, 5) == catalogue.recommend(user, 5)


@needs_ext
@pytest.mark.parametrize("shape", [(10, 0), (0, 0), (0, 7)])
def test_gram_of_an_empty_matrix_matches_the_reference(shape: tuple[int, int]) -> None:
    # (10, 0) panicked: "chunk size must be non-zero".
    factors = np.zeros(shape, np.float32)
    got = ext.gram(factors)
    want = gram_reference(factors)
    assert got.shape == want.shape == (shape[1], shape[1])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


@needs_ext
def test_a_gram_matrix_beyond_memory_is_refused_before_allocating() -> None:
    # No rows and 2**20 columns: a (2**20, 2**20) result, 4 TiB.
    with pytest.raises(InsufficientMemoryError, match="factors: the 1048576 x 1048576 Gram"):
        ext.gram(np.zeros((0, 2**20), np.float32))
    args = _als_args(n_factors=2**17, rows=0)
    with pytest.raises(InsufficientMemoryError, match="factors: solving for 131072 factors"):
        ext.als_solve(**args)


def _als_args(n_factors: int, rows: int) -> dict[str, Any]:
    return {
        "indptr": np.zeros(rows + 1, np.int64),
        "indices": np.zeros(0, np.int32),
        "data": np.zeros(0, np.float32),
        "fixed_factors": np.zeros((0, n_factors), np.float32),
        "factors": np.zeros((rows, n_factors), np.float32),
        "regularization": np.zeros(rows, np.float32),
        "alpha": 1.0,
    }


@needs_ext
def test_a_huge_column_count_costs_only_the_columns_used() -> None:
    # n_cols = 2**31 - 1 allocated an 8 GiB accumulator per thread (and aborted
    # where that failed); only the columns b uses need one now.
    a = sp.csr_matrix(np.array([[1.0], [2.0]], np.float32))
    b = sp.csr_matrix((np.array([3.0], np.float32), ([0], [5])), shape=(1, 2**31 - 1))
    got = ext.sparse_topk_product(*_csr(a), *_csr(b), 2**31 - 1, 10, n_threads=2)
    want = sparse_topk_product_reference(a, b[:, :6], 10)
    np.testing.assert_array_equal(got[0], want.indptr)
    np.testing.assert_array_equal(got[1], want.indices)
    np.testing.assert_array_equal(got[2], want.data)


def _csr(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(np.float32)


# Runs in a child with its address space capped 1 GiB above what it uses, so an
# allocation the machine could satisfy still fails: the abort (exit 134) it gave
# before cannot take the test runner down.
MEMORY_CAPPED = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from recommender_systems import _kernels
    from recommender_systems.errors import InsufficientMemoryError

    status = open("/proc/self/status").read()
    used = int(status.split("VmSize:")[1].split()[0]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (used + (1 << 30), resource.RLIM_INFINITY))
    one = np.ones(1, np.float32)
    indptr, first = np.array([0, 1], np.int64), np.array([0], np.int32)
    last = np.array([2**31 - 2], np.int32)
    out = _kernels.sparse_topk_product(indptr, first, one, indptr, first, one, 2**31 - 1, 10)
    print("small", out[1].tolist())
    try:
        _kernels.sparse_topk_product(indptr, first, one, indptr, last, one, 2**31 - 1, 10)
    except InsufficientMemoryError as exc:
        print("refused", exc)
    """
)


@needs_ext
@linux
def test_an_allocation_the_system_refuses_is_a_typed_error() -> None:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CAPPED], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "small [0]"
    assert lines[1].startswith("refused n_cols: could not allocate 2147483647 values")


@needs_ext
@pytest.mark.parametrize("n_threads", [MAX_THREADS + 1, 2**64, -1, 2.0, "4", True])
def test_thread_counts_outside_the_bound_are_refused(n_threads: object) -> None:
    scores = np.ones((2, 3), np.float32)
    with pytest.raises(ParameterError, match=r"^n_threads: expected an integer"):
        ext.topk(scores, 1, n_threads=n_threads)  # type: ignore[arg-type]


@needs_ext
def test_thread_counts_above_the_cores_give_the_same_result() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 50, size=(300, 1000)).astype(np.float32)
    want = topk_reference(scores, 7)
    for n_threads in (1, 2, 3, 64, MAX_THREADS):
        got = ext.topk(scores, 7, n_threads=n_threads)
        np.testing.assert_array_equal(got[0], want[0])


# Every distinct n_threads built a pool that lived as long as the process.
THREAD_SWEEP = textwrap.dedent(
    """
    import os
    import numpy as np
    from recommender_systems import _kernels

    def alive():
        return len(os.listdir("/proc/self/task"))

    rng = np.random.default_rng(0)
    scores = rng.random((400, 3000), dtype=np.float32)
    factors = rng.random((5000, 8), dtype=np.float32)
    before = alive()
    for n_threads in list(range(1, 41)) + [0, 1024, 1, 0]:
        _kernels.topk(scores, 10, n_threads=n_threads)
        _kernels.gram(factors, n_threads=n_threads)
    print(before, alive(), os.cpu_count(), len(os.sched_getaffinity(0)))
    """
)


@needs_ext
@linux
def test_thread_pools_do_not_accumulate() -> None:
    out = subprocess.run(
        [sys.executable, "-c", THREAD_SWEEP], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    before, after, _, usable = map(int, out.stdout.split())
    # The global pool (one thread per usable core) and at most one smaller pool.
    assert after - before <= 2 * usable, out.stdout
