"""Reductions over ``axis`` with ``keepdims``; ties in ``max``/``min`` split the gradient.

``prod``'s derivatives are exact where the input has zeros; the ``nan*`` forms treat
NaNs as missing (no gradient flows to them).

>>> import numpy as np, gradlab as gl
>>> gl.grad(np.max)(np.array([1.0, 3.0, 3.0])).tolist()
[0.0, 0.5, 0.5]
>>> gl.grad(np.prod)(np.array([2.0, 0.0, 3.0])).tolist()
[0.0, 6.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import normalize_axes, shape_of
from .cumulative import cumprod_p
from .elementwise import sqrt, where
from .families import Reduction, broadcast_to_p
from .misc import convert, dtype_of
from .shape import concatenate, reshape, transpose

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
    if type(x) is np.ndarray:  # the ufunc's own reduce: np.sum's Python wrapper costs ~1 µs
        return np.add.reduce(x, axis=axis, keepdims=keepdims, dtype=dtype)
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
    """For each element, the product of the *other* elements along ``axis``.

    The product of an exclusive cumulative product from the left and one from the
    right: exact with zeros (``ans / x`` is not), and its own derivatives are too.
    """
    ndim = np.ndim(x)
    axes = normalize_axes(axis, ndim)
    if not axes:
        return np.ones(np.shape(x), dtype_of(x))
    keep = [i for i in range(ndim) if i not in axes]
    moved = transpose(x, keep + list(axes))
    moved_shape = np.shape(moved)
    flat = reshape(moved, moved_shape[:len(keep)] + (-1,))
    ones = np.ones(np.shape(flat)[:-1] + (1,), dtype_of(x))
    left = concatenate([ones, cumprod_p(flat[..., :-1], axis=-1)], axis=-1)
    flipped = flat[..., ::-1]
    right = concatenate([ones, cumprod_p(flipped[..., :-1], axis=-1)], axis=-1)[..., ::-1]
    others = reshape(left * right, moved_shape)
    return transpose(others, list(np.argsort(keep + list(axes))))


def _prod_vjp(g, ans, x, *, axis=None, keepdims=False, dtype=None):
    return spread(g, x, axis, keepdims) * _prod_others(x, axis)


def _prod_impl(x, *, axis=None, keepdims=False, dtype=None):
    return np.prod(x, axis=axis, keepdims=keepdims, dtype=dtype)


prod = Primitive(
    "prod", _prod_impl, family=Reduction, numpy=(np.prod,),
    params=REDUCE_PARAMS, vjp=_prod_vjp,
    examples=lambda rng: Reduction.examples(prod, rng) + [
        ((np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0], [0.5, 2.0, 1.2]]),), {"axis": 1}),
        ((np.array([[1.5, 0.0], [0.7, -2.0]]),), {})],
    jvp=lambda t, ans, x, *, axis=None, keepdims=False, dtype=None: sum(
        t * _prod_others(x, axis), axis=axis, keepdims=keepdims))


def _count(x, axis):
    """How many elements a reduction over ``axis`` combines."""
    shape = shape_of(x)
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in normalize_axes(axis, len(shape)))


def _examples(rng):
    x = rng.normal(size=(3, 4))
    return [((x,), {}), ((x,), {"axis": 0}), ((x,), {"axis": -1, "keepdims": True}),
            ((rng.normal(size=(2, 3, 2)),), {"axis": (0, 2)})]


@implements(np.mean, examples=_examples)
def mean(a, axis=None, dtype=None, out=None, keepdims=False):
    """``sum(a) / n`` over ``axis``."""
    if dtype is not None:
        a = convert(a, dtype)
    return sum(a, axis=axis, keepdims=keepdims) / _count(a, axis)


@implements(np.var, examples=lambda rng: _examples(rng) + [
    ((rng.normal(size=(5,)),), {"ddof": 1})])
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Mean squared deviation, divided by ``n - ddof``."""
    if dtype is not None:
        a = convert(a, dtype)
    centered = a - mean(a, axis=axis, keepdims=True)
    if dtype_of(centered).kind == "c":  # numpy's variance of complex data is real: |x - m|^2
        from .complex import conj, real

        squares = real(centered * conj(centered))
    else:
        squares = centered * centered
    return sum(squares, axis=axis, keepdims=keepdims) / (_count(a, axis) - ddof)


@implements(np.std, examples=lambda rng: _examples(rng) + [
    ((rng.normal(size=(5,)),), {"ddof": 1})])
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """``sqrt(var(a))``."""
    return sqrt(var(a, axis=axis, ddof=ddof, keepdims=keepdims))



@implements(np.ptp, examples=_examples)
def ptp(a, axis=None, out=None, keepdims=False):
    """``max - min`` over ``axis`` (ties split the gradient, as in ``max``)."""
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def _weights_like(a, weights, axis):
    """``weights`` broadcast against ``a`` (a 1-D weight vector lies along ``axis``)."""
    if np.shape(weights) == np.shape(a):
        return weights
    if axis is None:
        raise TypeError("np.average: axis must be given when weights and a differ in shape")
    if np.ndim(weights) != 1:
        raise TypeError("np.average: 1-D weights expected when shapes of a and weights differ")
    shape = [1] * np.ndim(a)
    shape[int(axis) % np.ndim(a)] = np.shape(weights)[0]
    return broadcast_to_p(reshape(weights, tuple(shape)), shape=np.shape(a))


