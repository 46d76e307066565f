"""Non-differentiable functions: the one documented list of what passes through as a constant.

A numpy function here never carries a derivative. There are three kinds, and
``docs/ops.md`` (generated) lists every member of each:

* ``PASS_THROUGH``: called exactly as written even with traced arguments, because
  they read only a value's shape or dtype (``np.shape``, ``np.ndim``...), or take no
  array data at all (``np.arange``, ``np.eye``, ``np.zeros``...: ``CONSTRUCTORS``).
* Zero-derivative primitives (``differentiable=False``): integer- or bool-valued
  functions of array data (``argmax``, ``isnan``, ``isclose``, ``all``...). They are
  primitives so that ``vmap`` batches them; under ``grad``/``jvp`` they return plain
  arrays. ``argsort``/``argpartition``/``searchsorted`` live in ``sorting.py``, the
  rounding maps (``floor``, ``sign``...) and comparisons in ``elementwise.py``.
* Constant compositions: ``zeros_like``-style constructors, and functions whose
  result's *shape* depends on the data (``nonzero``, ``allclose`` returning a
  Python bool), which read the concrete value: fine under ``grad``/``jvp``, a
  ``ConcretizationError`` under ``vmap``.

Random numbers (``np.random.*``) are ordinary numpy calls on constant arguments.
``np.linspace`` is differentiable in traced endpoints (``numeric.py``).

>>> import numpy as np, gradlab as gl
>>> float(gl.grad(lambda x: x[np.argmax(x)] * 2)(np.array([1.0, 3.0, 2.0]))[1])
2.0
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.trace import Tracer, concrete
from ..devices.array_module import get_array_module
from .families import Elementwise, Reduction, broadcast_to_p
from .misc import astype, dtype_of

# Array constructors and dtype utilities that take no array data. A traced argument
# (a traced size, say) makes numpy itself raise TracerConversionError: never silent.
CONSTRUCTORS = frozenset({
    np.arange, np.eye, np.identity, np.zeros, np.ones, np.empty, np.tri, np.indices,
    np.diag_indices, np.diag_indices_from, np.tril_indices, np.triu_indices,
    np.tril_indices_from, np.triu_indices_from, np.mask_indices, np.unravel_index,
    np.ravel_multi_index, np.ix_, np.hamming, np.hanning, np.bartlett, np.blackman, np.kaiser,
    np.broadcast_shapes, np.promote_types, np.can_cast, np.min_scalar_type, np.issubdtype,
    np.isdtype, np.iterable, np.mintypecode, np.common_type})  # fftfreq: ops/fft.py
# Called as written even with traced arguments: they read only a shape or dtype.
PASS_THROUGH = frozenset({np.shape, np.ndim, np.size, np.isscalar, np.iscomplexobj,
                          np.isrealobj, np.result_type}) | CONSTRUCTORS


# --- zero-derivative primitives --------------------------------------------------
def _nondiff_map(name, fn, nin=1, params=(), examples=None):
    return Primitive(name, fn, family=Elementwise, numpy=(getattr(np, name),), nin=nin,
                     params=params, differentiable=False, examples=examples)


isnan = _nondiff_map("isnan", np.isnan)
isinf = _nondiff_map("isinf", np.isinf)
isfinite = _nondiff_map("isfinite", np.isfinite)
isposinf = _nondiff_map("isposinf", lambda x: np.isposinf(x))
isneginf = _nondiff_map("isneginf", lambda x: np.isneginf(x))
logical_not = _nondiff_map("logical_not", np.logical_not)
logical_and = _nondiff_map("logical_and", np.logical_and, nin=2)
logical_or = _nondiff_map("logical_or", np.logical_or, nin=2)
logical_xor = _nondiff_map("logical_xor", np.logical_xor, nin=2)


def _isclose_impl(a, b, *, rtol=1e-05, atol=1e-08, equal_nan=False):
    return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


isclose = Primitive("isclose", _isclose_impl, family=Elementwise, numpy=(np.isclose,),
                    nin=2, params=("rtol", "atol", "equal_nan"), differentiable=False)


def _batch_arg_reduce(prim, args, dims, params):
    """argmax/argmin over a batch: a flattened ``axis=None`` becomes a per-row reduction."""
    from .shape import moveaxis, reshape

    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0)
    axis, keepdims = params.get("axis"), params.get("keepdims", False)
    if axis is None:
        per = np.shape(x)[1:]
        out = prim(reshape(x, (np.shape(x)[0], -1)), axis=1)
        return (reshape(out, (-1,) + (1,) * len(per)) if keepdims else out), 0
    return prim(x, axis=int(axis) % (np.ndim(x) - 1) + 1, keepdims=keepdims), 0


def _arg_reduce(name, fn):
    def impl(x, *, axis=None, keepdims=False):
        return fn(x, axis=axis, keepdims=keepdims)

    return Primitive(
        name, impl, family=Reduction, numpy=(fn,), params=("axis", "out", "keepdims"),
        differentiable=False, batch=_batch_arg_reduce,
        examples=lambda rng: [((rng.normal(size=(3, 4)),), {}),
                              ((rng.normal(size=(3, 4)),), {"axis": -1}),
                              ((rng.normal(size=(2, 3, 2)),), {"axis": 1, "keepdims": True})],
        doc=f"``np.{name}``: an integer index, so it carries no derivative.")


argmax = _arg_reduce("argmax", np.argmax)
argmin = _arg_reduce("argmin", np.argmin)


def _bool_reduce(name, fn):
    def impl(x, *, axis=None, keepdims=False):
        return fn(x, axis=axis, keepdims=keepdims)

    return Primitive(name, impl, family=Reduction, numpy=(fn,),
                     params=("axis", "out", "keepdims"), differentiable=False)


all_ = _bool_reduce("all", np.all)
any_ = _bool_reduce("any", np.any)


def _count_nonzero_impl(x, *, axis=None, keepdims=False):
    return np.count_nonzero(x, axis=axis, keepdims=keepdims)


count_nonzero = Primitive("count_nonzero", _count_nonzero_impl, family=Reduction,
                          numpy=(np.count_nonzero,), params=("axis",),
                          differentiable=False)


# --- constant compositions ---------------------------------------------------------
def _like_examples(rng):
    return [((rng.normal(size=(2, 3)),), {}), ((rng.normal(size=(3,)),), {"dtype": np.float32})]


@implements(np.zeros_like, examples=_like_examples)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None):
    """``np.zeros_like``: a constant of ``a``'s shape (per example, under ``vmap``)."""
    return get_array_module(a).zeros(np.shape(a) if shape is None else shape,
                                     dtype or dtype_of(a))


