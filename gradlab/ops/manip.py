"""Rearranging arrays: pad, repeat, tile, roll, flip, rot90, tril/triu, diag, diff, gradient,
select, choose, append, insert, delete.

Most are compositions of slicing, reshapes and broadcasts (whose VJPs are cheap sums
and slices). Where numpy's own index bookkeeping is intricate (``insert``,
``delete``, the non-constant ``pad`` modes) gradlab runs numpy's function on an
array of *labels* (each element's flat position) and gathers by the result: the
semantics are numpy's by construction, and the gather's VJP scatter-adds.

>>> import numpy as np, gradlab as gl
>>> gl.grad(lambda x: np.sum(np.pad(x, 1, mode="edge")))(np.ones(3)).tolist()
[2.0, 1.0, 2.0]
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct
from ..core.trace import Tracer
from ..devices.array_module import on_device_of
from .elementwise import where
from .families import Structural
from .index import getitem
from .misc import dtype_of
from .shape import concatenate, expand_dims, moveaxis, ravel, reshape, stack, transpose
from .stacking import broadcast_to


def _gather_labels(x, labels):
    """``ravel(x)[labels]``: ``labels`` are flat positions computed by numpy itself."""
    return getitem(ravel(x), labels)


def _labels(shape):
    return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)


# --- pad -----------------------------------------------------------------------------------
def _pad_impl(x, *, pad_width, constant_values=0):
    return np.pad(x, pad_width, mode="constant", constant_values=constant_values)


def _unpad(g, pad_width):
    return g[tuple(slice(lo, np.shape(g)[i] - hi) for i, (lo, hi) in enumerate(pad_width))]


def _batch_pad(prim, args, dims, params):
    (x,), (d,) = args, dims
    return prim(moveaxis(x, d, 0), **dict(params, pad_width=((0, 0),) + params["pad_width"])), 0


def _pad_shape(prim, avals, params):
    (x,) = avals
    shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, params["pad_width"]))
    return ShapeDtypeStruct(shape, x.dtype)


pad_p = Primitive(
    "pad", _pad_impl, family=Structural, params=("pad_width",),
    vjp=lambda g, ans, x, *, pad_width, constant_values=0: _unpad(g, pad_width),
    jvp=lambda t, ans, x, *, pad_width, constant_values=0: pad_p(t, pad_width=pad_width),
    batch=_batch_pad, shape=_pad_shape,
    examples=lambda rng: [((rng.normal(size=(3,)),), {"pad_width": ((1, 2),)}),
                          ((rng.normal(size=(2, 3)),), {"pad_width": ((0, 1), (2, 0)),
                                                        "constant_values": 1.5})],
    doc="``np.pad(x, pad_width, mode='constant')``; its VJP slices the padding off.")


def _pad_widths(pad_width, ndim):
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    return tuple((int(lo), int(hi)) for lo, hi in widths)


@implements(np.pad, examples=lambda rng: [
    ((rng.normal(size=(3,)), 2), {}), ((rng.normal(size=(2, 3)), ((1, 0), (0, 2))), {}),
    ((rng.normal(size=(4,)), (2, 3)), {"mode": "reflect"}),
    ((rng.normal(size=(2, 3)), 1), {"mode": "edge"}),
    ((rng.normal(size=(3,)), (1, 4)), {"mode": "wrap"}),
    ((rng.normal(size=(3, 2)), 2), {"mode": "symmetric"})])
def pad(array, pad_width, mode="constant", **kwargs):
    """``np.pad``: constant padding is a primitive; edge/reflect/symmetric/wrap are gathers."""
    widths = _pad_widths(pad_width, np.ndim(array))
    if mode in ("constant", "empty"):
        c = kwargs.get("constant_values", 0)
        if isinstance(c, Tracer) or np.ndim(c) != 0:
            raise NotImplementedError("np.pad constant_values on traced code: a constant scalar")
        return pad_p(array, pad_width=widths, constant_values=c)
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise NotImplementedError(f"np.pad(mode={mode!r}) on traced values: gradlab supports "
                                  "constant, edge, reflect, symmetric and wrap")
    return _gather_labels(array, np.pad(_labels(np.shape(array)), widths, mode=mode, **kwargs))


# --- repeat, tile, roll, flip, rot90 -------------------------------------------------------
@implements(np.repeat, examples=lambda rng: [
    ((rng.normal(size=(2, 3)), 2), {}), ((rng.normal(size=(2, 3)), 3), {"axis": 1}),
    ((rng.normal(size=(3,)), [1, 0, 2]), {"axis": 0})])
def repeat(a, repeats, axis=None):
    """``np.repeat``: a broadcast for a scalar count, a gather for per-element counts."""
    if axis is None:
        a, axis = ravel(a), 0
    axis = int(axis) % np.ndim(a)
    shape = np.shape(a)
    if np.ndim(repeats) == 0:
        wide = broadcast_to(expand_dims(a, axis + 1),
                            shape[:axis + 1] + (int(repeats),) + shape[axis + 1:])
        return reshape(wide, shape[:axis] + (shape[axis] * int(repeats),) + shape[axis + 1:])
    index = np.repeat(np.arange(shape[axis]), repeats)
    return getitem(a, (slice(None),) * axis + (index,))


@implements(np.tile, examples=lambda rng: [((rng.normal(size=(3,)), 2), {}),
                                           ((rng.normal(size=(2, 3)), (2, 1, 2)), {})])
def tile(A, reps):
    """``np.tile`` as one broadcast (its VJP is a sum)."""
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    d = max(np.ndim(A), len(reps))
    shape = (1,) * (d - np.ndim(A)) + np.shape(A)
    reps = (1,) * (d - len(reps)) + reps
    interleaved = reshape(A, tuple(n for s in shape for n in (1, s)))
    wide = broadcast_to(interleaved, tuple(n for r, s in zip(reps, shape) for n in (r, s)))
    return reshape(wide, tuple(r * s for r, s in zip(reps, shape)))


@implements(np.roll, examples=lambda rng: [((rng.normal(size=(5,)), 2), {}),
                                           ((rng.normal(size=(2, 3)), -1), {"axis": 1}),
                                           ((rng.normal(size=(2, 3)), 4), {}),
                                           ((rng.normal(size=(2, 3)), (1, 2)), {"axis": (0, 1)})])
def roll(a, shift, axis=None):
    """``np.roll`` as two slices and a concatenate."""
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), np.shape(a))
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    for s, ax in zip(shifts.reshape(-1), axes.reshape(-1)):
        ax = int(ax) % np.ndim(a)
        n = np.shape(a)[ax]
        s = int(s) % n if n else 0
        if s:
            lead = (slice(None),) * ax
            a = concatenate([a[lead + (slice(n - s, None),)], a[lead + (slice(0, n - s),)]],
                            axis=ax)
    return a


@implements(np.flip, examples=lambda rng: [((rng.normal(size=(2, 3)),), {}),
                                           ((rng.normal(size=(2, 3)),), {"axis": 1}),
                                           ((rng.normal(size=(2, 3, 2)),), {"axis": (0, 2)})])
def flip(m, axis=None):
    """``np.flip``: a reversed slice along ``axis`` (all axes when None)."""
    ndim = np.ndim(m)
    axes = range(ndim) if axis is None else [int(a) % ndim for a in np.atleast_1d(axis)]
    index = [slice(None)] * ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return m[tuple(index)]


@implements(np.fliplr, examples=lambda rng: [((rng.normal(size=(2, 3)),), {})])
def fliplr(m):
    """``np.fliplr``."""
    return flip(m, 1)


@implements(np.flipud, examples=lambda rng: [((rng.normal(size=(2, 3)),), {})])
def flipud(m):
    """``np.flipud``."""
    return flip(m, 0)


@implements(np.rot90, examples=lambda rng: [((rng.normal(size=(2, 3)),), {}),
                                            ((rng.normal(size=(2, 3)), 2), {}),
                                            ((rng.normal(size=(2, 3, 2)), 3), {"axes": (2, 0)})])
def rot90(m, k=1, axes=(0, 1)):
    """``np.rot90``: flips and a transpose, as numpy does it."""
    ndim = np.ndim(m)
    a0, a1 = int(axes[0]) % ndim, int(axes[1]) % ndim
    if a0 == a1 or len(axes) != 2:
        raise ValueError("Axes must be different.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    order = list(range(ndim))
    order[a0], order[a1] = order[a1], order[a0]
    return transpose(flip(m, a1), order) if k == 1 else flip(transpose(m, order), a1)


# --- triangles and diagonals ---------------------------------------------------------------
@implements(np.tril, examples=lambda rng: [((rng.normal(size=(3, 3)),), {}),
                                           ((rng.normal(size=(2, 3, 4)),), {"k": 1})])
def tril(m, k=0):
    """``np.tril``: the lower triangle (a mask, so its VJP masks too)."""
    shape = np.shape(m)
    mask = np.tri(*shape[-2:], k=k, dtype=bool) if len(shape) >= 2 else np.tri(shape[0], k=k,
                                                                                dtype=bool)
    return where(on_device_of(m, mask), m, on_device_of(m, np.zeros((), dtype_of(m))))


@implements(np.triu, examples=lambda rng: [((rng.normal(size=(3, 3)),), {}),
                                           ((rng.normal(size=(3, 4)),), {"k": -1})])
def triu(m, k=0):
    """``np.triu``: the upper triangle."""
    shape = np.shape(m)
    rows, cols = (shape[-2:] if len(shape) >= 2 else (shape[0], shape[0]))
    mask = ~np.tri(rows, cols, k=k - 1, dtype=bool)
    return where(on_device_of(m, mask), m, on_device_of(m, np.zeros((), dtype_of(m))))


def _diagonal_index(rows, cols, offset):
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    i = np.arange(n)
    return i - min(offset, 0), i + max(offset, 0)


@implements(np.diagonal, examples=lambda rng: [((rng.normal(size=(3, 4)),), {}),
                                               ((rng.normal(size=(3, 4)), 1), {}),
                                               ((rng.normal(size=(2, 3, 3)), -1, 1, 2), {})])
def diagonal(a, offset=0, axis1=0, axis2=1):
    """``np.diagonal``: a gather; the diagonal becomes the last axis."""
    moved = moveaxis(a, (axis1, axis2), (-2, -1))
    rows, cols = np.shape(moved)[-2:]
    r, c = _diagonal_index(rows, cols, int(offset))
    return moved[..., r, c]


@implements(np.diag, examples=lambda rng: [((rng.normal(size=(3,)),), {}),
                                           ((rng.normal(size=(3,)), -1), {}),
                                           ((rng.normal(size=(3, 4)), 1), {})])
def diag(v, k=0):
    """``np.diag``: the diagonal of a matrix, or a matrix with ``v`` on its diagonal."""
    if np.ndim(v) == 2:
        return diagonal(v, k)
    if np.ndim(v) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = np.shape(v)[0] + abs(int(k))
    r, c = _diagonal_index(n, n, int(k))
    from .index import at

    return at(np.zeros((n, n), dtype_of(v)))[r, c].set(v)


# --- finite differences ---------------------------------------------------------------------
def _along(axis, ndim, s):
    return (slice(None),) * axis + (s,) + (slice(None),) * (ndim - axis - 1)


def _edge_value(value, a, axis):
    if not isinstance(value, Tracer):
        value = np.asarray(value)
    if np.ndim(value) == 0:
        shape = list(np.shape(a))
        shape[axis] = 1
        return broadcast_to(value, tuple(shape)) if isinstance(value, Tracer) else np.full(
            shape, value, np.result_type(dtype_of(a), dtype_of(value)))
    return value


@implements(np.diff, examples=lambda rng: [((rng.normal(size=(5,)),), {}),
                                           ((rng.normal(size=(3, 4)), 2), {"axis": 0}),
                                           ((rng.normal(size=(4,)),), {"prepend": 0.5,
                                                                       "append": [1.0, 2.0]})])
def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """``np.diff``: ``n`` rounds of ``a[1:] - a[:-1]`` along ``axis``."""
    ndim = np.ndim(a)
    axis = int(axis) % ndim
    parts = [a]
    if prepend is not np._NoValue:
        parts.insert(0, _edge_value(prepend, a, axis))
    if append is not np._NoValue:
        parts.append(_edge_value(append, a, axis))
    if len(parts) > 1:
        a = concatenate(parts, axis=axis)
    for _ in range(n):
        a = a[_along(axis, ndim, slice(1, None))] - a[_along(axis, ndim, slice(None, -1))]
    return a


def _gradient_1d(f, axis, h, edge_order):
    """numpy's second-order central differences along ``axis`` with spacing ``h``."""
    nd = np.ndim(f)

    def s(sl):
        return f[_along(axis, nd, sl)]

    if np.ndim(h) == 0:
        inner = (s(slice(2, None)) - s(slice(None, -2))) / (2.0 * h)
        if edge_order == 1:
            first = (s(slice(1, 2)) - s(slice(0, 1))) / h
            last = (s(slice(-1, None)) - s(slice(-2, -1))) / h
        else:
            first = (-1.5 * s(slice(0, 1)) + 2.0 * s(slice(1, 2)) - 0.5 * s(slice(2, 3))) / h
            last = (0.5 * s(slice(-3, -2)) - 2.0 * s(slice(-2, -1)) + 1.5 * s(slice(-1, None))) / h
        return concatenate([first, inner, last], axis=axis)
    if edge_order != 1:
        raise NotImplementedError("np.gradient with coordinate arrays and edge_order=2")
    h = h if isinstance(h, Tracer) else np.asarray(h, dtype=np.float64)
    dx = h[1:] - h[:-1]  # gradlab ops: the coordinates may be traced too
    shape = [1] * nd
    shape[axis] = -1
    dx1, dx2 = reshape(dx[:-1], tuple(shape)), reshape(dx[1:], tuple(shape))
    a, b, c = -dx2 / (dx1 * (dx1 + dx2)), (dx2 - dx1) / (dx1 * dx2), dx1 / (dx2 * (dx1 + dx2))
    inner = a * s(slice(None, -2)) + b * s(slice(1, -1)) + c * s(slice(2, None))
    first = (s(slice(1, 2)) - s(slice(0, 1))) / dx[0]
    last = (s(slice(-1, None)) - s(slice(-2, -1))) / dx[-1]
    return concatenate([first, inner, last], axis=axis)


