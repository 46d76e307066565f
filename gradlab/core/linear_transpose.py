"""Derive a missing rule from the other: a VJP is linear in ``g``, a JVP in ``t``.

``J t = d/dg <vjp(g), t>`` (reverse mode over the VJP), and ``J^T g = d/dt <g, jvp(t)>``
(reverse mode over the JVP). A primitive that declares one rule gets the other,
correct by construction, at the cost of one extra pass; ops on the hot path
declare both.
"""

from __future__ import annotations

import numpy as np

from .tape import ReverseTrace
from .trace import Tracer, new_trace


def _transpose(rule, seed_like, cotangent, ans, args, params):
    with new_trace(ReverseTrace) as trace:
        seed = trace.new_input(_zeros(seed_like, _dtype(cotangent)))
        out = rule(seed, ans, *args, **params)
    (result,) = trace.backward([out], [cotangent], [seed])
    if result is None:
        return _zeros(seed_like, _dtype(cotangent))
    return result


def _zeros(like, dtype):
    """Zeros shaped like ``like``; on its device when it is another library's array (CuPy)."""
    if isinstance(like, (np.ndarray, Tracer)) or not hasattr(like, "__array_function__"):
        return np.zeros(np.shape(like), dtype)
    return np.zeros_like(like, dtype=dtype)


def _dtype(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def jvp_from_vjp(prim, i):
    def jvp(t, ans, *args, **params):
        return _transpose(prim.vjps[i], ans, t, ans, args, params)

    return jvp


def vjp_from_jvp(prim, i):
    def vjp(g, ans, *args, **params):
        return _transpose(prim.jvps[i], args[i], g, ans, args, params)

    return vjp
