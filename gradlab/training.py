"""``train(loss_fn, params, data, steps, optimizer)``: the loop everybody writes, once.

Each step draws a batch, takes ``value_and_grad`` of the loss, and applies the
optimizer. It keeps a metrics history, shows a progress bar (tqdm when installed,
plain prints otherwise), stops early with a clear message when the loss or the
gradient stops being finite, and can plot the loss curve (matplotlib, optional).

>>> import numpy as np, gradlab as gl
>>> X = np.random.default_rng(0).normal(size=(64, 3))
>>> y = X @ np.array([1.0, -2.0, 0.5])
>>> def loss(p, X, y):
...     return np.mean((X @ p["w"] - y) ** 2)
>>> result = gl.train(loss, {"w": np.zeros(3)}, (X, y), steps=300,
...                   optimizer=gl.optim.Adam(0.05), progress=False)
>>> np.round(result.params["w"], 2).tolist(), result.history["loss"][-1] < 1e-4
([1.0, -2.0, 0.5], True)
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import random as _random
from ._types import Array, Key, PyTree
from .intercept import instrument
from .nn.params import resolve
from .optim.optimizers import global_norm
from .transforms.reverse import value_and_grad

if TYPE_CHECKING:
    from .optim.optimizers import Optimizer


__all__ = ["train", "TrainResult", "minibatches", "plot_history", "DivergenceWarning"]


_NO_CONTEXT = contextlib.nullcontext()


class DivergenceWarning(RuntimeWarning):
    """The loss or the gradient became NaN or infinite; training stopped."""


@dataclass
class TrainResult:
    """What ``train`` returns: final parameters, optimizer (and model) state, history."""

    params: Any
    opt_state: dict
    history: dict = field(default_factory=dict)
    state: Any = None
    steps: int = 0
    stopped_early: str | None = None

    def plot(self, path: str | os.PathLike | None = None, ax: Any | None = None) -> Any:
        """The loss curve (see ``plot_history``)."""
        return plot_history(self.history, path=path, ax=ax)


def minibatches(key: Key, arrays: Sequence[Array], batch_size: int,
                drop_last: bool = True) -> Callable:
    """``data(step)`` for ``train``: shuffled minibatches of ``arrays``, epoch after epoch.

    Epoch ``e`` uses the permutation ``gradlab.random.permutation(fold_in(key, e), n)``,
    so the batch of any step is a pure function of the key and the step (resuming from
    a checkpoint sees the same batches).

    >>> import numpy as np, gradlab as gl
    >>> data = minibatches(gl.random.key(0), (np.arange(10), np.arange(10) * 2), 4)
    >>> X, Y = data(0)
    >>> X.shape, bool((Y == 2 * X).all())
    ((4,), True)
    """
    arrays = tuple(np.asarray(a) for a in (arrays if isinstance(arrays, (tuple, list))
                                            else (arrays,)))
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"minibatches: arrays differ in length: {[len(a) for a in arrays]}")
    per_epoch = n // batch_size if drop_last else -(-n // batch_size)
    if per_epoch < 1:
        raise ValueError(f"minibatches: batch_size {batch_size} exceeds the {n} examples")
    cache: dict = {}

    def data(step: int):
        epoch, i = divmod(int(step), per_epoch)
        if epoch not in cache:
            cache.clear()  # one epoch's permutation at a time
            cache[epoch] = _random.permutation(_random.fold_in(key, epoch), n)
        idx = cache[epoch][i * batch_size:(i + 1) * batch_size]
        return tuple(a[idx] for a in arrays)

    data.steps_per_epoch = per_epoch  # type: ignore[attr-defined]
    return data


def _batches(data):
    """A function ``step -> batch`` from a callable, a fixed batch or an iterable."""
    if callable(data):
        return data
    if isinstance(data, (tuple, dict, np.ndarray)):  # one fixed batch (a list iterates)
        return lambda step: data
    iterator = iter(data)
    return lambda step: next(iterator)


def _call(loss_fn, params, state, batch, with_state):
    args = batch if isinstance(batch, tuple) else (batch,)
    if with_state:
        return loss_fn(params, state, *args)
    return loss_fn(params, *args)


def _objective(loss_fn, with_state):
    """``(params, state, batch) -> (loss, (new_state, metrics))`` from the user's loss."""

    def objective(params, state, batch):
        out = _call(loss_fn, resolve(params), state, batch, with_state)
        if with_state:
            if not isinstance(out, tuple) or len(out) not in (2, 3):
                raise TypeError("with state=..., loss_fn(params, state, *batch) must return "
                                "(loss, new_state) or (loss, new_state, metrics)")
            return out[0], (out[1], out[2] if len(out) == 3 else {})
        if isinstance(out, tuple):
            if len(out) != 2 or not isinstance(out[1], dict):
                raise TypeError("loss_fn must return a scalar loss or (loss, metrics dict)")
            return out[0], (None, out[1])
        return out, (None, {})

    return objective


