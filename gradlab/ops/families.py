"""Families of primitives: the behaviour most primitives share, stated once.

A family supplies a primitive's defaults: how its cotangents are un-broadcast, its
batching rule (for ``vmap``), its shape rule (for ``eval_shape``) and the sample
inputs the registry-wide test feeds it. A primitive overrides any of them in its
own declaration (``batch=``, ``shape=``, ``examples=``).

The families live here, not in ``core``, because their default rules are written
with gradlab's ops (``moveaxis``, ``reshape``, the broadcast primitives below);
``core`` only calls a primitive's family, and this module makes ``Elementwise`` the
default one (``Primitive.default_family``).
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive
from ..core.shapes import (
    PYTHON_NUMBERS,
    ShapeDtypeStruct,
    ndim_of,
    normalize_axes,
    reduced_shape,
    shape_of,
)
from ..core.trace import bind

_shape = shape_of


class Family:
    """Defaults for a primitive; every hook may be overridden per primitive."""

    name = "generic"

    @staticmethod
    def wrap_vjp(prim, i, rule):
        return rule

    @staticmethod
    def wrap_jvp(prim, i, rule):
        return rule

    @staticmethod
    def batch(prim, args, dims, params):
        """Vectorise by a Python loop over the batch: correct, slow; families do better."""
        size = next(shape_of(a)[d] for a, d in zip(args, dims) if d is not None)
        outs = []
        for b in range(size):
            sliced = [a if d is None else _shape_ops.moveaxis(a, d, 0)[b]
                      for a, d in zip(args, dims)]
            outs.append(prim(*sliced, **params))
        return _shape_ops.stack(outs), 0

    @staticmethod
    def keywords(prim, args, kwargs):
        """``(args, kwargs)`` with numpy keywords the primitive's rule does not take but
        that can be honoured by other means translated; the rest are left for the entry's
        check, which names them (``core/arguments.py``)."""
        return args, kwargs

    @staticmethod
    def shape(prim, avals, params):
        """Shape rule by running ``impl`` on zero-stride stand-ins (no real memory)."""
        stand_ins = [np.broadcast_to(np.zeros((), a.dtype), a.shape) for a in avals]
        out = prim.impl(*stand_ins, **params)
        return ShapeDtypeStruct(shape_of(out), np.result_type(out))

    @staticmethod
    def examples(prim, rng):
        return []


_UFUNC_KEYWORDS = frozenset(("dtype", "order", "subok", "casting"))
_CASTING = ("no", "equiv", "safe", "same_kind", "unsafe")


class Elementwise(Family):
    """n-ary numpy-broadcasting maps: ufuncs and their kin."""

    name = "elementwise"

    @staticmethod
    def wrap_vjp(prim, i, rule):
        if prim.nin == 1:
            return rule  # a unary map's cotangent already has its operand's shape

        def unbroadcasting_vjp(g, ans, *args, **params):
            ct = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
            try:  # the common case, operand and cotangent of one shape, costs one compare
                if ct.shape == args[i].shape:
                    return ct
            except AttributeError:
                pass
            return unbroadcast(ct, _shape(args[i]))

        if prim.nin == 2:  # binary maps are most of the tape: no argument packing for them
            def unbroadcasting_vjp(g, ans, x, y, **params):  # noqa: F811
                ct = rule(g, ans, x, y, **params) if params else rule(g, ans, x, y)
                operand = y if i else x
                try:
                    if ct.shape == operand.shape:
                        return ct
                except AttributeError:
                    pass
                return unbroadcast(ct, _shape(operand))

        unbroadcasting_vjp.__name__ = f"{prim.name}_vjp{i}"
        return unbroadcasting_vjp

    @staticmethod
    def keywords(prim, args, kwargs):
        """A ufunc's ``order=``/``subok=`` (layout only: the values are the same) are
        dropped; ``dtype=`` casts the operands first (differentiably, numpy's ``casting=``
        rule checked), as numpy computes in that dtype."""
        if not kwargs.keys() & _UFUNC_KEYWORDS:
            return args, kwargs
        kwargs = dict(kwargs)
        if kwargs.get("order", "K") in ("K", "A", "C", "F"):
            kwargs.pop("order", None)
        if type(kwargs.get("subok", True)) is bool:
            kwargs.pop("subok", None)
        casting = kwargs.get("casting", "same_kind")
        if casting not in _CASTING:
            return args, kwargs  # what is left is refused by name at the entry
        kwargs.pop("casting", None)
        dtype = kwargs.get("dtype")
        if dtype is None:
            return args, kwargs  # ``casting=`` governs only a cast to ``dtype`` or ``out``
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            return args, kwargs
        if dtype.kind not in "fc":
            return args, kwargs  # not a differentiable dtype
        convert, dtype_of = _misc_ops.convert, _misc_ops.dtype_of
        del kwargs["dtype"]
        for a in args:
            if not np.can_cast(dtype_of(a), dtype, casting):
                raise TypeError(f"Cannot cast ufunc {prim.name!r} input from "
                                f"{dtype_of(a)!r} to {dtype!r} with casting rule {casting!r}")
        return tuple(convert(a, dtype) for a in args), kwargs

    @staticmethod
    def wrap_jvp(prim, i, rule):
        if prim.nin == 1:
            return rule

        def broadcasting_jvp(t, ans, *args, **params):
            out = rule(t, ans, *args, **params)
            shape = _shape(ans)
            return out if _shape(out) == shape else broadcast_to_p(out, shape=shape)

        broadcasting_jvp.__name__ = f"{prim.name}_jvp{i}"
        return broadcasting_jvp

    @staticmethod
    def batch(prim, args, dims, params):
        if len(args) == 1:  # a unary map keeps the batch axis where it is
            return bind(prim, args[0], **params), dims[0]
        if len(args) == 2:  # binary maps dominate every batched program: decided inline
            (a, b), (da, db) = args, dims
            if da is not None and db is not None:
                if da == db and a.ndim == b.ndim:  # batched operands are arrays
                    return bind(prim, a, b, **params), da
            elif da is not None:  # b is shared: it must not reach a's batch axis
                if type(b) in PYTHON_NUMBERS or ndim_of(b) < ndim_of(a) - da:
                    return bind(prim, a, b, **params), da
            elif type(a) in PYTHON_NUMBERS or ndim_of(a) < ndim_of(b) - db:
                return bind(prim, a, b, **params), db
        # Fast path: every batched operand has the batch on one axis ``d0`` and one rank
        # ``r0``, and no unbatched operand reaches that axis: numpy broadcasts as it is.
        ranks = []
        d0 = r0 = None
        aligned = True
        for a, d in zip(args, dims):
            r = ndim_of(a) - (d is not None)
            ranks.append(r)
            if d is not None:
                if d0 is None:
                    d0, r0 = d, r
                elif d != d0 or r != r0:
                    aligned = False
        if aligned:
            limit = r0 - d0
            for d, r in zip(dims, ranks):
                if d is None and r > limit:
                    aligned = False
                    break
            if aligned:
                return bind(prim, *args, **params), d0
        moveaxis = _shape_ops.moveaxis
        rank = max(ranks)
        aligned = []
        for a, d, r in zip(args, dims, ranks):
            if d is not None:  # a batched operand is an array (or a tracer): its methods
                a = moveaxis(a, d, 0) if d != 0 else a
                if r < rank:
                    shp = a.shape
                    a = a.reshape(shp[:1] + (1,) * (rank - r) + shp[1:])
            aligned.append(a)
        return prim(*aligned, **params), 0

    @staticmethod
    def shape(prim, avals, params):
        out = np.broadcast_shapes(*(a.shape for a in avals))
        with np.errstate(all="ignore"):  # the probe's values are irrelevant, its dtype is not
            probe = prim.impl(*(np.ones((), a.dtype) for a in avals), **params)
        return ShapeDtypeStruct(out, np.result_type(probe))

    @staticmethod
    def examples(prim, rng):
        lo, hi = prim.domain
        shapes = [((3,),) * prim.nin, ((2, 3),) * prim.nin]
        if prim.nin == 2:
            shapes += [((2, 3), (3,)), ((), (2, 1)), ((4, 1), (1, 3))]
        elif prim.nin == 1:
            shapes += [((),)]
        return [(tuple(rng.uniform(lo, hi, s) for s in ss), {}) for ss in shapes]


class Reduction(Family):
    """Reductions over ``axis`` (int, tuple, negative or None) with ``keepdims``."""

    name = "reduction"

    @staticmethod
    def batch(prim, args, dims, params):
        (x,), (d,) = args, dims
        x = _shape_ops.moveaxis(x, d, 0) if d != 0 else x
        axes = normalize_axes(params.get("axis"), ndim_of(x) - 1)
        params = dict(params, axis=tuple(a + 1 for a in axes))
        return prim(x, **params), 0

    @staticmethod
    def shape(prim, avals, params):
        (x,) = avals
        out = reduced_shape(x.shape, params.get("axis"), params.get("keepdims", False))
        probe = prim.impl(np.ones((1,), x.dtype))
        return ShapeDtypeStruct(out, np.result_type(probe))

    @staticmethod
    def examples(prim, rng):
        lo, hi = prim.domain
        x = rng.uniform(lo, hi, (3, 4))
        return [((x,), {}), ((x,), {"axis": 0}), ((x,), {"axis": -1, "keepdims": True}),
                ((rng.uniform(lo, hi, (2, 3, 2)),), {"axis": (0, 2)})]


class Structural(Family):
    """Shape, index and contraction ops: each states its own batching rule."""

    name = "structural"


def _broadcast_to_vjp(g, ans, x, *, shape):
    return unbroadcast(g, shape_of(x))


def _unbroadcast_impl(x, *, shape):
    shape = tuple(shape)
    xs = shape_of(x)
    if xs == shape:
        return x
    lead = len(xs) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and xs[lead + i] != 1)
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return np.reshape(out, shape)


# numpy scalars whose buffer an ndarray can view (ml_dtypes' and object scalars: not all do)
_VIEWABLE_SCALARS = frozenset((np.float64, np.float32, np.float16, np.complex128,
                               np.complex64, np.int64, np.bool_))


def _broadcast_to_impl(x, *, shape):
    if (type(x) is np.ndarray and x.ndim == 0) or type(x) in _VIEWABLE_SCALARS:
        # A scalar's read-only view with zero strides, as np.broadcast_to makes, at a
        # tenth of its cost: every full reduction's cotangent comes through here.
        shape = tuple(shape)
        if not shape or min(shape) >= 0:  # (ndarray would read a -1 as "infer it")
            out = np.ndarray(shape, x.dtype, x, 0, (0,) * len(shape))
            out.flags.writeable = False
            return out
    return np.broadcast_to(x, shape)


broadcast_to_p = Primitive(
    "broadcast_to", _broadcast_to_impl, family=Structural,
    params=("shape",),
    vjp=_broadcast_to_vjp,
    jvp=lambda t, ans, x, *, shape: broadcast_to_p(t, shape=shape),
    batch=lambda prim, args, dims, params: _batch_broadcast_to(args, dims, params),
    shape=lambda prim, avals, params: _broadcast_to_shape(avals, params),
    examples=lambda rng: [((rng.normal(size=(3,)),), {"shape": (2, 3)}),
                          ((rng.normal(size=(2, 1)),), {"shape": (2, 4)})],
    doc="np.broadcast_to as a primitive (its cotangent sums over the broadcast axes).")

unbroadcast_p = Primitive(
    "unbroadcast", _unbroadcast_impl, family=Structural, params=("shape",),
    vjp=lambda g, ans, x, *, shape: broadcast_to_p(g, shape=shape_of(x)),
    jvp=lambda t, ans, x, *, shape: unbroadcast_p(t, shape=shape),
    batch=lambda prim, args, dims, params: _batch_unbroadcast(args, dims, params),
    shape=lambda prim, avals, params: ShapeDtypeStruct(tuple(params["shape"]), avals[0].dtype),
    examples=lambda rng: [((rng.normal(size=(2, 3)),), {"shape": (3,)}),
                          ((rng.normal(size=(2, 4)),), {"shape": (2, 1)})],
    doc="Sum a broadcast value back down to ``shape`` (the adjoint of broadcast_to).")


def _broadcast_to_shape(avals, params):
    (x,), shape = avals, tuple(params["shape"])
    if np.broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast shape {x.shape} to {shape}")
    return ShapeDtypeStruct(shape, x.dtype)


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape`` (a no-op, and no node, when it already has it)."""
    if _shape(g) == tuple(shape):
        return g
    return unbroadcast_p(g, shape=tuple(shape))


