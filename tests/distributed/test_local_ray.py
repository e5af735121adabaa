"""The distributed mode on a local Ray with 2 CPUs: the same data, models, lists
and metrics as the single-process library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from recommender_systems import (  # noqa: E402
    ALS,
    BPR,
    EASE,
    SVD,
    Interactions,
    ItemKNN,
    MeanRating,
    MostPopular,
    RP3beta,
    UserKNN,
    generate_interactions,
    load,
)
from recommender_systems import distributed as dist  # noqa: E402
from recommender_systems.base import Recommender  # noqa: E402
from recommender_systems.errors import DataError, NotSupportedError  # noqa: E402
from recommender_systems.evaluation import ALL_METRICS, evaluate  # noqa: E402
from tests.conftest import requires_ml100k  # noqa: E402
from tests.distributed.helpers import (  # noqa: E402
    assert_same_csr,
    top_lists_agreement,
    write_parquet_dataset,
)


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(
        address="local",
        num_cpus=2,
        object_store_memory=256 * 2**20,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    """Explicit ratings with a few repeated (user, item) rows, string user ids."""
    frame = generate_interactions(300, 150, 6_000, random_state=5, ratings=True)
    frame["user_id"] = "u" + frame["user_id"].astype(str)
    return pd.concat([frame, frame.iloc[::97].assign(rating=1.0)], ignore_index=True)


@pytest.fixture(scope="module")
def log_dir(log: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parquet_dataset(log, tmp_path_factory.mktemp("log"))


@pytest.fixture(scope="module")
def blocks(log_dir: Path) -> dist.DistributedInteractions:
    return dist.read_interactions(log_dir, n_blocks=3)


# ------------------------------------------------------------------------- data
def test_blocks_hold_the_same_interactions_as_from_frame(
    log: pd.DataFrame, blocks: dist.DistributedInteractions
) -> None:
    expected = Interactions.from_frame(log)
    assert blocks.user_ids == expected.user_ids
    assert blocks.item_ids == expected.item_ids
    assert blocks.nnz == expected.nnz < len(log)  # duplicates merged (mean of ratings)
    assert blocks.feedback == "explicit"
    assert len(blocks.users) == 3
    assert_same_csr(blocks.to_interactions().matrix, expected.matrix)
    assert_same_csr(blocks.item_blocks().gather(), expected.matrix.T.tocsr())


def test_blocks_balance_the_interactions(blocks: dist.DistributedInteractions) -> None:
    sizes = [int(b.nnz) for b in ray.get(list(blocks.users.refs))]
    assert sum(sizes) == blocks.nnz
    assert max(sizes) < 1.5 * blocks.nnz / len(sizes)


def test_a_glob_and_implicit_counts(log: pd.DataFrame, log_dir: Path) -> None:
    read = dist.read_interactions(str(log_dir / "part-*.parquet"), rating_col=None, n_blocks=2)
    expected = Interactions.from_frame(log.drop(columns="rating"))
    assert read.feedback == "implicit"
    assert_same_csr(read.to_interactions().matrix, expected.matrix)  # repeats summed


def test_bad_input_is_a_data_error(log: pd.DataFrame, tmp_path: Path) -> None:
    folder = write_parquet_dataset(log.rename(columns={"item_id": "movie"}), tmp_path / "bad")
    with pytest.raises(DataError, match="missing column 'item_id'"):
        dist.read_interactions(folder)
    with pytest.raises(DataError, match="could not read"):
        dist.read_interactions(tmp_path / "nowhere")


# ---------------------------------------------------------------------- models
@pytest.mark.parametrize(
    "params",
    [
        {"n_factors": 16, "epochs": 4, "random_state": 0},
        {
            "n_factors": 8,
            "epochs": 2,
            "solver": "cholesky",
            "reg_exponent": 0.0,
            "alpha": 3.0,
            "random_state": 7,
        },
    ],
    ids=["cg", "cholesky"],
)
def test_als_gives_the_local_factors(
    params: dict[str, object], log: pd.DataFrame, blocks: dist.DistributedInteractions
) -> None:
    local = ALS(**params).fit(log)  # type: ignore[arg-type]
    epochs: list[object] = []
    remote = dist.fit(ALS(**params), blocks, callback=epochs.append)  # type: ignore[arg-type]
    assert len(epochs) == params["epochs"]
    np.testing.assert_allclose(remote.user_factors_, local.user_factors_, atol=1e-6)
    np.testing.assert_allclose(remote.item_factors_, local.item_factors_, atol=1e-6)
    np.testing.assert_allclose(remote.item_gram_, local.item_gram_, rtol=1e-5)
    assert_same_csr(remote.user_items_, local.user_items_)
    np.testing.assert_array_equal(remote.item_popularity_, local.item_popularity_)
    assert top_lists_agreement(remote, local) == 1.0


def test_distributed_als_is_an_ordinary_model(
    log: pd.DataFrame, blocks: dist.DistributedInteractions, tmp_path: Path
) -> None:
    model = dist.fit(ALS(n_factors=8, epochs=3, random_state=1), blocks)
    loaded = load(model.save(tmp_path / "als.recsys"))
    user = model.user_ids_.ids[0]
    assert loaded.recommend(user) == model.recommend(user)
    history = log["item_id"].iloc[:5].tolist()
    assert loaded.recommend_from_history(history) == model.recommend_from_history(history)
    assert len(model.explain(user, model.recommend(user)[0])) > 0


@pytest.mark.parametrize("similarity", ["bm25", "cosine", "jaccard", "tfidf"])
def test_item_knn_gives_the_local_neighbours(
    similarity: str, log: pd.DataFrame, blocks: dist.DistributedInteractions
) -> None:
    params = {"n_neighbors": 20, "similarity": similarity}
    if similarity != "bm25":
        params["shrink"] = 2.0
    local = ItemKNN(**params).fit(log)  # type: ignore[arg-type]
    remote = dist.fit(ItemKNN(**params), blocks)  # type: ignore[arg-type]
    assert_same_csr(remote.similarity_, local.similarity_)
    assert top_lists_agreement(remote, local) == 1.0


def test_rp3beta_gives_the_local_neighbours(
    log: pd.DataFrame, blocks: dist.DistributedInteractions
) -> None:
    local = RP3beta(n_neighbors=30, alpha=0.7, beta=0.4).fit(log)
    remote = dist.fit(RP3beta(n_neighbors=30, alpha=0.7, beta=0.4), blocks)
    assert_same_csr(remote.similarity_, local.similarity_)
    assert top_lists_agreement(remote, local) == 1.0


def test_other_models_are_refused_with_a_way_out(blocks: dist.DistributedInteractions) -> None:
    with pytest.raises(NotSupportedError, match="fit it on one machine"):
        dist.fit(EASE(), blocks)


def test_a_failed_distributed_fit_leaves_the_model_alone(
    blocks: dist.DistributedInteractions,
) -> None:
    model = ALS(n_factors=4, epochs=1)
    model.alpha = -1.0
    with pytest.raises(Exception, match="alpha"):
        dist.fit(model, blocks)
    assert not model.is_fitted


# --------------------------------------------------------------- batch scoring
FITTED: list[Recommender] = [
    ALS(n_factors=8, epochs=2, random_state=0),
    BPR(n_factors=8, epochs=2, random_state=0),
    SVD(n_factors=8),
    EASE(),
    ItemKNN(n_neighbors=20),
    UserKNN(n_neighbors=20),
    RP3beta(n_neighbors=20),
    MostPopular(),
    MeanRating(),
]


@pytest.mark.parametrize("model", FITTED, ids=lambda m: type(m).__name__)
def test_recommend_all_writes_the_batch_lists(
    model: Recommender, log: pd.DataFrame, tmp_path: Path
) -> None:
    path = model.fit(log).save(tmp_path / "model.recsys")
    dist.recommend_all(path, str(tmp_path / "out"), n=5, block_size=70, n_workers=1)
    written = pd.read_parquet(tmp_path / "out").sort_values(["user_id", "rank"])
    expected = model.recommend_batch(model.user_ids_.ids, 5).to_frame()
    assert list(written.columns) == ["user_id", "rank", "item_id", "score"]
    pd.testing.assert_frame_equal(
        written.reset_index(drop=True),
        expected.sort_values(["user_id", "rank"]).reset_index(drop=True),
        check_dtype=False,
    )


def test_recommend_all_for_the_users_of_a_dataset(log: pd.DataFrame, tmp_path: Path) -> None:
    model = ItemKNN(n_neighbors=20).fit(log)
    path = model.save(tmp_path / "knn.recsys")
    users = pd.DataFrame({"user_id": ["u1", "u2", "u1", "nobody"]})
    users_dir = write_parquet_dataset(users, tmp_path / "users", n_files=2)
    rows = dist.recommend_all(path, str(tmp_path / "out"), n=3, users=str(users_dir))
    written = pd.read_parquet(tmp_path / "out")
    assert rows == len(written) == 6  # each user once; an unknown user gets no rows
    expected = model.recommend_batch(["u1", "u2"], 3).to_frame()
    pd.testing.assert_frame_equal(written.reset_index(drop=True), expected)


# ------------------------------------------------------------------ evaluation
@pytest.mark.slow
def test_evaluate_gives_the_local_numbers(log: pd.DataFrame, tmp_path: Path) -> None:
    train, test = log.iloc[::2], log.iloc[1::2]
    test = pd.concat(
        [test, pd.DataFrame({"user_id": ["new"], "item_id": [9_999], "rating": [4.0]})]
    )
    model = ItemKNN(n_neighbors=20).fit(train)
    path = model.save(tmp_path / "knn.recsys")
    test_dir = write_parquet_dataset(test, tmp_path / "test")
    local = evaluate(model, None, test, k=10, metrics=ALL_METRICS)
    remote = dist.evaluate(path, test_dir, k=10, metrics=ALL_METRICS, n_blocks=4)
    assert remote.n_users == local.n_users
    assert list(remote) == list(local)
    for name, value in local.items():
        assert remote[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
    threshold = dist.evaluate(path, test_dir, k=5, metrics=["ndcg"], relevance_threshold=4.0)
    expected = evaluate(model, None, test, k=5, metrics=["ndcg"], relevance_threshold=4.0)
    assert threshold["ndcg@5"] == pytest.approx(expected["ndcg@5"], rel=1e-12)
    assert threshold.n_users == expected.n_users < local.n_users


# ------------------------------------------------------------- MovieLens 100k
@requires_ml100k
def test_als_on_movielens_matches_the_local_fit(ml100k: pd.DataFrame, tmp_path: Path) -> None:
    folder = write_parquet_dataset(ml100k, tmp_path / "ml100k", n_files=4)
    local = ALS(random_state=0).fit(ml100k)
    remote = dist.fit(ALS(random_state=0), dist.read_interactions(folder))
    assert np.abs(remote.user_factors_ - local.user_factors_).max() <= 1e-5
    assert np.abs(remote.item_factors_ - local.item_factors_).max() <= 1e-5
    assert top_lists_agreement(remote, local) >= 0.99