@implements(np.ones_like, examples=_like_examples)
def ones_like(a, dtype=None, order="K", subok=True, shape=None):
    """``np.ones_like``: a constant of ``a``'s shape."""
    return get_array_module(a).ones(np.shape(a) if shape is None else shape,
                                    dtype or dtype_of(a))


@implements(np.empty_like)
def empty_like(a, dtype=None, order="K", subok=True, shape=None):
    """``np.empty_like``, filled with zeros (uninitialised memory helps no derivative)."""
    return zeros_like(a, dtype, shape=shape)


@implements(np.full_like, examples=lambda rng: [
    ((rng.normal(size=(2, 3)), 1.5), {}), ((rng.normal(size=(3,)), rng.normal(size=())), {})])
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    """``np.full_like``: differentiable in a traced ``fill_value``, constant in ``a``."""
    shape = np.shape(a) if shape is None else shape
    dtype = np.dtype(dtype or dtype_of(a))
    if not isinstance(fill_value, Tracer):
        return get_array_module(a).full(shape, fill_value, dtype)
    return broadcast_to_p(astype(fill_value, dtype=dtype), shape=tuple(shape))


@implements(np.full)
def full(shape, fill_value, dtype=None, order="C"):
    """``np.full``: differentiable in a traced ``fill_value``."""
    if not isinstance(fill_value, Tracer):
        return np.full(shape, fill_value, dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return broadcast_to_p(astype(fill_value, dtype=np.dtype(dtype or fill_value.dtype)),
                          shape=shape)


@implements(np.nonzero)
def nonzero(a):
    """``np.nonzero`` of the concrete value (its output length depends on the data)."""
    return np.nonzero(concrete(a, "np.nonzero"))


@implements(np.flatnonzero)
def flatnonzero(a):
    """``np.flatnonzero`` of the concrete value."""
    return np.flatnonzero(concrete(a, "np.flatnonzero"))


@implements(np.argwhere)
def argwhere(a):
    """``np.argwhere`` of the concrete value."""
    return np.argwhere(concrete(a, "np.argwhere"))


@implements(np.allclose)
def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``np.allclose``: a Python bool, read from the concrete values."""
    return bool(np.all(concrete(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan),
                                "np.allclose")))


@implements(np.array_equal)
def array_equal(a1, a2, equal_nan=False):
    """``np.array_equal``: a Python bool, read from the concrete values."""
    if np.shape(a1) != np.shape(a2):
        return False
    same = a1 == a2
    if equal_nan:
        same = logical_or(same, logical_and(isnan(a1), isnan(a2)))
    return bool(np.all(concrete(same, "np.array_equal")))


@implements(np.array_equiv)
def array_equiv(a1, a2):
    """``np.array_equiv``: equal after broadcasting (a Python bool)."""
    try:
        np.broadcast_shapes(np.shape(a1), np.shape(a2))
    except ValueError:
        return False
    return bool(np.all(concrete(a1 == a2, "np.array_equiv")))
