"""recommender_systems: build, evaluate, save and serve recommenders.

Every model shares one API (``fit``, ``recommend``, ``recommend_batch``,
``score``, ...); hot loops run in Rust kernels, with NumPy fallbacks.

Example:
    >>> from recommender_systems import MostPopular, Interactions
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 20, 10]})
    >>> MostPopular().fit(df).recommend(2)
    [20]
"""

from importlib.metadata import PackageNotFoundError, version

from recommender_systems import datasets, features, metrics, split
from recommender_systems.als import ALS
from recommender_systems.auto import AutoRecommender
from recommender_systems.base import Recommender
from recommender_systems.baselines import MeanRating, MostPopular
from recommender_systems.bpr import BPR
from recommender_systems.content import ContentBased
from recommender_systems.data import (
    build_sparse_user_item_matrix,
    build_user_item_matrix,
    densest_subset,
    holdout_per_user,
    split_ratings,
)
from recommender_systems.datasets import load_movielens_100k
from recommender_systems.ease import EASE
from recommender_systems.errors import (
    DataError,
    InsufficientMemoryError,
    ModelFileError,
    NotFittedError,
    NotSupportedError,
    ParameterError,
    RecsysError,
    UnknownItemError,
    UnknownUserError,
)
from recommender_systems.evaluation import Evaluation, evaluate
from recommender_systems.features import text_features
from recommender_systems.hybrid import HybridBook, HybridRecommender
from recommender_systems.idmap import IdMap
from recommender_systems.interactions import Interactions
from recommender_systems.item_index import ItemIndex
from recommender_systems.kernels import backend as kernel_backend
from recommender_systems.matrix_factorization import MatrixFactorization
from recommender_systems.metrics import (
    average_precision_at_k,
    catalog_coverage,
    hit_rate_at_k,
    map_at_k,
    mean_average_precision,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    serendipity_at_k,
)
from recommender_systems.neighborhood import ItemKNN, RP3beta, UserKNN
from recommender_systems.persistence import load, read_info, save
from recommender_systems.progress import Epoch, show_progress
from recommender_systems.recommendations import Recommendations
from recommender_systems.registry import algorithms, create, get_algorithm
from recommender_systems.svd import SVD
from recommender_systems.synthetic import generate_interactions
from recommender_systems.validation import ValidationSplit, validation_split
from recommender_systems.values import ValueWeights

try:
    __version__ = version("recommender-systems")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ALS",
    "BPR",
    "EASE",
    "SVD",
    "AutoRecommender",
    "ContentBased",
    "DataError",
    "Epoch",
    "Evaluation",
    "HybridBook",
    "HybridRecommender",
    "IdMap",
    "InsufficientMemoryError",
    "Interactions",
    "ItemIndex",
    "ItemKNN",
    "MatrixFactorization",
    "MeanRating",
    "ModelFileError",
    "MostPopular",
    "NotFittedError",
    "NotSupportedError",
    "ParameterError",
    "RP3beta",
    "Recommendations",
    "Recommender",
    "RecsysError",
    "UnknownItemError",
    "UnknownUserError",
    "UserKNN",
    "ValidationSplit",
    "ValueWeights",
    "__version__",
    "algorithms",
    "average_precision_at_k",
    "build_sparse_user_item_matrix",
    "build_user_item_matrix",
    "catalog_coverage",
    "create",
    "datasets",
    "densest_subset",
    "evaluate",
    "features",
    "generate_interactions",
    "get_algorithm",
    "hit_rate_at_k",
    "holdout_per_user",
    "kernel_backend",
    "load",
    "load_movielens_100k",
    "map_at_k",
    "mean_average_precision",
    "metrics",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "read_info",
    "recall_at_k",
    "save",
    "serendipity_at_k",
    "show_progress",
    "split",
    "split_ratings",
    "text_features",
    "validation_split",
]