@implements(np.gradient, examples=lambda rng: [
    ((rng.normal(size=(5,)),), {}), ((rng.normal(size=(4, 5)), 0.5), {"axis": 1}),
    ((rng.normal(size=(5,)),), {"edge_order": 2}),
    ((rng.normal(size=(5,)), np.array([0.0, 0.5, 1.5, 1.75, 3.0])), {})])
def gradient(f, *varargs, axis=None, edge_order=1):
    """``np.gradient`` (uniform spacings; coordinate arrays with ``edge_order=1``)."""
    nd = np.ndim(f)
    axes = tuple(range(nd)) if axis is None else tuple(
        int(a) % nd for a in np.atleast_1d(axis))
    spacing = list(varargs) if len(varargs) > 1 else list(varargs) * len(axes)
    spacing = spacing or [1.0] * len(axes)
    if len(spacing) != len(axes):
        raise TypeError("invalid number of arguments")
    out = tuple(_gradient_1d(f, ax, h, edge_order) for ax, h in zip(axes, spacing))
    return out[0] if len(out) == 1 else out


# --- selection -----------------------------------------------------------------------------
@implements(np.select, examples=lambda rng: [
    (([np.array([True, False, False]), np.array([False, True, False])],
      [rng.normal(size=(3,)), rng.normal(size=(3,))], 0.5), {})])
