"""Data-parallel training on Ray that equals single-process ``gl.train``.

Each of ``num_workers`` actors holds one shard of the data (put in Ray's object store
once) and computes ``value_and_grad`` on its minibatch of the step; the driver averages
the gradients (weighted by examples) and applies one optimizer step. Worker ``w``'s
minibatch at step ``s`` is ``minibatches(fold_in(key, w), shard_w, batch_size //
num_workers)(s)``; ``sharded_batches`` builds the same global batches for ``gl.train``,
so the two parameter trajectories agree to rounding (the test asks 1e-12 in float64).

The driver owns parameters and optimizer state, so a worker that dies is replaced and
asked again for the same step: no step is lost or applied twice. ``checkpoint_every``
saves parameters, optimizer state, step, data key and history atomically, and a new
``Trainer`` over the same path resumes from it bit for bit.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from .. import random as _random
from ..core.tree import tree_flatten, tree_unflatten
from ..optim.optimizers import global_norm
from ..training import DivergenceWarning, TrainResult, _divergence, _Progress, _record
from .cluster import ensure_initialized, ship
from .errors import WorkerError, raise_if_error
from .worker import GradWorker

MAX_RESTARTS_PER_STEP = 3


def _as_tuple(data):
    return data if isinstance(data, tuple) else (data,)


def _shards(arrays: tuple, num_workers: int) -> list[tuple]:
    """Contiguous, near-equal shards of every array (leading axis)."""
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"data arrays differ in length: {[len(a) for a in arrays]}")
    if n < num_workers:
        raise ValueError(f"{n} examples cannot be shared by {num_workers} workers")
    bounds = np.linspace(0, n, num_workers + 1).astype(int)
    return [tuple(np.asarray(a)[lo:hi] for a in arrays) for lo, hi in zip(bounds, bounds[1:])]


def _local_batch(batch_size, num_workers):
    if batch_size is None:
        return None
    if batch_size % num_workers:
        raise ValueError(f"batch_size {batch_size} must be a multiple of num_workers "
                         f"({num_workers}): each worker takes an equal part of every batch")
    return batch_size // num_workers


def sharded_batches(key, data, batch_size: int | None, num_workers: int):
    """``step -> global batch`` exactly as ``train`` builds it from ``num_workers`` shards.

    Passing it to ``gl.train`` gives the single-process run that the distributed one equals.

    >>> import numpy as np, gradlab as gl
    >>> data = sharded_batches(gl.random.key(0), (np.arange(8.0),), 4, num_workers=2)
    >>> X, = data(0)
    >>> X.shape, bool((X[:2] < 4).all() and (X[2:] >= 4).all())
    ((4,), True)
    """
    from ..training import minibatches

    shards = _shards(_as_tuple(data), num_workers)
    local = _local_batch(batch_size, num_workers)
    if local is None:
        per_worker = [lambda step, s=s: s for s in shards]
    else:
        per_worker = [minibatches(_random.fold_in(key, w), s, local)
                      for w, s in enumerate(shards)]

    def batch(step):
        parts = [f(step) for f in per_worker]
        return tuple(np.concatenate(cols) for cols in zip(*parts))

    return batch


def _split(batch, num_workers):
    return [tuple(part) for part in zip(*(np.array_split(np.asarray(a), num_workers)
                                          for a in _as_tuple(batch)))]


def _weighted_sum(trees, weights):
    flat = [tree_flatten(t) for t in trees]
    treedef = flat[0][1]
    leaves = []
    for column in zip(*(f[0] for f in flat)):
        if column[0] is None:
            leaves.append(None)
            continue
        acc = column[0] * weights[0]
        for leaf, w in zip(column[1:], weights[1:]):
            acc = acc + leaf * w
        leaves.append(acc)
    return tree_unflatten(treedef, leaves)


class Trainer:
    """Data-parallel training with a step you can drive (``run``) and workers you can see.

    ``data`` is a tuple of arrays (sharded over the workers once) or a function
    ``step -> batch`` (the driver then splits and sends each step's batch). See
    ``train`` for the other arguments.
    """

    def __init__(self, loss_fn, params, data, optimizer, *, num_workers: int = 2,
                 batch_size: int | None = None, key=None, opt_state=None,
                 checkpoint_every: int | None = None, checkpoint_path=None,
                 progress: bool = True, name: str | None = None, worker_options=None):
        self.ray = ensure_initialized()
        self.loss_fn, self.optimizer, self.num_workers = loss_fn, optimizer, num_workers
        self.key = _random.key(0) if key is None else np.asarray(key)
        self.params = params
        self.opt_state = optimizer.init(params) if opt_state is None else opt_state
        self.step, self.history, self.restarts = 0, {}, 0
        self.compute_seconds = 0.0  # the slowest worker's compute, summed over steps
        self.checkpoint_every, self.checkpoint_path = checkpoint_every, checkpoint_path
        if checkpoint_every and checkpoint_path is None:
            raise ValueError("checkpoint_every needs checkpoint_path (where to write)")
        self.progress, self.name = progress, name
        options = {"num_cpus": 1, "max_restarts": 0, **(worker_options or {})}
        self._actor = self.ray.remote(GradWorker).options(**options)
        self._data_fn = data if callable(data) else None
        self._local = _local_batch(batch_size, num_workers)
        shards = [None] * num_workers if callable(data) else _shards(_as_tuple(data),
                                                                     num_workers)
        self._shards = [None if s is None else self.ray.put(s) for s in shards]
        self._loss_ref = self.ray.put(ship(loss_fn))
        if checkpoint_path is not None and os.path.exists(checkpoint_path):
            self._resume()
        self.workers = [self._start(w) for w in range(num_workers)]

    def _start(self, w):
        return self._actor.remote(w, self._loss_ref, self._shards[w],
                            _random.fold_in(self.key, w), self._local)

    def _ask(self, w, params_ref, batches):
        return self.workers[w].grad.remote(params_ref, self.step, batches[w])

    def _gradients(self):
        """Every worker's answer for this step, replacing workers that died."""
        from ray.exceptions import RayActorError

        batches = ([None] * self.num_workers if self._data_fn is None
                   else _split(self._data_fn(self.step), self.num_workers))
        params_ref = self.ray.put(self.params)  # sent once per step, shared by the workers
        futures = [self._ask(w, params_ref, batches) for w in range(self.num_workers)]
        replies = []
        for w in range(self.num_workers):
            for attempt in range(MAX_RESTARTS_PER_STEP + 1):
                try:
                    replies.append(raise_if_error(self.ray.get(futures[w])))
                    break
                except RayActorError as exc:
                    if attempt == MAX_RESTARTS_PER_STEP:
                        raise WorkerError(f"worker {w} died {attempt + 1} times at step "
                                          f"{self.step}; giving up: {exc}") from exc
                    self.restarts += 1
                    warnings.warn(f"gradlab.distributed: worker {w} died at step {self.step}; "
                                  "replaced, and the step's gradient asked again",
                                  RuntimeWarning, stacklevel=3)
                    self.workers[w] = self._start(w)
                    futures[w] = self._ask(w, params_ref, batches)
        self.compute_seconds += max(r[5] for r in replies)
        counts = np.array([r[4] for r in replies], dtype=float)
        weights = list(counts / counts.sum())
        loss = float(sum(w * r[1] for w, r in zip(weights, replies)))
        grads = _weighted_sum([r[2] for r in replies], weights)
        metrics = {k: float(sum(w * r[3][k] for w, r in zip(weights, replies)))
                   for k in replies[0][3]}
        return loss, grads, metrics

    def run(self, steps: int, callback=None) -> TrainResult:
        """Train ``steps`` more steps; ``callback(trainer)`` runs after each one."""
        schedule = getattr(self.optimizer, "schedule", None)
        bar, stopped, done = _Progress(self.progress, steps, self.name), None, 0
        try:
            for i in range(steps):
                loss, grads, metrics = self._gradients()
                norm = global_norm(grads)
                if not (math.isfinite(loss) and math.isfinite(norm)):
                    stopped = _divergence(self.step, loss, norm)
                    warnings.warn(stopped, DivergenceWarning, stacklevel=2)
                    break
                at = int(self.opt_state.get("step", self.step))
                lr = float(schedule(at)) if schedule else math.nan
                self.params, self.opt_state = self.optimizer.update(grads, self.opt_state,
                                                                    self.params)
                _record(self.history, self.step, loss, lr, dict(metrics, grad_norm=norm))
                self.step += 1
                done += 1
                bar.update(i + 1, loss)
                if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                    self.save_checkpoint()
                if callback is not None:
                    callback(self)
        finally:
            bar.close()
        return TrainResult(self.params, self.opt_state, self.history, None, done, stopped)

    def save_checkpoint(self, path=None):
        """Write parameters, optimizer state, step, data key and history (atomically)."""
        from ..nn.params import save

        history = {k: np.asarray(v) for k, v in self.history.items()}
        save(path or self.checkpoint_path, params=self.params, opt_state=self.opt_state,
             step=np.int64(self.step), key=self.key, history=history)

    def _resume(self):
        from ..nn.params import load

        ck = load(self.checkpoint_path)
        self.params, self.opt_state = ck["params"], ck["opt_state"]
        self.step, self.key = int(ck["step"]), np.asarray(ck["key"])
        self.history = {k: np.asarray(v).tolist() for k, v in ck.get("history", {}).items()}

    def close(self):
        """Stop the workers."""
        for actor in self.workers:
            self.ray.kill(actor)
        self.workers = []


def train(loss_fn, params, data, steps: int, optimizer, *, num_workers: int = 2,
          batch_size: int | None = None, key=None, opt_state=None,
          checkpoint_every: int | None = None, checkpoint_path=None, progress: bool = True,
          name: str | None = None) -> TrainResult:
    """``gl.train`` on ``num_workers`` Ray workers: same loss, same result.

    - ``loss_fn(params, *batch)`` is a MEAN over the batch's examples (gradients are
      averaged across workers weighted by their examples), or ``(loss, metrics)``.
    - ``data``: a tuple of arrays, sharded once over the workers; ``batch_size`` (a
      multiple of ``num_workers``) draws minibatches as ``sharded_batches(key, ...)``,
      ``None`` trains on the full data every step. A function ``step -> batch`` also
      works (its batches are split and sent each step).
    - ``checkpoint_every=k`` with ``checkpoint_path`` saves every ``k`` steps; when that
      file exists, training resumes from it and runs until ``steps`` steps are done.

    With ``steps`` counted from the start of training, so a resumed run ends where an
    uninterrupted one would. Returns a ``TrainResult`` (``history`` as in ``gl.train``).
    """
    trainer = Trainer(loss_fn, params, data, optimizer, num_workers=num_workers,
                      batch_size=batch_size, key=key, opt_state=opt_state,
                      checkpoint_every=checkpoint_every, checkpoint_path=checkpoint_path,
                      progress=progress, name=name)
    try:
        result = trainer.run(max(0, steps - trainer.step))
        result.steps = trainer.step
        return result
    finally:
        trainer.close()
