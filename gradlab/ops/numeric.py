"""Numerical helpers numpy users reach for: linspace, meshgrid, interp, trapezoid, cov,
corrcoef, convolve, polyval, bincount(weights), nan_to_num, and the array-API spellings
(``np.vecdot``, ``np.linalg.diagonal``...). All compositions of primitives.

>>> import numpy as np, gradlab as gl
>>> float(gl.grad(lambda x: np.interp(x, [0.0, 1.0, 3.0], [0.0, 2.0, 3.0]))(2.0))
0.5
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import implements
from ..core.trace import Tracer
from . import elementwise as E
from .constants import concrete, isnan, isneginf, isposinf
from .contract import cross, einsum, outer, tensordot, trace
from .index import at, getitem, take
from .linalg import matmul
from .manip import diag, diagonal, diff, flip
from .misc import convert, dtype_of
from .reduce import mean
from .reduce import sum as sum_
from .shape import concatenate, moveaxis, ravel, reshape, squeeze, swapaxes, transpose
from .sorting import searchsorted
from .stacking import _atleast_2d, broadcast_to


def _conj(x):
    if np.iscomplexobj(x):
        from .complex import conj

        return conj(x)
    return x


# --- ranges and grids ---------------------------------------------------------------------
@implements(np.linspace, examples=lambda rng: [((0.5, 2.0, 5), {}),
                                               ((rng.normal(size=(2,)), 3.0, 4), {"axis": 1})])
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
             *, device=None):
    """``np.linspace`` with traced endpoints (each sample is affine in them)."""
    num = int(num)
    div = (num - 1) if endpoint else num
    steps = np.arange(num, dtype=np.float64) / (div if div > 0 else 1)
    start, stop = start * 1.0, stop * 1.0  # endpoints may be ints or tracers
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    steps = steps.reshape((num,) + (1,) * len(shape))
    out = start + (stop - start) * steps
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = convert(out, dtype)
    return (out, (stop - start) / (div if div > 0 else np.nan)) if retstep else out


@implements(np.meshgrid, examples=lambda rng: [
    ((rng.normal(size=(3,)), rng.normal(size=(2,))), {}),
    ((rng.normal(size=(3,)), rng.normal(size=(2,))), {"indexing": "ij", "sparse": True})])
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """``np.meshgrid``: broadcasts of the (flattened) coordinate vectors."""
    ndim = len(xi)
    shapes = [(1,) * ndim for _ in xi]
    out = []
    for i, x in enumerate(xi):
        shape = list(shapes[i])
        shape[i] = -1
        if indexing == "xy" and ndim > 1 and i < 2:
            shape[0], shape[1] = shape[1], shape[0]
        out.append(reshape(ravel(x), tuple(shape)))
    if not sparse:
        full = np.broadcast_shapes(*(np.shape(o) for o in out))
        out = [broadcast_to(o, full) for o in out]
    return tuple(out)


@implements(np.rollaxis, examples=lambda rng: [((rng.normal(size=(2, 3, 4)), 2), {}),
                                               ((rng.normal(size=(2, 3, 4)), 0, 2), {})])
def rollaxis(a, axis, start=0):
    """``np.rollaxis``: move ``axis`` to before ``start``."""
    n = np.ndim(a)
    axis, start = int(axis) % n, int(start) + (n if start < 0 else 0)
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start) if axis != start else a


# --- integration, interpolation, statistics --------------------------------------------
@implements(np.trapezoid, examples=lambda rng: [
    ((rng.normal(size=(5,)),), {}), ((rng.normal(size=(3, 4)),), {"dx": 0.5, "axis": 0}),
    ((rng.normal(size=(4,)), np.array([0.0, 0.5, 1.5, 3.0])), {})])
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``np.trapezoid``: the trapezoidal rule (differentiable in ``y`` and ``x``)."""
    axis = int(axis) % np.ndim(y)
    n = np.shape(y)[axis]
    lead = (slice(None),) * axis
    widths = dx if x is None else diff(x)
    if x is not None and np.ndim(x) == 1 and np.ndim(y) > 1:
        widths = reshape(widths, (-1,) + (1,) * (np.ndim(y) - 1 - axis))
    heights = y[lead + (slice(1, n),)] + y[lead + (slice(0, n - 1),)]
    return sum_(widths * heights, axis=axis) / 2.0


