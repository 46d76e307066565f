"""Building and splitting arrays: ``np.array`` of traced values, broadcasting, stacks, splits.

All are compositions of ``reshape``, ``broadcast_to``, ``concatenate`` and basic
slicing, so their derivatives and batching come from those primitives.

>>> import numpy as np, gradlab as gl
>>> float(gl.grad(lambda x: np.sum(np.array([[x, 2.0], [3.0, x * x]])))(3.0))
7.0
"""

from __future__ import annotations

import numpy as np

from ..core import arguments
from ..core.primitive import implements
from ..core.trace import Tracer
from .families import broadcast_to_p
from .misc import convert, dtype_of
from .shape import concatenate, reshape, stack


# --- np.array over nested lists of traced values ----------------------------------------
def _from_nested(obj):
    if isinstance(obj, Tracer):
        return obj
    if type(obj) in (list, tuple):
        items = [_from_nested(o) for o in obj]
        if not any(isinstance(i, Tracer) for i in items):
            return np.array(items)
        dtype = np.result_type(*[dtype_of(i) for i in items])
        return stack([i if isinstance(i, Tracer) else np.asarray(i, dtype) for i in items])
    return np.asarray(obj)


arguments.ARRAY_FROM_NESTED[0] = _from_nested  # np.mean([a, b]) and every array_like


def _array_examples(rng):
    return [(([rng.normal(size=()), 2.0, rng.normal(size=())],), {}),
            (([[rng.normal(size=()), 1.0], [rng.normal(size=()), rng.normal(size=())]],), {}),
            ((rng.normal(size=(2, 3)),), {"ndmin": 3})]


@implements(np.array, examples=_array_examples)
def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """``np.array`` of a traced value or (nested) lists holding traced values: a stack."""
    out = _from_nested(object)
    if dtype is not None:
        out = convert(out, dtype)
    if np.ndim(out) < ndmin:
        out = reshape(out, (1,) * (ndmin - np.ndim(out)) + np.shape(out))
    return out


@implements(np.asarray, np.asanyarray, np.ascontiguousarray, np.asfortranarray)
def asarray(a, dtype=None, *args, **kwargs):
    """``np.asarray`` and kin: a traced value as it is (converted to ``dtype`` if given)."""
    out = _from_nested(a)
    return out if dtype is None else convert(out, dtype)


@implements(np.copy)
def copy(a, order="K", subok=False):
    """``np.copy``: traced arrays are immutable, so the value itself."""
    return _from_nested(a)


# --- broadcasting and at-least-n-d --------------------------------------------------------
@implements(np.broadcast_to, examples=lambda rng: [
    ((rng.normal(size=(3,)), (2, 3)), {}), ((rng.normal(size=(2, 1)), (4, 2, 5)), {})])
def broadcast_to(array, shape, subok=False):
    """``np.broadcast_to``; its VJP sums over the broadcast axes."""
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)
    if np.shape(array) == shape:
        return array
    return broadcast_to_p(array, shape=shape)


@implements(np.broadcast_arrays, examples=lambda rng: [
    ((rng.normal(size=(3,)), rng.normal(size=(2, 1))), {})])
def broadcast_arrays(*args, subok=False):
    """``np.broadcast_arrays``: a tuple of the arguments broadcast to one shape."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(broadcast_to(a, shape) for a in args)


def _at_least(arys, fn):
    out = tuple(fn(a) for a in arys)
    return out[0] if len(out) == 1 else out


def _atleast_2d(a):
    shape = np.shape(a)
    return reshape(a, (1,) * (2 - len(shape)) + shape) if len(shape) < 2 else a


def _atleast_3d(a):
    shape = np.shape(a)
    if len(shape) == 0:
        return reshape(a, (1, 1, 1))
    if len(shape) == 1:
        return reshape(a, (1,) + shape + (1,))
    if len(shape) == 2:
        return reshape(a, shape + (1,))
    return a


@implements(np.atleast_1d, examples=lambda rng: [((rng.normal(size=()),), {}),
                                                 ((rng.normal(size=(2,)),), {})])
def atleast_1d(*arys):
    """``np.atleast_1d``."""
    return _at_least(arys, lambda a: reshape(a, (1,)) if np.ndim(a) == 0 else a)


@implements(np.atleast_2d, examples=lambda rng: [((rng.normal(size=(3,)),), {}),
                                                 ((rng.normal(size=()), rng.normal(size=(2,))),
                                                  {})])
def atleast_2d(*arys):
    """``np.atleast_2d``: 1-D arrays become rows."""
    return _at_least(arys, _atleast_2d)


@implements(np.atleast_3d, examples=lambda rng: [((rng.normal(size=(3,)),), {}),
                                                 ((rng.normal(size=(2, 3)),), {})])
def atleast_3d(*arys):
    """``np.atleast_3d``: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _at_least(arys, _atleast_3d)