@implements(np.average, examples=lambda rng: [
    ((rng.normal(size=(3, 4)),), {}),
    ((rng.normal(size=(3, 4)), 0, rng.uniform(0.5, 2, (3,))), {}),
    ((rng.normal(size=(3, 4)), None, rng.uniform(0.5, 2, (3, 4))), {"keepdims": True}),
    ((rng.normal(size=(3, 4)), -1, rng.uniform(0.5, 2, (4,))), {"returned": True})])
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """``np.average``: weighted mean, differentiable in ``a`` and in ``weights``."""
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        scale = np.full(np.shape(avg), float(_count(a, axis)), dtype_of(avg))
    else:
        w = _weights_like(a, weights, axis)
        scale = sum(w, axis=axis, keepdims=keepdims)
        avg = sum(a * w, axis=axis, keepdims=keepdims) / scale
    if returned:
        if np.shape(scale) != np.shape(avg):
            scale = broadcast_to_p(scale, shape=np.shape(avg))
        return avg, scale
    return avg


# --- NaN-ignoring reductions: NaNs become the identity and get no gradient ----------
def _nan_mask(a):
    from .constants import isnan

    return isnan(a)


def _valid_count(a, axis, keepdims):
    from .constants import count_nonzero, logical_not

    count = count_nonzero(logical_not(_nan_mask(a)), axis=axis, keepdims=keepdims)
    return convert(count, dtype_of(a))  # an integer count would promote float32


@implements(np.nansum, examples=lambda rng: [
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]),), {"axis": 1}),
    ((rng.normal(size=(3, 4)),), {})])
def nansum(a, axis=None, dtype=None, out=None, keepdims=False):
    """``np.nansum``."""
    return sum(where(_nan_mask(a), 0.0, a), axis=axis, keepdims=keepdims)


@implements(np.nanprod, examples=lambda rng: [
    ((np.array([[1.5, np.nan, 2.0], [0.5, -1.0, np.nan]]),), {"axis": 1})])
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False):
    """``np.nanprod``."""
    return prod(where(_nan_mask(a), 1.0, a), axis=axis, keepdims=keepdims)


@implements(np.nanmean, examples=lambda rng: [
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]),), {"axis": 1}),
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, 3.0]]),), {"keepdims": True})])
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False):
    """``np.nanmean``: the mean of the non-NaN entries."""
    return nansum(a, axis=axis, keepdims=keepdims) / _valid_count(a, axis, keepdims)


def _nan_extremum(a, axis, keepdims, reduce, fill):
    masked = reduce(where(_nan_mask(a), fill, a), axis=axis, keepdims=keepdims)
    return where(_valid_count(a, axis, keepdims) == 0, np.nan, masked)  # an all-NaN slice


@implements(np.nanmax, examples=lambda rng: [
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]),), {"axis": 1}),
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]),), {})])
def nanmax(a, axis=None, out=None, keepdims=False):
    """``np.nanmax``: ties split the gradient; an all-NaN slice gives NaN."""
    return _nan_extremum(a, axis, keepdims, max, -np.inf)


@implements(np.nanmin, examples=lambda rng: [
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]),), {"axis": 0}),
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, np.nan]]),), {"keepdims": True})])
def nanmin(a, axis=None, out=None, keepdims=False):
    """``np.nanmin``: ties split the gradient; an all-NaN slice gives NaN."""
    return _nan_extremum(a, axis, keepdims, min, np.inf)


@implements(np.nanvar, examples=lambda rng: [
    ((np.array([[1.0, np.nan, 2.0, 4.0], [0.5, -1.0, np.nan, 3.0]]),), {"axis": 1}),
    ((np.array([[1.0, np.nan, 2.0], [0.5, -1.0, 3.0]]),), {"ddof": 1})])
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """``np.nanvar``: the variance of the non-NaN entries, divided by ``n - ddof``."""
    mu = nanmean(a, axis=axis, keepdims=True)
    centered = where(_nan_mask(a), 0.0, a - mu)
    return sum(centered * centered, axis=axis, keepdims=keepdims) / (
        _valid_count(a, axis, keepdims) - ddof)


@implements(np.nanstd, examples=lambda rng: [
    ((np.array([[1.0, np.nan, 2.0, 4.0], [0.5, -1.0, np.nan, 3.0]]),), {"axis": 1})])
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """``np.nanstd``: ``sqrt(nanvar)``."""
    return sqrt(nanvar(a, axis=axis, ddof=ddof, keepdims=keepdims))


@implements(np.nanargmax)
def nanargmax(a, axis=None, out=None, *, keepdims=False):
    """``np.nanargmax``: an index, so a constant."""
    from .constants import argmax

    return argmax(where(_nan_mask(a), -np.inf, a), axis=axis, keepdims=keepdims)


@implements(np.nanargmin)
def nanargmin(a, axis=None, out=None, *, keepdims=False):
    """``np.nanargmin``: an index, so a constant."""
    from .constants import argmin

    return argmin(where(_nan_mask(a), np.inf, a), axis=axis, keepdims=keepdims)


nanargmax.__gradlab_kind__ = nanargmin.__gradlab_kind__ = "constant"  # for docs/ops.md
