"""Shape ops: reshape, transpose and friends, concatenate and stack."""

from __future__ import annotations

import numpy as np

from ..core.primitive import VARIADIC, Primitive, implements
from ..core.rules import PerOperand
from ..core.shapes import ShapeDtypeStruct, ndim_of, normalize_axes, shape_of
from ..devices.array_module import get_array_module
from .families import Structural


def _batch_reshape(prim, args, dims, params):
    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0)
    size = shape_of(x)[0]
    newshape = params["newshape"]
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    return reshape(x, (size,) + newshape), 0


def _reshape_shape(prim, avals, params):
    (x,), newshape = avals, params["newshape"]
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    size = int(np.prod(x.shape, dtype=np.int64))
    known = int(np.prod([n for n in newshape if n != -1], dtype=np.int64))
    if -1 in newshape and known and size % known == 0:
        newshape = tuple(size // known if n == -1 else n for n in newshape)
    if int(np.prod(newshape, dtype=np.int64)) != size or -1 in newshape:
        raise ValueError(f"cannot reshape array of size {size} into shape {newshape}")
    return ShapeDtypeStruct(newshape, x.dtype)


def _reshape_impl(x, *, newshape):
    return np.reshape(x, newshape)


reshape_p = Primitive(
    "reshape", _reshape_impl, family=Structural, params=("newshape",),
    vjp=lambda g, ans, x, *, newshape: reshape_p(g, newshape=shape_of(x)),
    jvp=lambda t, ans, x, *, newshape: reshape_p(t, newshape=shape_of(ans)),
    batch=_batch_reshape, shape=_reshape_shape,
    examples=lambda rng: [((rng.normal(size=(2, 3)),), {"newshape": (3, 2)}),
                          ((rng.normal(size=(2, 3)),), {"newshape": (-1,)})])


@implements(np.reshape)
def reshape(a, newshape=None, order="C", *, shape=None):
    """``np.reshape`` (C order); a no-op when the shape already matches."""
    if shape is not None:
        newshape = shape
    if order != "C":
        raise NotImplementedError("gradlab's reshape supports order='C' only")
    if isinstance(newshape, (int, np.integer)):
        newshape = (newshape,)
    newshape = tuple(int(n) for n in newshape)
    if shape_of(a) == newshape:
        return a
    return reshape_p(a, newshape=newshape)


def _batch_transpose(prim, args, dims, params):
    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0)
    axes = params["axes"]
    return transpose_p(x, axes=(0,) + tuple(a + 1 for a in axes)), 0


transpose_p = Primitive(
    "transpose", lambda x, *, axes: np.transpose(x, axes), family=Structural,
    params=("axes",),
    vjp=lambda g, ans, x, *, axes: transpose_p(g, axes=tuple(np.argsort(axes))),
    jvp=lambda t, ans, x, *, axes: transpose_p(t, axes=axes),
    batch=_batch_transpose,
    shape=lambda prim, avals, params: ShapeDtypeStruct(
        tuple(avals[0].shape[a] for a in params["axes"]), avals[0].dtype),
    examples=lambda rng: [((rng.normal(size=(2, 3, 4)),), {"axes": (2, 0, 1)})])


