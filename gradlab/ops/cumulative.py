"""Cumulative sums and products along an axis.

``cumsum`` is linear: its VJP is a reversed cumsum. ``cumprod``'s derivatives are
exact even with zeros in the input (dividing by ``x`` is not): both rules run the
same log2(n)-step prefix scan (Hillis-Steele) that computes the product, carrying
tangents forward or cotangents backward through its levels.

>>> import numpy as np, gradlab as gl
>>> gl.grad(lambda x: np.cumprod(x)[-1])(np.array([2.0, 0.0, 3.0])).tolist()
[0.0, 6.0, 0.0]
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct
from ..devices.array_module import get_array_module
from .families import Structural
from .misc import convert, dtype_of
from .shape import concatenate, moveaxis, ravel, reshape


def batch_axis_param(prim, args, dims, params):
    """Batch a one-operand op with an ``axis`` parameter (None = flattened) by shifting it."""
    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0)
    axis = params.get("axis")
    if axis is None:
        x, axis = reshape(x, (np.shape(x)[0], -1)), 0
    return prim(x, **dict(params, axis=int(axis) % (np.ndim(x) - 1) + 1)), 0


def _same_shape(prim, avals, params):
    (x,) = avals
    probe = prim.impl(np.ones((1,), x.dtype), axis=0)
    return ShapeDtypeStruct(tuple(x.shape), np.result_type(probe))


def _reversed_cumsum(g, axis):
    index = (slice(None),) * (axis % np.ndim(g)) + (slice(None, None, -1),)
    return cumsum_p(g[index], axis=axis)[index]


cumsum_p = Primitive(
    "cumsum", lambda x, *, axis: np.cumsum(x, axis=axis), family=Structural, params=("axis",),
    vjp=lambda g, ans, x, *, axis: _reversed_cumsum(g, axis),
    jvp=lambda t, ans, x, *, axis: cumsum_p(t, axis=axis),
    batch=batch_axis_param, shape=_same_shape,
    examples=lambda rng: [((rng.normal(size=(4,)),), {"axis": 0}),
                          ((rng.normal(size=(3, 4)),), {"axis": -1}),
                          ((rng.normal(size=(2, 3, 2)),), {"axis": 1})])


def _scan_levels(x):
    """The levels of the prefix-product scan of ``x`` along its last axis."""
    levels, s, n = [x], 1, np.shape(x)[-1]
    while s < n:
        y = levels[-1]
        levels.append(concatenate([y[..., :s], y[..., s:] * y[..., :-s]], axis=-1))
        s *= 2
    return levels


def _cumprod_jvp(t, ans, x, *, axis):
    x, t = moveaxis(x, axis, -1), moveaxis(t, axis, -1)
    s = 1
    for y in _scan_levels(x)[:-1]:
        t = concatenate([t[..., :s], t[..., s:] * y[..., :-s] + y[..., s:] * t[..., :-s]],
                        axis=-1)
        s *= 2
    return moveaxis(t, -1, axis)


def _cumprod_vjp(g, ans, x, *, axis):
    x, c = moveaxis(x, axis, -1), moveaxis(g, axis, -1)
    levels = _scan_levels(x)[:-1]
    for level in range(len(levels) - 1, -1, -1):
        y, s = levels[level], 2 ** level
        zeros = get_array_module(c).zeros(np.shape(c)[:-1] + (s,), dtype_of(c))
        kept = concatenate([c[..., :s], c[..., s:] * y[..., :-s]], axis=-1)
        c = kept + concatenate([c[..., s:] * y[..., s:], zeros], axis=-1)
    return moveaxis(c, -1, axis)


cumprod_p = Primitive(
    "cumprod", lambda x, *, axis: np.cumprod(x, axis=axis), family=Structural,
    params=("axis",), vjp=_cumprod_vjp, jvp=_cumprod_jvp,
    batch=batch_axis_param, shape=_same_shape,
    examples=lambda rng: [((rng.normal(size=(5,)),), {"axis": 0}),
                          ((np.array([[1.5, 0.0, 2.0, -1.0], [0.5, 2.0, 0.0, 0.0]]),),
                           {"axis": 1}),
                          ((rng.normal(size=(3, 2)),), {"axis": 0})])


def _prepare(a, axis, dtype):
    if dtype is not None:
        a = convert(a, dtype)
    if axis is None:
        return ravel(a), 0
    return a, int(axis) % max(np.ndim(a), 1)


def _examples(rng):
    x = rng.normal(size=(3, 4))
    return [((x,), {}), ((x,), {"axis": 0}), ((x,), {"axis": -1})]


@implements(np.cumsum, examples=_examples)
def cumsum(a, axis=None, dtype=None, out=None):
    """``np.cumsum`` (flattened when ``axis`` is None)."""
    a, axis = _prepare(a, axis, dtype)
    return cumsum_p(a, axis=axis)


@implements(np.cumprod, examples=_examples)
def cumprod(a, axis=None, dtype=None, out=None):
    """``np.cumprod``: exact derivatives even where ``a`` has zeros."""
    a, axis = _prepare(a, axis, dtype)
    return cumprod_p(a, axis=axis)


def _nan_to(a, value):
    from .constants import isnan
    from .elementwise import where

    return where(isnan(a), value, a)


@implements(np.nancumsum, examples=lambda rng: [
    ((np.array([1.0, np.nan, 2.5, -1.0]),), {}), ((rng.normal(size=(2, 3)),), {"axis": 1})])
def nancumsum(a, axis=None, dtype=None, out=None):
    """``np.nancumsum``: NaNs count as zero (and get no gradient)."""
    return cumsum(_nan_to(a, 0.0), axis, dtype)


@implements(np.nancumprod, examples=lambda rng: [
    ((np.array([1.0, np.nan, 2.5, -1.0]),), {}), ((rng.normal(size=(2, 3)),), {"axis": 1})])
def nancumprod(a, axis=None, dtype=None, out=None):
    """``np.nancumprod``: NaNs count as one (and get no gradient)."""
    return cumprod(_nan_to(a, 1.0), axis, dtype)


def _cumulative(name, prim, identity):
    def cumulative(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        if axis is None:
            if np.ndim(x) > 1:
                raise ValueError(f"{name}: axis must be given for arrays of more than 1 dim")
            axis = 0
        x, axis = _prepare(x, axis, dtype)
        out = prim(x, axis=axis)
        if include_initial:
            shape = list(np.shape(x))
            shape[axis] = 1
            first = get_array_module(out).full(shape, identity, dtype_of(out))
            out = concatenate([first, out], axis=axis)
        return out

    cumulative.__name__ = name
    cumulative.__doc__ = f"``np.{name}`` (numpy >= 2.1), with ``include_initial``."
    return cumulative


if hasattr(np, "cumulative_sum"):
    implements(np.cumulative_sum, examples=lambda rng: [
        ((rng.normal(size=(4,)),), {"include_initial": True}),
        ((rng.normal(size=(2, 3)),), {"axis": 1})])(_cumulative("cumulative_sum", cumsum_p, 0))
    implements(np.cumulative_prod, examples=lambda rng: [
        ((rng.normal(size=(4,)),), {"include_initial": True}),
        ((rng.normal(size=(2, 3)),), {"axis": 0})])(_cumulative("cumulative_prod", cumprod_p, 1))