class _Progress:
    """A tqdm bar when tqdm is installed (and wanted), else a line every tenth of the run."""

    def __init__(self, enabled, total, name):
        self.bar, self.enabled, self.total, self.name = None, enabled, total, name
        if enabled:
            try:
                from tqdm import tqdm  # plain text bar: tqdm.auto warns without ipywidgets
            except ImportError:
                return
            self.bar = tqdm(total=total, desc=name or "train", file=sys.stderr)

    def update(self, step, loss):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        elif self.enabled and (step % max(1, self.total // 10) == 0 or step == self.total):
            print(f"{self.name or 'train'}: step {step}/{self.total}  loss {loss:.4g}", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _record(history, step, loss, lr, metrics):
    history.setdefault("step", []).append(step)
    history.setdefault("loss", []).append(loss)
    history.setdefault("lr", []).append(lr)
    for k, v in metrics.items():
        history.setdefault(k, []).append(float(np.asarray(v)))


def _divergence(step, loss, norm):
    what = f"the loss became {loss}" if not math.isfinite(loss) else (
        f"the gradient norm became {norm}")
    return (f"train stopped early at step {step}: {what}. The returned parameters are those "
            "from before that step. Try a smaller learning rate, gradient clipping "
            "(e.g. Adam(..., clip_norm=1.0)), or look for NaN/inf in the data or the loss "
            "(log of 0, division by 0, exp overflow).")


def _mixed_precision(loss_fn, params, precision):
    """The loss and parameters under ``precision`` (or the ``with policy(...)`` in force)."""
    if precision is None:
        from .precision.policies import current_policy

        precision = current_policy()
    if precision is None:
        return loss_fn, params
    return precision.wrap(loss_fn), precision.cast_to_params(params)


def _on_device(params, batch_of, device):
    """Parameters moved to ``device`` (or the ``with device(...)`` in force), and batches too."""
    if device is None:
        from .devices.placement import current_device

        device = current_device()
    if device is None:
        return params, batch_of
    from .devices.placement import to_device

    name = getattr(device, "name", device)
    return to_device(params, name), lambda step: to_device(batch_of(step), name)


def _scaled(objective, scaler):
    """``objective`` differentiated at ``scale * loss`` (the scale read at each call)."""

    def scaled_objective(params, state, batch):
        loss, aux = objective(params, state, batch)
        return scaler.scale_loss(loss), aux

    return scaled_objective


def _unscale(scaler, scale, loss, grads):
    """``(loss, grads, apply)`` of a loss-scaled step; ``apply`` is False for a step to skip."""
    grads = scaler.unscale(grads)
    return loss / scale, grads, scaler.update(grads, loss)


def _differentiated(objective, jit, backend):
    """``value_and_grad`` of the objective: eager, compiled (``gradlab.jit``) or computed by
    another framework's autodiff (``gradlab.backends``)."""
    if backend is not None:
        from .backends import value_and_grad as on_backend

        return on_backend(objective, backend, has_aux=True)
    objective = value_and_grad(objective, has_aux=True)
    if jit:
        from .graph import jit as compile_jit

        objective = compile_jit(objective)
    return objective


def train(loss_fn: Callable[..., Any], params: PyTree, data: Any, steps: int, optimizer: Optimizer,
          *, state: PyTree | None = None, opt_state: dict | None = None, progress: bool = True,
          log_every: int | None = None, name: str | None = None,
          plot: str | os.PathLike | None = None, precision: Any = None,
          loss_scale: Any = None, device: Any = None, jit: bool = False,
          backend: str | None = None) -> TrainResult:
    """Train ``params`` for ``steps`` optimizer steps; returns a ``TrainResult``.

    - ``loss_fn(params, *batch)`` returns a scalar loss, or ``(loss, metrics_dict)``.
      With ``state=`` (e.g. batch-norm statistics) it is called as
      ``loss_fn(params, state, *batch)`` and returns ``(loss, new_state[, metrics])``.
      ``params`` reaches it with ``frozen``/``tied`` entries resolved.
    - ``data`` is a fixed batch (a tuple of arrays, passed every step), a function
      ``step -> batch`` (see ``minibatches``), or an iterable of batches (a list too).
    - ``optimizer`` has ``init(params)`` and ``update(grads, state, params)`` (any
      ``gradlab.optim`` optimizer); ``opt_state`` is a dict.
    - ``opt_state`` resumes from a saved optimizer state (its step count included).
    - ``log_every=k`` prints ``[name] step N  loss L`` (mean over the last k steps).
    - ``plot`` saves the loss curve to that path (needs matplotlib).
    - ``precision`` is a ``gl.precision.policy(...)`` (default: the one of an enclosing
      ``with policy(...)`` block): parameters are kept in its ``params`` dtype, the loss
      is computed in ``compute`` and returned in ``output``.
    - ``loss_scale`` is a ``gl.precision.LossScaler``: the loss is scaled before the
      backward pass, and a step whose gradient is not finite is skipped (the history
      records ``skipped`` and ``loss_scale`` at every step) instead of stopping training.
    - ``device`` (``"cupy"``, ``gl.device("cupy")``; default: the one of an enclosing
      ``with device(...)`` block) moves the parameters there and each batch as it is
      drawn (``on_cpu[...]`` leaves stay on the CPU); the result stays on the device.
    - ``jit=True`` compiles the loss and its gradient once per batch shape
      (``gradlab.jit``): the same numbers, replayed as flat numpy calls.
    - ``backend="torch"`` or ``"jax"`` computes the loss and its gradient with that
      framework's autodiff on the captured loss (``gradlab.backends``).
    """
    loss_fn, params = _mixed_precision(instrument(loss_fn), params, precision)
    batch_of = _batches(data)
    params, batch_of = _on_device(params, batch_of, device)
    objective = _objective(loss_fn, state is not None)
    if loss_scale is not None:
        objective = _scaled(objective, loss_scale)
    objective = _differentiated(objective, jit, backend)
    opt_state = optimizer.init(params) if opt_state is None else opt_state
    history: dict = {}
    schedule = getattr(optimizer, "schedule", None)  # gradlab.optim's; others may lack it
    stopped, window, start = None, [], int(opt_state.get("step", 0))
    bar = _Progress(progress, steps, name)
    try:
        for i in range(steps):
            step = start + i
            try:
                batch = batch_of(step)
            except StopIteration:
                stopped = f"train stopped at step {step}: the data iterator is exhausted"
                break
            scale = loss_scale.scale if loss_scale is not None else None
            # a loss scaler expects overflow now and then: it skips those steps
            with np.errstate(over="ignore", invalid="ignore") if scale else _NO_CONTEXT:
                (loss, (new_state, metrics)), grads = objective(params, state, batch)
            loss = float(loss)
            if loss_scale is not None:
                loss, grads, apply = _unscale(loss_scale, scale, loss, grads)
                metrics = dict(metrics, loss_scale=scale, skipped=0.0 if apply else 1.0)
                if not apply and loss_scale.scale > loss_scale.min_scale:
                    _record(history, step, loss, math.nan, dict(metrics, grad_norm=math.nan))
                    bar.update(i + 1, loss)
                    continue  # a skipped step: parameters and optimizer state unchanged
            norm = global_norm(grads)
            if not (math.isfinite(loss) and math.isfinite(norm)):
                stopped = _divergence(step, loss, norm)
                warnings.warn(stopped, DivergenceWarning, stacklevel=2)
                break
            lr = float(schedule(int(opt_state.get("step", step)))) if schedule else math.nan
            params, opt_state = optimizer.update(grads, opt_state, params)
            state = new_state if state is not None else None
            _record(history, step, loss, lr, dict(metrics, grad_norm=norm))
            bar.update(i + 1, loss)
            window.append(loss)
            if log_every and (i + 1) % log_every == 0:
                print(f"[{name or 'train'}] step {step + 1:5d}  loss {np.mean(window):.4f}",
                      flush=True)
                window = []
    finally:
        bar.close()
    result = TrainResult(params, opt_state, history, state, len(history.get("step", [])),
                         stopped)
    if plot is not None:
        result.plot(path=plot)
    return result


def plot_history(history: dict, path: str | os.PathLike | None = None, ax: Any | None = None,
                 key: str = "loss") -> Any:
    """Plot ``history[key]`` against the step (log scale when positive); save to ``path``.

    Needs matplotlib (``pip install 'gradlab[plot]'``). Returns the axes.
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("plotting the loss curve needs matplotlib: "
                          "pip install 'gradlab[plot]' (or pip install matplotlib)") from exc
    if path is not None and ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    values = history.get(key, [])
    ax.plot(history.get("step", range(len(values))), values, label=key)
    if values and min(values) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(key)
    ax.grid(True, alpha=0.3)
    if path is not None:
        ax.figure.savefig(path, dpi=100, bbox_inches="tight")  # type: ignore[union-attr]
        if fig is not None:
            plt.close(fig)
    return ax
