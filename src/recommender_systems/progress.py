"""Progress bars and per-epoch callbacks for long training loops.

Iterative models loop over :meth:`Training.epochs`; ``fit(progress=..., callback=...)``
decides whether a tqdm bar is shown and who hears about each epoch. Bars are off by
default; :func:`show_progress` turns them on for a block of code (the ``recsys``
command does this for ``fit``).

Examples:
    >>> seen = []
    >>> training = Training(progress=False, callback=seen.append)
    >>> for epoch in training.epochs(2, "demo"):
    ...     epoch.loss = 1.0 / epoch.number
    >>> losses = [(e.number, e.loss) for e in seen]
    >>> losses
    [(1, 1.0), (2, 0.5)]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

if TYPE_CHECKING:  # models sit above this module: no import at run time
    from recommender_systems.base import Recommender

_SHOW: ContextVar[bool] = ContextVar("recommender_systems_progress", default=False)


@contextmanager
def show_progress(enabled: bool = True) -> Iterator[None]:
    """Shows (or hides) training progress bars inside the ``with`` block."""
    token = _SHOW.set(enabled)
    try:
        yield
    finally:
        _SHOW.reset(token)


@dataclass
class Epoch:
    """One training epoch, as a callback sees it after the epoch ends.

    ``model`` is the model being fitted when its state is current at the end of
    each epoch (ALS, BPR): a callback can then score it, e.g. on a validation
    split, and stop a hopeless fit by raising (the tuner's pruning does this).
    It is ``None`` for models whose state is only set when training ends.
    """

    number: int  # 1-based
    total: int
    loss: float | None = None
    seconds: float = 0.0
    model: Recommender | None = field(default=None, repr=False)


EpochCallback = Callable[[Epoch], object]


class Training:
    """What ``fit`` was asked to do about progress: a bar, a callback, both or neither."""

    def __init__(self, progress: bool | None = None, callback: EpochCallback | None = None):
        self.progress = _SHOW.get() if progress is None else progress
        self.callback = callback

    def epochs(self, total: int, desc: str, model: Recommender | None = None) -> Iterator[Epoch]:
        """Yields ``total`` epochs; set ``epoch.loss`` in the loop body to report it.
        ``model``, when given, is handed to the callback with each epoch (its state
        must then be current at the end of every epoch)."""
        with tqdm(total=total, desc=desc, disable=not self.progress, leave=False) as bar:
            for number in range(1, total + 1):
                epoch = Epoch(number=number, total=total, model=model)
                start = time.perf_counter()
                yield epoch
                epoch.seconds = time.perf_counter() - start
                if epoch.loss is not None:
                    bar.set_postfix(loss=f"{epoch.loss:.4g}", refresh=False)
                bar.update()
                if self.callback is not None:
                    self.callback(epoch)
