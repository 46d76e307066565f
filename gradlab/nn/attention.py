"""Attention: scaled dot-product (mask, causal) and multi-head attention.

>>> import numpy as np, gradlab as gl
>>> q = k = v = np.eye(3)[None]
>>> out = gl.nn.scaled_dot_product_attention(q, k, v, causal=True)
>>> out[0, 0].tolist()  # the first position sees only itself
[1.0, 0.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from .._types import Array
from ..core.trace import Tracer
from ..ops import elementwise as E
from ..ops import linalg as L
from ..ops import shape as S
from .activations import softmax
from .layers import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention", "causal_mask"]


def _dtype(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def causal_mask(lq: int, lk: int | None = None) -> np.ndarray:
    """Boolean ``(lq, lk)`` mask: query i may attend to keys ``j <= i + (lk - lq)``.

    >>> causal_mask(2).tolist()
    [[True, False], [True, True]]
    """
    lk = lq if lk is None else lk
    return np.tril(np.ones((lq, lk), dtype=bool), k=lk - lq)


def scaled_dot_product_attention(q: Array, k: Array, v: Array, mask: Array | None = None,
                                 causal: bool = False, scale: Array | None = None) -> Array:
    """``softmax(q @ k^T * scale + mask) @ v`` over the last two axes.

    ``q``: ``(..., Lq, d)``, ``k``: ``(..., Lk, d)``, ``v``: ``(..., Lk, dv)``;
    ``scale`` defaults to ``1 / sqrt(d)``. A boolean ``mask`` (broadcastable to
    ``(..., Lq, Lk)``) marks the keys each query may attend to; a float mask is added to
    the scores. ``causal=True`` also hides future keys. Hidden scores are set to the
    most negative float, not ``-inf``, so a fully masked row gives a uniform average
    rather than NaN.

    >>> import numpy as np, gradlab as gl
    >>> q, k, v = np.zeros((1, 2)), np.zeros((3, 2)), np.arange(3.0).reshape(3, 1)
    >>> gl.nn.scaled_dot_product_attention(q, k, v).tolist()
    [[1.0]]
    """
    d = np.shape(q)[-1]
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    scores = L.matmul(q, S.swapaxes(k, -1, -2)) * scale
    keep = causal_mask(np.shape(q)[-2], np.shape(k)[-2]) if causal else None
    if mask is not None and np.issubdtype(_dtype(mask), np.bool_):
        if keep is None:
            keep = mask
        elif isinstance(mask, Tracer):
            keep = E.where(mask, keep, False)
        else:
            keep = np.logical_and(keep, mask)
    elif mask is not None:
        scores = scores + mask
    if keep is not None:
        scores = E.where(keep, scores, np.finfo(_dtype(scores)).min)
    return L.matmul(softmax(scores, axis=-1), v)


def _split_heads(x, num_heads):
    shape = np.shape(x)
    x = S.reshape(x, shape[:-1] + (num_heads, shape[-1] // num_heads))
    return S.swapaxes(x, -2, -3)  # (..., heads, L, head_dim)


def multi_head_attention(x: Array, params: dict[str, Array], num_heads: int,
                         context: Array | None = None, mask: Array | None = None,
                         causal: bool = False) -> Array:
    """Multi-head attention of ``x`` ``(..., L, D)`` over ``context`` (default: ``x``).

    ``params`` holds ``wq wk wv wo`` of shape ``(D, D)`` and optional biases
    ``bq bk bv bo`` (see ``gradlab.nn.init_mha``). ``mask`` must broadcast against
    ``(..., num_heads, Lq, Lk)``.

    >>> import numpy as np, gradlab as gl
    >>> p = gl.nn.init_mha(gl.random.key(0), 8)
    >>> gl.nn.multi_head_attention(np.ones((2, 5, 8)), p, num_heads=2, causal=True).shape
    (2, 5, 8)
    """
    dim = np.shape(x)[-1]
    if dim % num_heads:
        raise ValueError(f"multi_head_attention: model dimension {dim} is not divisible by "
                         f"num_heads={num_heads}")
    context = x if context is None else context
    q = _split_heads(linear(x, params["wq"], params.get("bq")), num_heads)
    k = _split_heads(linear(context, params["wk"], params.get("bk")), num_heads)
    v = _split_heads(linear(context, params["wv"], params.get("bv")), num_heads)
    heads = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
    merged = S.swapaxes(heads, -2, -3)
    merged = S.reshape(merged, np.shape(merged)[:-2] + (dim,))
    return linear(merged, params["wo"], params.get("bo"))
