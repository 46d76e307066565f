"""Indexing: gather forward, scatter-add backward; functional updates via ``x.at[idx]``.

An index is split into a static *skeleton* (slices, ints, None, Ellipsis, constant
arrays: a parameter) and the traced integer arrays in it (operands, marked in the
skeleton by ``Slot(k)``). Integer indices carry no derivative, but under ``vmap``
they can be batched (``x[np.argmax(x)]``), so they must be operands that the
batching level sees. With no traced index, nothing but ``x`` is an operand.

>>> import numpy as np, gradlab as gl
>>> gl.grad(lambda x: np.sum(x[np.array([0, 0, 2])]))(np.ones(3)).tolist()
[2.0, 0.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import ConcretizationError, InPlaceMutationError, user_location
from ..core.primitive import VARIADIC, Primitive, implements
from ..core.rules import PerOperand
from ..core.shapes import ShapeDtypeStruct
from ..core.sparse import IndexedCotangent, is_basic_index
from ..core.trace import Tracer
from ..devices.array_module import get_array_module
from .families import Structural, unbroadcast


class Slot:
    """Marks where traced index array ``k`` sits in an index skeleton."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __repr__(self):
        return f"Slot({self.k})"

    def __eq__(self, other):
        return type(other) is Slot and other.k == self.k

    def __hash__(self):
        return hash(("Slot", self.k))


def fill(idx, arrays):
    """The index ``idx`` with each ``Slot(k)`` replaced by ``arrays[k]``."""
    if not arrays:
        return idx
    return tuple(arrays[e.k] if type(e) is Slot else e for e in idx)


def _zeros_like(x):
    dtype = x.dtype if hasattr(x, "dtype") else np.result_type(x)
    return get_array_module(x).zeros(np.shape(x), dtype)


def _getitem_impl(x, *arrays, idx):
    return x[fill(idx, arrays)]


def _index_add_impl(x, v, *arrays, idx):
    idx = fill(idx, arrays)
    out = _copy_for_update(x, v)
    if is_basic_index(idx):
        out[idx] += v  # a basic index selects each element at most once
    else:
        np.add.at(out, idx, v)  # repeated indices accumulate
    return out


def _copy_for_update(x, v):
    """A fresh copy of ``x`` to write ``v`` into (complex if ``v`` is), on ``x``'s device."""
    if not hasattr(x, "astype"):
        x = np.asarray(x)
    v_dtype = getattr(v, "dtype", None)
    complex_v = v_dtype.kind == "c" if v_dtype is not None else isinstance(v, complex)
    return x.astype(np.result_type(x.dtype, v_dtype or v) if complex_v else x.dtype, copy=True)


def _index_set_impl(x, v, *arrays, idx):
    out = _copy_for_update(x, v)
    out[fill(idx, arrays)] = v
    return out


def _indexed_shape(x, arrays, idx):
    """The shape of ``x[idx]`` from shapes alone: zero-byte stand-ins allocate nothing.

    A traced boolean mask selects as many entries as it has True ones: data, which a
    shape-only evaluation does not have (an all-False stand-in would claim size 0).
    """
    if any(np.dtype(a.dtype) == bool for a in arrays):
        raise ConcretizationError(
            f"x[mask] with a traced boolean mask at {user_location()}: the result's shape "
            "depends on the data (how many entries are True), which eval_shape does not "
            "compute. Keep the shape fixed with np.where(mask, x, 0), or index with a "
            "constant mask.")
    stand_in = np.broadcast_to(np.zeros((), np.dtype([])), tuple(x.shape))
    arrays = [np.broadcast_to(np.zeros((), a.dtype), tuple(a.shape)) for a in arrays]
    return stand_in[fill(idx, arrays)].shape


def _getitem_shape(prim, avals, params):
    x, *arrays = avals
    return ShapeDtypeStruct(_indexed_shape(x, arrays, params["idx"]), x.dtype)


