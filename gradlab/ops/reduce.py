"""Reductions over ``axis`` with ``keepdims``; ties in ``max``/``min`` split the gradient."""

from __future__ import annotations

import numpy as np

from ..core.families import Reduction, broadcast_to_p
from ..core.primitive import Primitive, implements
from ..core.shapes import normalize_axes
from .elementwise import sqrt
from .misc import convert, dtype_of
from .shape import reshape

REDUCE_PARAMS = ("axis", "dtype", "out", "keepdims")


def restore_axes(g, x_shape, axis, keepdims):
    """Reshape a reduction's output (or cotangent) so it broadcasts against the input."""
    if keepdims or np.ndim(g) == 0:
        return g  # a 0-d cotangent broadcasts against the input as it is
    axes = normalize_axes(axis, len(x_shape))
    shape = tuple(1 if i in axes else n for i, n in enumerate(x_shape))
    return reshape(g, shape)


def spread(g, x, axis, keepdims):
    """Broadcast a reduction's cotangent back over the reduced axes of ``x``."""
    shape = np.shape(x)
    return broadcast_to_p(restore_axes(g, shape, axis, keepdims), shape=shape)


def _sum_impl(x, *, axis=None, keepdims=False, dtype=None):
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


sum = Primitive(  # noqa: A001 - the numpy name
    "sum", _sum_impl, family=Reduction, numpy=(np.sum,), params=REDUCE_PARAMS,
    vjp=lambda g, ans, x, *, axis=None, keepdims=False, dtype=None: spread(g, x, axis, keepdims),
    jvp=lambda t, ans, x, *, axis=None, keepdims=False, dtype=None: sum(
        t, axis=axis, keepdims=keepdims))


def _extremum_vjp(g, ans, x, *, axis=None, keepdims=False):
    ans_b = restore_axes(ans, np.shape(x), axis, keepdims)
    mask = convert(x == ans_b, dtype_of(ans))
    count = sum(mask, axis=normalize_axes(axis, np.ndim(x)), keepdims=True)
    return spread(g, x, axis, keepdims) * (mask / count)


def _extremum_jvp(t, ans, x, *, axis=None, keepdims=False):
    ans_b = restore_axes(ans, np.shape(x), axis, keepdims)
    mask = convert(x == ans_b, dtype_of(ans))
    count = sum(mask, axis=normalize_axes(axis, np.ndim(x)), keepdims=keepdims)
    return sum(t * mask, axis=axis, keepdims=keepdims) / count


def _reducer(np_fn):
    def impl(x, *, axis=None, keepdims=False):
        return np_fn(x, axis=axis, keepdims=keepdims)

    return impl


max = Primitive(  # noqa: A001
    "max", _reducer(np.max), family=Reduction, numpy=(np.max, np.amax),
    params=("axis", "out", "keepdims"), vjp=_extremum_vjp, jvp=_extremum_jvp)
min = Primitive(  # noqa: A001
    "min", _reducer(np.min), family=Reduction, numpy=(np.min, np.amin),
    params=("axis", "out", "keepdims"), vjp=_extremum_vjp, jvp=_extremum_jvp)


def _prod_others(x, axis):
    """For each element, the product of the other elements along ``axis``.

    Written as ans / x, which is exact while x has no zeros.
    TODO(coverage): an exclusive-cumprod form that is exact with zeros too.
    """
    return restore_axes(prod(x, axis=axis), np.shape(x), axis, False) / x


def _prod_vjp(g, ans, x, *, axis=None, keepdims=False, dtype=None):
    return spread(g, x, axis, keepdims) * _prod_others(x, axis)


def _prod_impl(x, *, axis=None, keepdims=False, dtype=None):
    return np.prod(x, axis=axis, keepdims=keepdims, dtype=dtype)


prod = Primitive(
    "prod", _prod_impl, family=Reduction, numpy=(np.prod,),
    params=REDUCE_PARAMS, vjp=_prod_vjp,
    jvp=lambda t, ans, x, *, axis=None, keepdims=False, dtype=None: sum(
        t * _prod_others(x, axis), axis=axis, keepdims=keepdims))


def _count(x, axis):
    shape = np.shape(x)
    return int(np.prod([shape[a] for a in normalize_axes(axis, len(shape))], dtype=np.int64))


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False):
    """``sum(a) / n`` over ``axis``."""
    return sum(a, axis=axis, keepdims=keepdims) / _count(a, axis)


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Mean squared deviation, divided by ``n - ddof``."""
    centered = a - mean(a, axis=axis, keepdims=True)
    return sum(centered * centered, axis=axis, keepdims=keepdims) / (_count(a, axis) - ddof)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """``sqrt(var(a))``."""
    return sqrt(var(a, axis=axis, ddof=ddof, keepdims=keepdims))