def select(condlist, choicelist, default=0):
    """``np.select``: the first true condition's choice, as nested ``where``."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = where(cond, choice, out)
    return out


@implements(np.choose, examples=lambda rng: [
    ((np.array([0, 2, 1, 0]), [rng.normal(size=(4,)), rng.normal(size=(4,)),
                               rng.normal(size=(4,))]), {})])
def choose(a, choices, out=None, mode="raise"):
    """``np.choose``: a gather from the stacked (broadcast) choices."""
    from .elementwise import maximum, minimum, remainder
    from .index import take_along_axis

    n = len(choices)
    if mode == "wrap":
        a = remainder(a, n)
    elif mode == "clip":
        a = minimum(maximum(a, 0), n - 1)
    shape = np.broadcast_shapes(np.shape(a), *(np.shape(c) for c in choices))
    dtype = np.result_type(*(dtype_of(c) for c in choices))
    stacked = stack([broadcast_to(c if isinstance(c, Tracer) else np.asarray(c, dtype), shape)
                     for c in choices])
    index = expand_dims(broadcast_to(a, shape), 0)
    return take_along_axis(stacked, index, 0)[0]


# --- append, insert, delete ----------------------------------------------------------------
@implements(np.append, examples=lambda rng: [
    ((rng.normal(size=(2, 2)), rng.normal(size=(3,))), {}),
    ((rng.normal(size=(2, 2)), rng.normal(size=(1, 2))), {"axis": 0})])
def append(arr, values, axis=None):
    """``np.append``: a concatenate (of the flattened arrays when ``axis`` is None)."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


