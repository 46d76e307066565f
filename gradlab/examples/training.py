"""Shared loop of the ``gradlab.nn`` examples: gradient check, ``gl.train``, evaluation.

The models built with ``gradlab.nn`` (MLP with LayerNorm + Dropout, CNN, Transformer,
GRU) all run through ``fit``: it checks the reverse-mode gradient against central
differences on a tiny batch, trains with ``gl.train`` (printing the mean loss
every ``log_every`` steps) and prints train and held-out accuracy in the format the
demo's test parses.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import numpy as np

import gradlab as gl

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True


_PROGRESS = {"bars": False}  # set by the demo's command line (``show_progress``)


def show_progress(enabled: bool) -> None:
    """Progress bars (tqdm) while the examples train, instead of periodic loss lines.

    The demo turns them on when its output is a terminal: a CI log gets the lines.
    """
    _PROGRESS["bars"] = bool(enabled)


def progress_enabled() -> bool:
    """Whether the examples show progress bars (see ``show_progress``)."""
    return _PROGRESS["bars"]


def with_step_keys(data: Callable, key) -> Callable:
    """``step -> (*batch, key_for_step)``: a fresh dropout key per step, reproducibly."""

    def batches(step: int):
        return (*data(step), gl.random.fold_in(key, step))

    batches.steps_per_epoch = getattr(data, "steps_per_epoch", None)  # type: ignore[attr-defined]
    return batches


def single_threaded_blas():
    """Limit BLAS to one thread while the examples train.

    Their matrices are small (64 to 256 wide): extra BLAS threads only add
    synchronisation, and on a busy machine they make each matmul up to 10x slower.
    """
    try:
        from threadpoolctl import threadpool_limits  # ships with scikit-learn
    except ImportError:  # pragma: no cover - depends on the environment
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fit(name: str, loss: Callable, params, data: Callable, steps: int, optimizer,
        check_batch: tuple, evaluate: Callable, log_every: int,
        show: Callable | None = None) -> dict:
    """Gradient-check ``loss``, train ``params`` for ``steps``, evaluate; return metrics.

    ``loss(params, *batch)`` is a scalar; ``evaluate(params) -> (train_acc, test_acc)``;
    ``show(params)``, if given, prints something about the trained model.
    """
    start = time.perf_counter()
    n_params = gl.nn.count_params(params, trainable_only=True)
    gl.check_grads(lambda p: loss(gl.nn.resolve(p), *check_batch), params, modes=("rev",),
                   order=1)
    print(f"[{name}] gradient check passed ({n_params} parameters)", flush=True)
    with single_threaded_blas():
        bars = progress_enabled()
        result = gl.train(loss, params, data, steps, optimizer, progress=bars,
                          log_every=None if bars else log_every, name=name)
        if result.stopped_early:
            raise RuntimeError(result.stopped_early)
        train_acc, test_acc = evaluate(result.params)
    print(f"[{name}] train accuracy: {train_acc:.4f}", flush=True)
    print(f"[{name}] test accuracy: {test_acc:.4f}", flush=True)
    if show is not None:
        show(result.params)
    return {
        "params": n_params,
        "steps": result.steps,
        "final_loss": float(np.mean(result.history["loss"][-log_every:])),
        "train_acc": train_acc,
        "test_acc": test_acc,
        "seconds": time.perf_counter() - start,
        "loss_history": [float(v) for v in result.history["loss"]],
    }
