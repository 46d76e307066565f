"""Layers as functions of explicit parameters: linear, embedding, norms, dropout.

Nothing here holds state. ``batch_norm`` takes its running statistics as an argument
and returns the updated ones; ``dropout`` takes a random key.

>>> import numpy as np, gradlab as gl
>>> x = np.array([[1.0, 2.0, 3.0]])
>>> np.round(gl.nn.layer_norm(x), 4).tolist()
[[-1.2247, 0.0, 1.2247]]
"""

from __future__ import annotations

import numpy as np

from .. import random as _random
from .._types import Array, DTypeLike, Key
from ..core.shapes import normalize_axes
from ..core.trace import Tracer
from ..ops import elementwise as E
from ..ops import index as I
from ..ops import linalg as L
from ..ops import misc as M
from ..ops import reduce as R
from ..ops import shape as S

__all__ = ["linear", "embedding", "layer_norm", "rms_norm", "group_norm", "batch_norm",
           "batch_norm_state", "dropout"]


def linear(x: Array, w: Array, b: Array | None = None) -> Array:
    """``x @ w + b`` with ``w`` of shape ``(in, out)``.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.linear(np.ones((2, 3)), np.ones((3, 4)), np.arange(4.0))[0].tolist()
    [3.0, 4.0, 5.0, 6.0]
    """
    y = L.matmul(x, w)
    return y if b is None else y + b


def embedding(ids: Array, table: Array) -> Array:
    """Rows of ``table`` (``(vocab, dim)``) at integer ``ids``: shape ``ids.shape + (dim,)``.

    The gradient scatter-adds into the rows used (repeated ids accumulate).

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.embedding(np.array([2, 0]), np.arange(6.0).reshape(3, 2)).tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    """
    if not isinstance(ids, Tracer):  # traced ids (under vmap) are gathered as they are
        ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"embedding needs integer ids, got dtype {ids.dtype}")
    return I.getitem(table, (ids,))


def _affine(y, gamma, beta):
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def layer_norm(x: Array, gamma: Array | None = None, beta: Array | None = None,
               axis: int | tuple[int, ...] = -1, eps: float = 1e-5) -> Array:
    """Normalise to zero mean and unit variance over ``axis`` (int or tuple), then scale.

    >>> import numpy as np, gradlab as gl
    >>> y = gl.nn.layer_norm(np.random.default_rng(0).normal(size=(4, 8)))
    >>> bool(np.allclose(y.mean(-1), 0) and np.allclose(y.var(-1), 1, atol=1e-3))
    True
    """
    mu = R.mean(x, axis=axis, keepdims=True)
    centered = x - mu
    var = R.mean(centered * centered, axis=axis, keepdims=True)
    return _affine(centered / E.sqrt(var + eps), gamma, beta)


def rms_norm(x: Array, gamma: Array | None = None, axis: int | tuple[int, ...] = -1,
             eps: float = 1e-6) -> Array:
    """Divide by the root mean square over ``axis`` (no centring), then scale by ``gamma``.

    >>> import numpy as np, gradlab as gl
    >>> np.round(gl.nn.rms_norm(np.array([3.0, 4.0]), eps=0.0), 4).tolist()
    [0.8485, 1.1314]
    """
    ms = R.mean(x * x, axis=axis, keepdims=True)
    return _affine(x / E.sqrt(ms + eps), gamma, None)


def _channel_shape(x, channel_axis=1):
    """Shape that broadcasts a per-channel ``(C,)`` vector against ``x``."""
    ndim = np.ndim(x)
    axis = channel_axis % ndim
    return tuple(np.shape(x)[axis] if i == axis else 1 for i in range(ndim))[axis:]


def _per_channel(v, x, channel_axis=1):
    return None if v is None else S.reshape(v, _channel_shape(x, channel_axis))