# --- stacks -----------------------------------------------------------------------------
def _stack_examples(rng):
    return [(([rng.normal(size=(3,)), rng.normal(size=(3,))],), {}),
            (([rng.normal(size=(2, 3)), rng.normal(size=(1, 3))],), {})]


@implements(np.vstack, examples=_stack_examples)
def vstack(tup, *, dtype=None, casting="same_kind"):
    """``np.vstack``: rows on top of each other."""
    return concatenate([_atleast_2d(a) for a in tup], axis=0)


@implements(np.hstack, examples=lambda rng: [
    (([rng.normal(size=(3,)), rng.normal(size=(2,))],), {}),
    (([rng.normal(size=(2, 3)), rng.normal(size=(2, 1))],), {})])
def hstack(tup, *, dtype=None, casting="same_kind"):
    """``np.hstack``: side by side (along the first axis for 1-D arrays)."""
    arrs = [reshape(a, (1,)) if np.ndim(a) == 0 else a for a in tup]
    return concatenate(arrs, axis=0 if np.ndim(arrs[0]) == 1 else 1)


@implements(np.dstack, examples=lambda rng: [
    (([rng.normal(size=(3,)), rng.normal(size=(3,))],), {}),
    (([rng.normal(size=(2, 3)), rng.normal(size=(2, 3, 2))],), {})])
def dstack(tup):
    """``np.dstack``: along the third axis."""
    return concatenate([_atleast_3d(a) for a in tup], axis=2)


@implements(np.column_stack, examples=lambda rng: [
    (([rng.normal(size=(3,)), rng.normal(size=(3, 2))],), {})])
def column_stack(tup):
    """``np.column_stack``: 1-D arrays become columns."""
    return concatenate([reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup], axis=1)


if hasattr(np, "row_stack"):
    implements(np.row_stack)(vstack)


# --- splits -----------------------------------------------------------------------------
def _split_points(n, indices_or_sections, even):
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if even and n % sections:
            raise ValueError("array split does not result in an equal division")
        size, extra = divmod(n, sections)
        sizes = [size + 1] * extra + [size] * (sections - extra)
        return list(np.cumsum([0] + sizes))
    return [0] + [int(i) for i in indices_or_sections] + [n]


def _split(ary, indices_or_sections, axis, even):
    axis = int(axis) % np.ndim(ary)
    points = _split_points(np.shape(ary)[axis], indices_or_sections, even)
    lead = (slice(None),) * axis
    return [ary[lead + (slice(int(a), int(b)),)] for a, b in zip(points[:-1], points[1:])]


def _split_examples(rng):
    return [((rng.normal(size=(6, 2)), 3), {}), ((rng.normal(size=(2, 5)), [1, 3]), {"axis": 1})]


@implements(np.split, examples=_split_examples)
def split(ary, indices_or_sections, axis=0):
    """``np.split`` into equal sections or at indices (a list of slices)."""
    return _split(ary, indices_or_sections, axis, even=True)


@implements(np.array_split, examples=lambda rng: [((rng.normal(size=(7,)), 3), {})])
def array_split(ary, indices_or_sections, axis=0):
    """``np.array_split``: sections may differ in length by one."""
    return _split(ary, indices_or_sections, axis, even=False)


def _split_along(name, axis_for, min_ndim):
    def split_fn(ary, indices_or_sections):
        if np.ndim(ary) < min_ndim:
            raise ValueError(f"{name} only works on arrays of {min_ndim} or more dimensions")
        return _split(ary, indices_or_sections, axis_for(np.ndim(ary)), even=True)

    split_fn.__name__ = name
    split_fn.__doc__ = f"``np.{name}``."
    return split_fn


vsplit = implements(np.vsplit, examples=lambda rng: [((rng.normal(size=(4, 2)), 2), {})])(
    _split_along("vsplit", lambda nd: 0, 2))
hsplit = implements(np.hsplit, examples=lambda rng: [((rng.normal(size=(2, 4)), [1]), {})])(
    _split_along("hsplit", lambda nd: 1 if nd > 1 else 0, 1))
dsplit = implements(np.dsplit, examples=lambda rng: [((rng.normal(size=(1, 2, 4)), 2), {})])(
    _split_along("dsplit", lambda nd: 2, 3))
