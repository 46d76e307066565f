"""The Ray actor of data-parallel training: one shard of the data, one objective."""

from __future__ import annotations

import os
import time

import numpy as np

from .errors import capture


def batch_length(batch) -> int:
    """The number of examples in a batch (the leading axis of its first array)."""
    first = batch[0] if isinstance(batch, tuple) else batch
    return int(np.shape(first)[0]) if np.ndim(first) else 1


class GradWorker:
    """Holds its shard (sent once, through Ray's object store) and answers
    ``grad(params, step)`` with ``("ok", loss, grads, metrics, n_examples, seconds)``
    (``seconds``: the time spent computing, for the overhead measurement)."""

    def __init__(self, index: int, loss_fn, shard, key, local_batch: int | None):
        from ..intercept import instrument
        from ..training import _objective, minibatches
        from ..transforms.reverse import value_and_grad

        self.index = index
        self.objective = value_and_grad(_objective(instrument(loss_fn), False), has_aux=True)
        if shard is None:  # the driver sends each step's batch
            self.batch_of = None
        elif local_batch is None:  # full-batch training: the whole shard every step
            self.batch_of = lambda step: shard
        else:
            self.batch_of = minibatches(key, shard, local_batch)

    def grad(self, params, step: int, batch=None):
        start = time.perf_counter()
        try:
            if batch is None:
                batch = self.batch_of(step)
            (loss, (_, metrics)), grads = self.objective(params, None, batch)
            metrics = {k: float(np.asarray(v)) for k, v in metrics.items()}
            return ("ok", float(loss), grads, metrics, batch_length(batch),
                    time.perf_counter() - start)
        except Exception as exc:  # sent back with the user's traceback (errors.py)
            return capture(exc, f"worker {self.index} at step {step}")

    def pid(self) -> int:
        return os.getpid()