def _update_shape(prim, avals, params):
    x, v, *arrays = avals
    if tuple(v.shape) == () and any(np.dtype(a.dtype) == bool for a in arrays):
        fits = True  # x.at[mask].set(0.0): a scalar fits however many entries are True
    else:
        target = _indexed_shape(x, arrays, params["idx"])
        try:
            fits = np.broadcast_shapes(tuple(v.shape), target) == target
        except ValueError:
            fits = False
    if not fits:
        raise ValueError(f"cannot put values of shape {tuple(v.shape)} into x[idx] of shape "
                         f"{target}")
    complex_v = np.issubdtype(v.dtype, np.complexfloating)
    return ShapeDtypeStruct(tuple(x.shape), np.result_type(x.dtype, v.dtype) if complex_v
                            else np.dtype(x.dtype))


def _getitem_vjp(i, g, ans, x, *arrays, idx):
    return index_add_p(_zeros_like(x), g, *arrays, idx=idx)


def _getitem_sparse_vjp(i, g, ans, x, *arrays, idx):
    """``x``'s cotangent as an ``IndexedCotangent`` for the lowest-level backward walk,
    where ``g``, ``x`` and the index are plain numpy values (``None`` elsewhere: above the
    lowest level the dense rule's gradlab ops keep the cotangent differentiable)."""
    if i != 0 or type(x) is not np.ndarray or x.ndim == 0 or x.dtype.kind not in "fc":
        return None
    if not (type(g) is np.ndarray or type(g) in _PLAIN_SCALARS or isinstance(g, np.generic)):
        return None
    if not all(type(a) is np.ndarray for a in arrays):
        return None
    dtype = x.dtype
    g_dtype = getattr(g, "dtype", None)
    if g_dtype is None or g_dtype != dtype:  # the dense rule's dtype (_copy_for_update),
        g_dtype = np.result_type(g)          # and g cast to it as that rule casts it
        if g_dtype.kind == "c":
            dtype = np.result_type(dtype, g_dtype)
        g = np.asarray(g).astype(dtype, copy=False)
    return IndexedCotangent(x.shape, dtype, fill(idx, arrays), g)


_PLAIN_SCALARS = (float, int, complex)


def _getitem_jvp(i, t, ans, x, *arrays, idx):
    return getitem_p(t, *arrays, idx=idx)


def _batch(name):
    """The batching rule ``name`` of ``index_batch``, imported on its first use (it imports
    this module; and ``import gradlab`` need not pay for it), then called directly."""
    found = []

    def rule(prim, args, dims, params):
        if not found:
            from . import index_batch

            found.append(getattr(index_batch, name))
        return found[0](prim, args, dims, params)

    return rule


getitem_p = Primitive(
    "getitem", _getitem_impl, family=Structural, nin=VARIADIC, params=("idx",),
    vjp=PerOperand(_getitem_vjp, sparse=_getitem_sparse_vjp),
    jvp=PerOperand(_getitem_jvp), batch=_batch("batch_gather"),
    shape=_getitem_shape,
    examples=lambda rng: [((rng.normal(size=(4, 3)),), {"idx": (slice(1, 3), 0)}),
                          ((rng.normal(size=(4, 3)),), {"idx": (np.array([0, 2, 0]),)}),
                          ((rng.normal(size=(4, 3)),), {"idx": (Ellipsis, None, 1)}),
                          ((rng.normal(size=(2, 3, 4)),),
                           {"idx": (np.array([1, 0]), slice(None), np.array([3, 3]))}),
                          ((rng.normal(size=(4, 3)), np.array([2, 0])), {"idx": (Slot(0),)}),
                          ((rng.normal(size=(2, 4, 3)), np.array([[1], [3]])),
                           {"idx": (slice(None), Slot(0), np.array([0, 2]))})])


def _index_add_vjp(i, g, ans, x, v, *arrays, idx):
    if i == 0:
        return g
    return unbroadcast(getitem_p(g, *arrays, idx=idx), np.shape(v))


def _index_add_jvp(i, t, ans, x, v, *arrays, idx):
    if i == 0:
        return t
    return index_add_p(_zeros_like(ans), t, *arrays, idx=idx)


