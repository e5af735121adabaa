"""Neural recommenders on PyTorch (the optional ``neural`` extra).

- :class:`TwoTowerCF`: one user and one item embedding table scored by their dot
  product, trained with Adam on a pairwise (BPR) loss over sampled negatives.
- :class:`MultVAE`: the multinomial variational autoencoder of Liang et al. (2018),
  with KL annealing; a user is encoded from their history, so fold-in is natural.

Both are ordinary :class:`~recommender_systems.base.Recommender` models
(registered as ``two-tower`` and ``mult-vae``): the batch path, filters, fold-in,
``similar_items``, model files (weights saved as arrays, never pickle or
``torch.save``), progress bars and epoch callbacks. Training runs on ``device``
(``"auto"``: CUDA when available, else CPU) with ``n_threads`` CPU threads;
recommending runs on NumPy, so a saved model serves without a GPU.

Install with ``pip install 'recommender-systems[neural]'``; the rest of the
library never imports PyTorch.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401  (checked here so the error names the extra)
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "recommender_systems.neural needs PyTorch, which is not installed: "
        "pip install 'recommender-systems[neural]'"
    ) from exc

from recommender_systems.neural.mult_vae import MultVAE
from recommender_systems.neural.two_tower import TwoTowerCF

__all__ = ["MultVAE", "TwoTowerCF"]