@implements(np.interp, examples=lambda rng: [
    ((np.array([-0.5, 0.3, 1.7, 2.9, 4.0]), np.array([0.0, 1.0, 2.5, 3.0]),
      rng.normal(size=(4,))), {}),
    ((np.array([0.3, 1.7]), np.array([0.0, 1.0, 2.5]), rng.normal(size=(3,))),
     {"left": -1.0, "right": 2.0})])
def interp(x, xp, fp, left=None, right=None, period=None):
    """``np.interp``: piecewise-linear, differentiable in ``x``, ``xp`` and ``fp``."""
    if period is not None:
        raise NotImplementedError("np.interp(period=...) on traced values")
    n = np.shape(xp)[0]
    i = searchsorted(xp, x, side="right") - 1
    i = E.minimum(E.maximum(i, 0), n - 2)
    x0, x1, f0, f1 = getitem(xp, i), getitem(xp, i + 1), getitem(fp, i), getitem(fp, i + 1)
    t = (x - x0) / (x1 - x0)
    out = f0 + (f1 - f0) * t
    first, last = getitem(fp, 0), getitem(fp, n - 1)
    out = E.where(x < getitem(xp, 0), first if left is None else left, out)
    out = E.where(x > getitem(xp, n - 1), last if right is None else right, out)
    return E.where(x == getitem(xp, n - 1), last, out)  # numpy returns fp[-1] exactly there


@implements(np.cov, examples=lambda rng: [((rng.normal(size=(3, 6)),), {}),
                                          ((rng.normal(size=(6, 2)),), {"rowvar": False}),
                                          ((rng.normal(size=(5,)), rng.normal(size=(5,))),
                                           {"ddof": 0})])
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """``np.cov`` (without frequency/analytic weights)."""
    if fweights is not None or aweights is not None:
        raise NotImplementedError("np.cov with fweights/aweights on traced values")
    X = _atleast_2d(m)
    if not rowvar and np.shape(X)[0] != 1:
        X = transpose(X)
    if y is not None:
        Y = _atleast_2d(y)
        X = concatenate([X, transpose(Y) if not rowvar and np.shape(Y)[0] != 1 else Y], axis=0)
    ddof = (0 if bias else 1) if ddof is None else ddof
    centered = X - mean(X, axis=1, keepdims=True)
    c = matmul(centered, transpose(_conj(centered))) / (np.shape(X)[1] - ddof)
    return squeeze(c) if np.shape(c) == (1, 1) else c


@implements(np.corrcoef, examples=lambda rng: [((rng.normal(size=(3, 6)),), {})])
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``np.corrcoef``: the covariance scaled by the standard deviations (clipped to +-1)."""
    c = cov(x, y, rowvar)
    if np.ndim(c) == 0:
        return c / c
    d = E.sqrt(diagonal(c))
    c = c / reshape(d, (-1, 1)) / reshape(d, (1, -1))
    return E.clip(c, -1.0, 1.0)


def _polyval_examples(rng):
    return [((rng.normal(size=(3,)), rng.normal(size=(4,))), {})]


@implements(np.polyval, examples=_polyval_examples)
def polyval(p, x):
    """``np.polyval`` by Horner's rule (differentiable in the coefficients and in x)."""
    p = p if isinstance(p, Tracer) else np.asarray(p)
    out = getitem(p, 0) + 0.0 * x
    for k in range(1, np.shape(p)[0]):
        out = out * x + getitem(p, k)
    return out


@implements(np.vander, examples=lambda rng: [((rng.normal(size=(3,)),), {}),
                                             ((rng.normal(size=(3,)), 4), {"increasing": True})])
def vander(x, N=None, increasing=False):
    """``np.vander``: columns are powers of x."""
    n = np.shape(x)[0] if N is None else int(N)
    powers = np.arange(n, dtype=np.float64)
    if not increasing:
        powers = powers[::-1]
    return reshape(x, (-1, 1)) ** powers


