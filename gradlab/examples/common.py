"""Shared pieces of the examples: the digits data, a numpy loss, and a training loop.

Everything here is ordinary numpy; gradlab differentiates it as written.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import gradlab as gl

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True

Params = dict[str, np.ndarray]


@dataclass
class Split:
    """A standardised train/test split with one-hot targets."""

    X_train: np.ndarray
    Y_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


def load_digits_split(test_fraction: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's bundled 8x8 digits (no download), standardised on the train set.

    >>> split = load_digits_split()
    >>> split.X_train.shape[1], split.n_classes
    (64, 10)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the digits examples need scikit-learn: pip install 'gradlab[examples]'"
        ) from exc
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0  # corner pixels are always 0
    X = (X - mean) / std
    n_classes = int(y.max()) + 1
    Y = np.eye(n_classes)[y]
    return Split(X[train], Y[train], y[train], X[test], y[test], n_classes)


def softmax_cross_entropy(logits, Y):
    """Mean cross-entropy of one-hot targets ``Y`` under ``softmax(logits)``, in plain numpy.

    Subtracting the row maximum keeps ``exp`` from overflowing.

    >>> float(softmax_cross_entropy(np.zeros((2, 4)), np.eye(4)[[0, 3]])) == float(np.log(4))
    True
    """
    z = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * log_probs) / logits.shape[0]


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == y))


def count_params(params: Params) -> int:
    return int(sum(np.size(v) for v in params.values()))


@dataclass
class Config:
    """Hyper-parameters of ``fit_classifier``; ``quick_epochs`` is used by ``--quick``."""

    epochs: int
    quick_epochs: int
    lr: float
    momentum: float = 0.9
    batch_size: int = 64
    log_every: int = 50


def fit_classifier(
    name: str,
    params: Params,
    loss: Callable,
    predict: Callable,
    split: Split,
    config: Config,
    quick: bool,
    seed: int = 0,
) -> dict:
    """Gradient-check ``loss``, then train with minibatch SGD + momentum; return metrics.

    ``loss(params, X, Y)`` and ``predict(params, X)`` are plain numpy functions of a dict
    of parameters. Prints the mean minibatch loss every ``config.log_every`` steps and
    the final test accuracy as ``[name] test accuracy: 0.9733``.
    """
    start = time.perf_counter()
    check_gradients(name, loss, params, split)

    value_and_grad = gl.value_and_grad(loss)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    rng = np.random.default_rng(seed)
    epochs = config.quick_epochs if quick else config.epochs
    n = len(split.X_train)
    step, window, logged, history = 0, [], [], []
    bar = _progress_bar(name, epochs * -(-n // config.batch_size))
    for _ in range(epochs):
        order = rng.permutation(n)
        for lo in range(0, n, config.batch_size):
            batch = order[lo : lo + config.batch_size]
            value, grads = value_and_grad(params, split.X_train[batch], split.Y_train[batch])
            for k in params:
                velocity[k] = config.momentum * velocity[k] - config.lr * grads[k]
                params[k] = params[k] + velocity[k]
            step += 1
            window.append(float(value))
            history.append(float(value))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(value):.4g}", refresh=False)
            elif step % config.log_every == 0:
                logged.append(float(np.mean(window)))
                print(f"[{name}] step {step:5d}  loss {logged[-1]:.4f}", flush=True)
                window = []
    if bar is not None:
        bar.close()

    train_acc = accuracy(predict(params, split.X_train), split.y_train)
    test_acc = accuracy(predict(params, split.X_test), split.y_test)
    final_loss = float(loss(params, split.X_train, split.Y_train))
    print(f"[{name}] train accuracy: {train_acc:.4f}", flush=True)
    print(f"[{name}] test accuracy: {test_acc:.4f}", flush=True)
    return {
        "params": count_params(params),
        "steps": step,
        "final_loss": final_loss,
        "train_acc": train_acc,
        "test_acc": test_acc,
        "seconds": time.perf_counter() - start,
        "loss_history": history,
    }


def _progress_bar(name: str, total: int):
    """A tqdm bar when the demo shows progress bars (a terminal) and tqdm is installed."""
    from gradlab.examples.training import progress_enabled

    if not progress_enabled():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with the [examples] extra
        return None
    return tqdm(total=total, desc=name, file=sys.stderr)


def check_gradients(name: str, loss: Callable, params: Params, split: Split, n: int = 16):
    """Finite-difference check of the reverse-mode gradient on a small batch (float64)."""
    X, Y = split.X_train[:n], split.Y_train[:n]
    gl.check_grads(lambda p: loss(p, X, Y), params, modes=("rev",), order=1)
    print(f"[{name}] gradient check passed ({count_params(params)} parameters)", flush=True)