# x with v added at idx (repeated indices accumulate, like np.add.at).
index_add_p = Primitive(
    "index_add", _index_add_impl, family=Structural, nin=VARIADIC, params=("idx",),
    vjp=PerOperand(_index_add_vjp), jvp=PerOperand(_index_add_jvp),
    batch=_batch("batch_scatter"), shape=_update_shape,
    examples=lambda rng: [((rng.normal(size=(4, 3)), rng.normal(size=(2, 3))),
                           {"idx": (np.array([0, 0]),)}),
                          ((rng.normal(size=(4, 3)), rng.normal(size=(3,))),
                           {"idx": (slice(1, 3),)}),
                          ((rng.normal(size=(4, 3)), rng.normal(size=(2,)), np.array([1, 1])),
                           {"idx": (Slot(0), 2)})])


def _index_set_vjp(i, g, ans, x, v, *arrays, idx):
    if i == 0:
        return index_set_p(g, 0.0, *arrays, idx=idx)
    return unbroadcast(getitem_p(g, *arrays, idx=idx), np.shape(v))


def _index_set_jvp(i, t, ans, x, v, *arrays, idx):
    if i == 0:
        return index_set_p(t, 0.0, *arrays, idx=idx)
    return index_set_p(_zeros_like(ans), t, *arrays, idx=idx)


# x with the entries at idx replaced by v.
index_set_p = Primitive(
    "index_set", _index_set_impl, family=Structural, nin=VARIADIC, params=("idx",),
    vjp=PerOperand(_index_set_vjp), jvp=PerOperand(_index_set_jvp),
    batch=_batch("batch_scatter"), shape=_update_shape,
    examples=lambda rng: [((rng.normal(size=(4, 3)), rng.normal(size=(3,))),
                           {"idx": (slice(1, 2),)}),
                          ((rng.normal(size=(4, 3)), rng.normal(size=(2, 1))),
                           {"idx": (np.array([3, 0]), slice(None))}),
                          ((rng.normal(size=(4, 3)), rng.normal(size=()), np.array([2, 0])),
                           {"idx": (slice(None), Slot(0))})])


def split_index(idx):
    """``(skeleton, arrays)``: traced integer index arrays become ``Slot`` operands."""
    t = type(idx)
    if t is int or t is slice:
        return idx, ()
    parts = idx if t is tuple else (idx,)
    arrays = []
    out = []
    for p in parts:
        if isinstance(p, Tracer):
            if not (np.issubdtype(p.dtype, np.integer) or p.dtype == bool):
                raise TypeError(
                    f"indexing with a traced {p.dtype} array at {user_location()}: "
                    "indices must be integers (or booleans), and carry no gradient; "
                    "compute them outside the transform or with integer ops (argmax, "
                    "argsort, astype(int))")
            out.append(Slot(len(arrays)))
            arrays.append(p)
        elif type(p) is list:
            out.append(np.asarray(p))
        else:
            out.append(p)
    if not arrays and t is not tuple:
        return out[0], ()
    return tuple(out), tuple(arrays)


def getitem(x, idx):
    """``x[idx]`` for basic and advanced indices (gather; its VJP scatter-adds)."""
    skeleton, arrays = split_index(idx)
    return getitem_p(x, *arrays, idx=skeleton)


class _IndexUpdate:
    """``x.at[idx]``: functional updates that return a new array (JAX's spelling)."""

    __slots__ = ("x", "idx", "arrays")

    def __init__(self, x, idx):
        self.x = x
        self.idx, self.arrays = split_index(idx)

    def set(self, v):
        """A copy of ``x`` with ``x[idx] = v``."""
        return index_set_p(self.x, v, *self.arrays, idx=self.idx)

    def add(self, v):
        """A copy of ``x`` with ``v`` added at ``idx`` (repeated indices accumulate)."""
        return index_add_p(self.x, v, *self.arrays, idx=self.idx)

    def multiply(self, v):
        """A copy of ``x`` with ``x[idx] *= v``."""
        return self.set(self.get() * v)

    def get(self):
        """``x[idx]``."""
        return getitem_p(self.x, *self.arrays, idx=self.idx)


class At:
    """The ``.at`` property: ``x.at[idx].set(v)`` / ``.add(v)`` / ``.multiply(v)``."""

    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _IndexUpdate(self.x, idx)