def group_norm(x: Array, num_groups: int, gamma: Array | None = None, beta: Array | None = None,
               eps: float = 1e-5) -> Array:
    """Normalise ``x`` ``(N, C, *spatial)`` over each group of ``C // num_groups`` channels.

    ``gamma``/``beta`` have shape ``(C,)``.

    >>> import numpy as np, gradlab as gl
    >>> y = gl.nn.group_norm(np.random.default_rng(0).normal(size=(2, 4, 3)), 2)
    >>> bool(np.allclose(y.reshape(2, 2, 6).mean(-1), 0))
    True
    """
    shape = np.shape(x)
    n, c = shape[0], shape[1]
    if c % num_groups:
        raise ValueError(f"group_norm: {c} channels do not split into {num_groups} groups")
    grouped = S.reshape(x, (n, num_groups, c // num_groups) + tuple(shape[2:]))
    axes = tuple(range(2, len(shape) + 1))
    y = S.reshape(layer_norm(grouped, axis=axes, eps=eps), shape)
    return _affine(y, _per_channel(gamma, x), _per_channel(beta, x))


def batch_norm_state(num_features: int, dtype: DTypeLike = np.float64) -> dict:
    """Fresh running statistics for ``batch_norm``: mean 0, variance 1.

    >>> batch_norm_state(2)
    {'mean': array([0., 0.]), 'var': array([1., 1.])}
    """
    return {"mean": np.zeros(num_features, dtype), "var": np.ones(num_features, dtype)}


def batch_norm(x: Array, gamma: Array, beta: Array, state: dict[str, Array], training: bool = True,
               momentum: float = 0.1, eps: float = 1e-5,
               channel_axis: int = 1) -> tuple[Array, dict[str, Array]]:
    """Batch normalisation; returns ``(y, new_state)``.

    In training, ``x`` is normalised with the statistics of the batch (every axis but
    ``channel_axis``), and the running statistics in ``state`` (``{"mean", "var"}``,
    see ``batch_norm_state``) move towards them by ``momentum`` (the variance unbiased,
    as in PyTorch); no gradient flows into them. In evaluation the running statistics
    are used and returned unchanged.

    >>> import numpy as np, gradlab as gl
    >>> x = np.random.default_rng(0).normal(2.0, 3.0, size=(64, 2))
    >>> y, s = gl.nn.batch_norm(x, None, None, gl.nn.batch_norm_state(2))
    >>> bool(np.allclose(y.mean(0), 0)), bool((s["mean"] > 0).all())
    (True, True)
    """
    ndim = np.ndim(x)
    axis = channel_axis % ndim
    axes = tuple(i for i in range(ndim) if i != axis)
    shape = _channel_shape(x, channel_axis)
    if training:
        mu = R.mean(x, axis=axes, keepdims=True)
        centered = x - mu
        var = R.mean(centered * centered, axis=axes, keepdims=True)
        count = int(np.prod([np.shape(x)[i] for i in normalize_axes(axes, ndim)]))
        batch_mean = S.reshape(M.stop_gradient(mu), (-1,))
        batch_var = S.reshape(M.stop_gradient(var), (-1,)) * (count / max(count - 1, 1))
        new_state = {"mean": (1 - momentum) * state["mean"] + momentum * batch_mean,
                     "var": (1 - momentum) * state["var"] + momentum * batch_var}
        y = centered / E.sqrt(var + eps)
    else:
        mean = S.reshape(state["mean"], shape)
        y = (x - mean) / E.sqrt(S.reshape(state["var"], shape) + eps)
        new_state = state
    return _affine(y, _per_channel(gamma, x, channel_axis),
                   _per_channel(beta, x, channel_axis)), new_state


def dropout(x: Array, key: Key, rate: float = 0.5, training: bool = True) -> Array:
    """Zero each entry with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    The mask comes from ``key`` (see ``gradlab.random``); with ``training=False`` or
    ``rate=0`` it returns ``x`` unchanged.

    >>> import numpy as np, gradlab as gl
    >>> y = gl.nn.dropout(np.ones(1000), gl.random.key(0), rate=0.25)
    >>> sorted(set(y.tolist())), abs(float(y.mean()) - 1) < 0.1
    ([0.0, 1.3333333333333333], True)
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    if not training or rate == 0.0:
        return x
    keep = _random.bernoulli(key, 1.0 - rate, np.shape(x))
    return E.where(keep, x * (1.0 / (1.0 - rate)), 0.0)