@implements(np.nan_to_num, examples=lambda rng: [
    ((np.array([1.0, np.nan, np.inf, -np.inf, -2.0]),), {}),
    ((np.array([np.nan, 3.0, np.inf]),), {"nan": 5.0, "posinf": 9.0})])
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``np.nan_to_num``: replaced entries get no gradient, the rest pass through."""
    info = np.finfo(dtype_of(x)) if np.issubdtype(dtype_of(x), np.floating) else None
    if info is None:
        return x
    out = E.where(isnan(x), nan, x)
    out = E.where(isposinf(x), info.max if posinf is None else posinf, out)
    return E.where(isneginf(x), info.min if neginf is None else neginf, out)


@implements(np.bincount, examples=lambda rng: [
    ((np.array([0, 3, 1, 3]), rng.normal(size=(4,))), {}),
    ((np.array([1, 1]), rng.normal(size=(2,))), {"minlength": 4})])
def bincount(x, weights=None, minlength=0):
    """``np.bincount`` with traced ``weights``: a scatter-add (the counts are constants)."""
    counts = concrete(x, "np.bincount")  # the bin of each entry: a constant
    if weights is None:
        return np.bincount(counts, minlength=minlength)
    n = max(int(np.max(counts, initial=-1)) + 1, int(minlength))
    zeros = np.zeros(n, np.result_type(dtype_of(weights), np.float64))
    return at(zeros)[np.asarray(counts)].add(weights)


# --- convolution -----------------------------------------------------------------------
def _convolve_full(a, v):
    """Full 1-D convolution as one gather of ``v`` into a Toeplitz matrix and a matmul."""
    n, m = np.shape(a)[0], np.shape(v)[0]
    k, i = np.arange(n + m - 1)[:, None], np.arange(n)[None, :]
    j = k - i  # out[k] = sum_i a[i] v[k - i], where 0 <= k - i < m
    inside = (j >= 0) & (j < m)
    vpad = concatenate([v, np.zeros(1, dtype_of(v))], axis=0)  # index m reads a zero
    toeplitz = getitem(vpad, np.where(inside, j, m))
    return matmul(toeplitz, a)


def _mode_slice(full, n, m, mode):
    if mode == "full":
        return full
    if mode == "same":
        length, start = max(n, m), (min(n, m) - 1) // 2
    elif mode == "valid":
        length, start = max(n, m) - min(n, m) + 1, min(n, m) - 1
    else:
        raise ValueError(f"mode must be one of 'full', 'same', 'valid', not {mode!r}")
    return full[start:start + length]


def _conv_examples(rng):
    return [((rng.normal(size=(5,)), rng.normal(size=(3,))), {}),
            ((rng.normal(size=(3,)), rng.normal(size=(5,))), {"mode": "same"}),
            ((rng.normal(size=(6,)), rng.normal(size=(2,))), {"mode": "valid"})]


@implements(np.convolve, examples=_conv_examples)
def convolve(a, v, mode="full"):
    """``np.convolve`` of 1-D arrays (a Toeplitz gather and a matmul: BLAS derivatives)."""
    n, m = np.shape(a)[0], np.shape(v)[0]
    if n == 0 or m == 0:
        raise ValueError("v cannot be empty" if m == 0 else "a cannot be empty")
    return _mode_slice(_convolve_full(a, v), n, m, mode)


@implements(np.correlate, examples=_conv_examples)
def correlate(a, v, mode="valid"):
    """``np.correlate``: ``convolve(a, conj(v)[::-1])``."""
    return convolve(a, flip(_conj(v)), mode)


# --- array-API spellings and small helpers --------------------------------------------------
@implements(np.unstack, examples=lambda rng: [((rng.normal(size=(2, 3)),), {"axis": 1})])
def unstack(x, /, *, axis=0):
    """``np.unstack``: a tuple of the slices along ``axis``."""
    moved = moveaxis(x, axis, 0)
    return tuple(moved[i] for i in range(np.shape(moved)[0]))


def _block_depth(arrays):
    return 1 + _block_depth(arrays[0]) if type(arrays) is list else 0


def _block(arrays, depth, ndim):
    if type(arrays) is not list:
        a = arrays if isinstance(arrays, Tracer) else np.asarray(arrays)
        return reshape(a, (1,) * (ndim - np.ndim(a)) + np.shape(a))
    return concatenate([_block(a, depth - 1, ndim) for a in arrays], axis=-depth)


def _leaves(arrays):
    return [leaf for a in arrays for leaf in _leaves(a)] if type(arrays) is list else [arrays]


@implements(np.block, examples=lambda rng: [
    (([[rng.normal(size=(2, 2)), rng.normal(size=(2, 1))], [rng.normal(size=(1, 3))]],), {}),
    (([rng.normal(size=(2,)), 1.0],), {})])
def block(arrays):
    """``np.block``: nested lists concatenated along the last, then earlier, axes."""
    depth = _block_depth(arrays)
    ndim = max([depth] + [np.ndim(a) for a in _leaves(arrays)])
    return _block(arrays, depth, ndim)


@implements(np.diagflat, examples=lambda rng: [((rng.normal(size=(2, 2)),), {}),
                                               ((rng.normal(size=(3,)), -1), {})])
def diagflat(v, k=0):
    """``np.diagflat``: the flattened input on a diagonal."""
    return diag(ravel(v), k)


@implements(np.ediff1d, examples=lambda rng: [((rng.normal(size=(2, 3)),), {}),
                                              ((rng.normal(size=(4,)),), {"to_end": [1.0, 2.0],
                                                                          "to_begin": 0.5})])
def ediff1d(ary, to_end=None, to_begin=None):
    """``np.ediff1d``: differences of the flattened array, with optional ends."""
    parts = [diff(ravel(ary))]
    if to_begin is not None:
        parts.insert(0, ravel(to_begin if isinstance(to_begin, Tracer) else np.asarray(
            to_begin, dtype_of(ary))))
    if to_end is not None:
        parts.append(ravel(to_end if isinstance(to_end, Tracer) else np.asarray(
            to_end, dtype_of(ary))))
    return concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


@implements(np.compress, examples=lambda rng: [
    ((np.array([True, False, True]), rng.normal(size=(3, 2))), {"axis": 0}),
    ((np.array([False, True]), rng.normal(size=(2, 2))), {})])
def compress(condition, a, axis=None, out=None):
    """``np.compress`` with a constant condition: a gather."""
    keep = np.nonzero(np.asarray(concrete(condition, "np.compress")))[0]
    return take(a, keep, axis=axis)


@implements(np.extract, examples=lambda rng: [
    ((np.array([[True, False], [False, True]]), rng.normal(size=(2, 2))), {})])
def extract(condition, arr):
    """``np.extract`` with a constant condition."""
    keep = np.nonzero(np.ravel(concrete(condition, "np.extract")))[0]
    return take(ravel(arr), keep)


@implements(np.vecdot, np.linalg.vecdot, examples=lambda rng: [
    ((rng.normal(size=(2, 3)), rng.normal(size=(3,))), {})])
def vecdot(x1, x2, /, *, axis=-1, **kwargs):
    """``np.vecdot``: ``sum(conj(x1) * x2, axis)``."""
    return sum_(_conj(x1) * x2, axis=axis)


@implements(np.matvec, examples=lambda rng: [
    ((rng.normal(size=(2, 3, 4)), rng.normal(size=(4,))), {})])
def matvec(x1, x2, /, **kwargs):
    """``np.matvec``: ``x1 @ x2`` over the last axes."""
    return einsum("...ij,...j->...i", x1, x2)


@implements(np.vecmat, examples=lambda rng: [
    ((rng.normal(size=(3,)), rng.normal(size=(2, 3, 4))), {})])
def vecmat(x1, x2, /, **kwargs):
    """``np.vecmat``: ``conj(x1) @ x2`` over the last axes."""
    return einsum("...i,...ij->...j", _conj(x1), x2)


@implements(np.matrix_transpose, np.linalg.matrix_transpose, examples=lambda rng: [
    ((rng.normal(size=(2, 3, 4)),), {})])
def matrix_transpose(x, /):
    """``np.matrix_transpose``: swap the last two axes."""
    return swapaxes(x, -1, -2)


@implements(np.astype)
def astype_(x, dtype, /, *, copy=True, device=None):
    """``np.astype``: a cast (differentiable between float types)."""
    return convert(x, dtype)


@implements(np.linalg.matmul)
def linalg_matmul(x1, x2, /):
    """``np.linalg.matmul``."""
    return matmul(x1, x2)


@implements(np.linalg.tensordot)
def linalg_tensordot(x1, x2, /, *, axes=2):
    """``np.linalg.tensordot``."""
    return tensordot(x1, x2, axes)


@implements(np.linalg.outer)
def linalg_outer(x1, x2, /):
    """``np.linalg.outer`` of two vectors."""
    return outer(x1, x2)


@implements(np.linalg.cross)
def linalg_cross(x1, x2, /, *, axis=-1):
    """``np.linalg.cross`` of 3-vectors."""
    return cross(x1, x2, axis=axis)


@implements(np.linalg.diagonal, examples=lambda rng: [((rng.normal(size=(2, 3, 3)),), {})])
def linalg_diagonal(x, /, *, offset=0):
    """``np.linalg.diagonal``: over the last two axes."""
    return diagonal(x, offset, -2, -1)


@implements(np.linalg.trace, examples=lambda rng: [((rng.normal(size=(2, 3, 3)),), {})])
def linalg_trace(x, /, *, offset=0, dtype=None):
    """``np.linalg.trace``: over the last two axes."""
    return trace(x, offset, -2, -1)