@implements(np.insert, examples=lambda rng: [
    ((rng.normal(size=(4,)), 1, 5.0), {}), ((rng.normal(size=(2, 3)), [0, 2], rng.normal(
        size=(2,))), {"axis": 1}), ((rng.normal(size=(2, 2)), 1, rng.normal(size=(2,))),
                                    {"axis": 0})])
def insert(arr, obj, values, axis=None):
    """``np.insert``: numpy inserts labels, gradlab gathers from ``arr`` and ``values``."""
    if isinstance(obj, Tracer):
        raise TypeError("np.insert: the insertion indices must be constants")
    values = values if isinstance(values, Tracer) else np.asarray(values, dtype_of(arr))
    size = int(np.prod(np.shape(arr), dtype=np.int64))
    value_labels = -1 - _labels(np.shape(values))
    labels = np.insert(_labels(np.shape(arr)), obj, value_labels, axis=axis)
    flat_index = np.where(labels >= 0, labels, size - 1 - labels)
    return getitem(concatenate([ravel(arr), ravel(values)], axis=0), flat_index)


@implements(np.delete, examples=lambda rng: [
    ((rng.normal(size=(5,)), [0, 3]), {}), ((rng.normal(size=(3, 4)), 1), {"axis": 1}),
    ((rng.normal(size=(3, 4)), slice(0, 2)), {"axis": 0})])
def delete(arr, obj, axis=None):
    """``np.delete``: a gather of the labels numpy keeps."""
    if isinstance(obj, Tracer):
        raise TypeError("np.delete: the indices to delete must be constants")
    return _gather_labels(arr, np.delete(_labels(np.shape(arr)), obj, axis=axis))