@implements(np.transpose)
def transpose(a, axes=None):
    """``np.transpose``: reverse the axes, or permute them by ``axes``."""
    ndim = ndim_of(a)
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(int(x) % ndim for x in axes)
    if axes == tuple(range(ndim)):
        return a
    return transpose_p(a, axes=axes)


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    """``np.moveaxis`` as a transpose."""
    ndim = ndim_of(a)
    source = normalize_axes(source, ndim) if not isinstance(source, (int, np.integer)) else (
        int(source) % ndim,)
    if isinstance(destination, (int, np.integer)):
        destination = (int(destination) % ndim,)
    else:
        destination = tuple(int(x) % ndim for x in destination)
    if isinstance(source, tuple) and len(source) != len(destination):
        raise ValueError("moveaxis: source and destination must have the same length")
    order = [n for n in range(ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(a, order)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    """``np.swapaxes`` as a transpose."""
    order = list(range(ndim_of(a)))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return transpose(a, order)


@implements(np.expand_dims)
def expand_dims(a, axis):
    """``np.expand_dims`` as a reshape."""
    shape = list(shape_of(a))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out_ndim = len(shape) + len(axes)
    for ax in sorted(int(x) % out_ndim for x in axes):
        shape.insert(ax, 1)
    return reshape(a, tuple(shape))


@implements(np.squeeze)
def squeeze(a, axis=None):
    """``np.squeeze`` as a reshape."""
    shape = shape_of(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = normalize_axes(axis, len(shape))
        if any(shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, tuple(n for i, n in enumerate(shape) if i not in axes))


@implements(np.ravel)
def ravel(a, order="C"):
    """``np.ravel`` as a reshape."""
    return reshape(a, (-1,))


def _concatenate_vjp(i, g, ans, *xs, axis):
    return _concatenate_cotangents([j == i for j in range(len(xs))], g, ans, *xs, axis=axis)[i]


def _concatenate_cotangents(needed, g, ans, *xs, axis):
    """Every wanted operand's cotangent from one pass over the pieces: the slices of
    ``g`` (linear in the number of operands, where a rule per operand is quadratic)."""
    from .index import getitem

    axis %= ndim_of(g)
    lead = (slice(None),) * axis
    cts, start = [], 0
    for x, wanted in zip(xs, needed):
        size = shape_of(x)[axis]
        cts.append(getitem(g, lead + (slice(start, start + size),)) if wanted else None)
        start += size
    return cts


def _batch_concatenate(prim, args, dims, params):
    size = next(shape_of(a)[d] for a, d in zip(args, dims) if d is not None)
    moved = []
    for a, d in zip(args, dims):
        if d is None:
            from .families import broadcast_to_p

            a = broadcast_to_p(a, shape=(size,) + tuple(shape_of(a)))
        else:
            a = moveaxis(a, d, 0)
        moved.append(a)
    axis = params["axis"] % (ndim_of(moved[0]) - 1)
    return concatenate_p(*moved, axis=axis + 1), 0


def _concatenate_jvp(i, t, ans, *xs, axis):
    return _concatenate_tangent([t if j == i else None for j in range(len(xs))], ans, *xs,
                                axis=axis)


def _concatenate_tangent(tangents, ans, *xs, axis):
    """The output's tangent from all the operands' at once: one concatenate, zeros for
    the operands without a tangent (``None``)."""
    dtype = np.result_type(*(getattr(t, "dtype", None) or np.result_type(t)
                             for t in tangents if t is not None))
    xp = get_array_module(next(t for t in tangents if t is not None))
    parts = [xp.zeros(shape_of(x), dtype) if t is None else t for t, x in zip(tangents, xs)]
    return concatenate_p(*parts, axis=axis)


builtin_sum = sum


def _concatenate_shape(prim, avals, params):
    first = avals[0].shape
    axis = params["axis"] % len(first)
    for a in avals[1:]:
        if len(a.shape) != len(first) or any(
                n != m for i, (n, m) in enumerate(zip(a.shape, first)) if i != axis):
            raise ValueError(f"all the input array dimensions except for the concatenation axis "
                             f"must match: {[tuple(b.shape) for b in avals]}")
    out = first[:axis] + (builtin_sum(a.shape[axis] for a in avals),) + first[axis + 1:]
    return ShapeDtypeStruct(tuple(out), np.result_type(*(a.dtype for a in avals)))

concatenate_p = Primitive(
    "concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis), family=Structural,
    nin=VARIADIC, vjp=PerOperand(_concatenate_vjp, joint=_concatenate_cotangents),
    jvp=PerOperand(_concatenate_jvp, joint=_concatenate_tangent), batch=_batch_concatenate,
    shape=_concatenate_shape,
    examples=lambda rng: [((rng.normal(size=(2, 3)), rng.normal(size=(1, 3))), {"axis": 0}),
                          ((rng.normal(size=(2, 3)), rng.normal(size=(2, 2))), {"axis": -1})])


@implements(np.concatenate)
def concatenate(arrays, axis=0):
    """``np.concatenate`` of a sequence of (possibly traced) arrays."""
    arrays = tuple(arrays)
    if axis is None:
        arrays, axis = tuple(ravel(a) for a in arrays), 0
    axis = int(axis) % ndim_of(arrays[0])
    return concatenate_p(*arrays, axis=axis)


@implements(np.stack)
def stack(arrays, axis=0):
    """``np.stack``: expand each array at ``axis`` and concatenate."""
    arrays = tuple(arrays)
    ndim = ndim_of(arrays[0]) + 1
    axis = int(axis) % ndim
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)