def _batch_broadcast_to(args, dims, params):
    (x,), (d,) = args, dims
    x = _shape_ops.moveaxis(x, d, 0)
    shape = tuple(params["shape"])
    size = shape_of(x)[0]
    pad = len(shape) - (ndim_of(x) - 1)
    x = _shape_ops.reshape(x, (size,) + (1,) * pad + shape_of(x)[1:])
    return broadcast_to_p(x, shape=(size,) + shape), 0


def _batch_unbroadcast(args, dims, params):
    (x,), (d,) = args, dims
    x = _shape_ops.moveaxis(x, d, 0)
    size = shape_of(x)[0]
    shape = tuple(params["shape"])
    per = shape_of(x)[1:]
    lead = len(per) - len(shape)
    axes = tuple(range(1, 1 + lead)) + tuple(
        1 + lead + i for i, n in enumerate(shape) if n == 1 and per[lead + i] != 1)
    from .reduce import sum as sum_  # reduce imports elementwise, which imports this

    out = sum_(x, axis=axes, keepdims=True) if axes else x
    return _shape_ops.reshape(out, (size,) + shape), 0


Primitive.default_family = Elementwise

# The ops the batching rules above call: their modules import this one (for its
# families), so they are imported here, after everything they need from it is defined,
# and looked up when a rule runs. Not inside each rule: a function-level import costs
# about a microsecond, paid on every batched op.
from . import misc as _misc_ops  # noqa: E402
from . import shape as _shape_ops  # noqa: E402