def at(x: Any) -> Any:
    """``gl.at(x)[idx].set(v)``: functional updates on plain or traced arrays alike.

    >>> import numpy as np, gradlab as gl
    >>> gl.at(np.zeros(3))[1].set(5.0).tolist()
    [0.0, 5.0, 0.0]
    """
    return At(x)


# --- numpy's index functions -------------------------------------------------------
def _axis_index(ndim, axis, index):
    """An index tuple that applies ``index`` along ``axis`` of an ``ndim``-array."""
    return (slice(None),) * (axis % ndim) + (index,)


@implements(np.take, examples=lambda rng: [
    ((rng.normal(size=(3, 4)), np.array([0, 2, 2])), {"axis": 1}),
    ((rng.normal(size=(3, 4)), np.array([[5, 0], [11, 5]])), {})])
def take(a, indices, axis=None, out=None, mode="raise"):
    """``np.take``: ``a[..., indices, ...]`` along ``axis`` (flattened when None)."""
    if mode != "raise":
        raise NotImplementedError("np.take(mode='wrap'/'clip'): wrap or clip the indices first")
    if axis is None:
        from .shape import ravel

        return getitem(ravel(a), indices)
    return getitem(a, _axis_index(np.ndim(a), axis, indices))


def _along_axis_index(shape, indices, axis):
    """``arr[index]`` == ``np.take_along_axis(arr, indices, axis)``: open grids elsewhere."""
    ndim = len(shape)
    if np.ndim(indices) != ndim:
        raise ValueError(f"take_along_axis: indices must have {ndim} dimensions like the "
                         f"array, got {np.ndim(indices)}")
    axis %= ndim
    parts = []
    for d in range(ndim):
        if d == axis:
            parts.append(indices)
        else:
            grid = [1] * ndim
            grid[d] = shape[d]
            parts.append(np.arange(shape[d]).reshape(grid))
    return tuple(parts)


@implements(np.take_along_axis, examples=lambda rng: [
    ((rng.normal(size=(3, 4)), np.array([[0, 3], [1, 1], [2, 0]])), {"axis": 1}),
    ((rng.normal(size=(3, 4)), np.array([[2, 0, 1, 1]])), {"axis": 0}),
    ((rng.normal(size=(5,)), np.array([4, 0, 0])), {"axis": None})])
def take_along_axis(arr, indices, axis=-1):
    """``np.take_along_axis`` as one gather (its VJP scatter-adds)."""
    if axis is None:
        from .shape import ravel

        arr, axis = ravel(arr), 0
    return getitem(arr, _along_axis_index(np.shape(arr), indices, axis))


def put_along_axis(arr: Any, indices: Any, values: Any, axis: int | None) -> Any:
    """Functional ``np.put_along_axis``: a new array with ``values`` put at ``indices``.

    >>> import numpy as np, gradlab as gl
    >>> gl.put_along_axis(np.zeros((2, 2)), np.array([[1], [0]]), 5.0, axis=1).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    if axis is None:
        from .shape import ravel, reshape

        return reshape(put_along_axis(ravel(arr), indices, values, 0), np.shape(arr))
    return at(arr)[_along_axis_index(np.shape(arr), indices, axis)].set(values)


def _in_place(name, instead):
    def refuse(*args, **kwargs):
        raise InPlaceMutationError(
            f"np.{name} writes into its argument in place, which a traced array cannot do "
            f"(at {user_location()}).\nUse the functional form: {instead}.")

    refuse.__name__ = name
    refuse.__gradlab_kind__ = "in place"  # docs/ops.md lists these apart
    refuse.__doc__ = f"Mutates in place; the functional form: ``{instead}``."
    return refuse


IN_PLACE = {
    np.put_along_axis: "x = gradlab.put_along_axis(x, indices, values, axis)",
    np.put: "x = x.at[np.unravel_index(ind, x.shape)].set(v)",
    np.place: "x = np.where(mask, values, x)",
    np.putmask: "x = np.where(mask, values, x)",
    np.copyto: "dst = np.where(where, src, dst) (or just use src)",
    np.fill_diagonal: "x = x.at[np.diag_indices(n)].set(v)",
}
for _fn, _instead in IN_PLACE.items():
    implements(_fn)(_in_place(_fn.__name__, _instead))
