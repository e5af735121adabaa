"""Past one machine: fitting, batch scoring and evaluation on a Ray cluster.

An optional part of the library (``pip install "recommender-systems[distributed]"``);
the rest of the library never imports it, nor Ray. It reuses the single-machine
pieces: the same Rust kernels solve blocks of rows inside Ray tasks, the same model
classes come out (a distributed fit gives the same model as a local one, to float
tolerance), batch scoring and evaluation call the models' own batch path and the
same metric functions. Ray schedules everything; there is no scheduler here.

- :func:`read_interactions`: a Parquet dataset (folder, glob or list of files, on
  any filesystem pyarrow or Ray reads) into user blocks and item blocks (CSR) held
  in the Ray object store, with id maps built by a distributed distinct + sort.
- :func:`fit`: :class:`~recommender_systems.als.ALS`,
  :class:`~recommender_systems.neighborhood.ItemKNN` and
  :class:`~recommender_systems.neighborhood.RP3beta` on those blocks.
- :func:`recommend_all`: top-n for every user (or the users of a Parquet dataset)
  of any saved model, written as a Parquet dataset.
- :func:`evaluate`: the metrics of :func:`recommender_systems.evaluate`, per user
  block, then reduced.
- :func:`ray_session`: connect to a cluster, or start (and stop) a local Ray.
"""

from __future__ import annotations

INSTALL_COMMAND = 'pip install "recommender-systems[distributed]"'

try:
    import ray  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        f"recommender_systems.distributed needs Ray: install it with {INSTALL_COMMAND}"
    ) from exc

from recommender_systems.distributed._session import ray_session  # noqa: E402
from recommender_systems.distributed.data import (  # noqa: E402
    Blocks,
    DistributedInteractions,
    read_interactions,
)
from recommender_systems.distributed.evaluation import evaluate  # noqa: E402
from recommender_systems.distributed.fitting import SUPPORTED_MODELS, fit  # noqa: E402
from recommender_systems.distributed.scoring import recommend_all  # noqa: E402

__all__ = [
    "INSTALL_COMMAND",
    "SUPPORTED_MODELS",
    "Blocks",
    "DistributedInteractions",
    "evaluate",
    "fit",
    "ray_session",
    "read_interactions",
    "recommend_all",
]
