"""Losses: cross-entropy (integer or one-hot targets, label smoothing), BCE, MSE, Huber.

Every loss takes ``reduction="mean" | "sum" | "none"`` and is an exact composition of
primitives, stable at logits of any size.

>>> import numpy as np, gradlab as gl
>>> logits = np.array([[1e4, 0.0], [0.0, 1e4]])
>>> float(gl.nn.cross_entropy(logits, np.array([0, 1])))
0.0
"""

from __future__ import annotations

import numpy as np

from .._types import Array, DTypeLike
from ..core.trace import Tracer
from ..devices.array_module import on_device_of
from ..ops import elementwise as E
from ..ops import misc as M
from ..ops import reduce as R
from ..ops import shape as S
from .activations import log_softmax, softplus

__all__ = ["one_hot", "cross_entropy", "binary_cross_entropy_with_logits", "mse", "huber",
           "accuracy"]


def _dtype(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def _reduce(loss, reduction):
    if reduction == "mean":
        return R.mean(loss)
    if reduction == "sum":
        return R.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def one_hot(labels: Array, num_classes: int, axis: int = -1,
            dtype: DTypeLike = np.float64) -> Array:
    """Integer ``labels`` as one-hot vectors of length ``num_classes`` along ``axis``.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.one_hot(np.array([0, 2]), 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if not isinstance(labels, Tracer):
        labels = labels if hasattr(labels, "dtype") else np.asarray(labels)
        if not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"one_hot needs integer labels, got dtype {labels.dtype}")
    hot = E.equal(S.expand_dims(labels, -1), on_device_of(labels, np.arange(num_classes)))
    out = M.convert(hot, dtype)
    return out if axis in (-1, np.ndim(out) - 1) else S.moveaxis(out, -1, axis)


def cross_entropy(logits: Array, labels: Array, axis: int = -1, label_smoothing: float = 0.0,
                  reduction: str = "mean") -> Array:
    """Softmax cross-entropy of ``logits`` against integer labels or target probabilities.

    ``labels`` is either integer class indices (the shape of ``logits`` without
    ``axis``) or probabilities/one-hot vectors (the shape of ``logits``). With
    ``label_smoothing=eps`` the target is ``(1 - eps) * target + eps / num_classes``.

    >>> import numpy as np, gradlab as gl
    >>> round(float(gl.nn.cross_entropy(np.zeros((2, 4)), np.array([1, 3]))), 6)
    1.386294
    """
    logp = log_softmax(logits, axis=axis)
    num_classes = np.shape(logits)[axis]
    if np.issubdtype(_dtype(labels), np.integer):
        expected = tuple(n for i, n in enumerate(np.shape(logits))
                         if i != axis % np.ndim(logits))
        if tuple(np.shape(labels)) != expected:
            raise ValueError(f"cross_entropy: integer labels of shape {np.shape(labels)} do "
                             f"not match logits of shape {np.shape(logits)} (expected the "
                             "logits' shape without the class axis)")
        targets = one_hot(labels, num_classes, axis=axis, dtype=_dtype(logp))
    else:
        if np.shape(labels) != np.shape(logits):
            raise ValueError(f"cross_entropy: target probabilities of shape {np.shape(labels)} "
                             f"must have the logits' shape {np.shape(logits)}")
        targets = labels
    if label_smoothing:
        targets = targets * (1.0 - label_smoothing) + label_smoothing / num_classes
    return _reduce(E.negative(R.sum(targets * logp, axis=axis)), reduction)


def binary_cross_entropy_with_logits(logits: Array, targets: Array,
                                     reduction: str = "mean") -> Array:
    """``-t log sigmoid(x) - (1 - t) log(1 - sigmoid(x))`` as ``softplus(x) - t x``.

    >>> import numpy as np, gradlab as gl
    >>> float(gl.nn.binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([1., 0.])))
    0.0
    """
    return _reduce(softplus(logits) - targets * logits, reduction)


def mse(pred: Array, target: Array, reduction: str = "mean") -> Array:
    """Squared error ``(pred - target) ** 2``, averaged by default.

    >>> import numpy as np, gradlab as gl
    >>> float(gl.nn.mse(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
    5.0
    """
    r = pred - target
    return _reduce(r * r, reduction)


def huber(pred: Array, target: Array, delta: float = 1.0, reduction: str = "mean") -> Array:
    """Quadratic ``r**2 / 2`` for ``|r| <= delta``, linear ``delta * (|r| - delta/2)`` beyond.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.huber(np.array([0.5, 3.0]), np.zeros(2), reduction="none").tolist()
    [0.125, 2.5]
    """
    r = pred - target
    a = E.absolute(r)
    return _reduce(E.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)), reduction)


def accuracy(logits: Array, labels: Array, axis: int = -1) -> float:
    """The fraction of rows whose largest logit is at the integer label (not differentiable).

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    return float(np.mean(np.argmax(np.asarray(logits), axis=axis) == np.asarray(labels)))
