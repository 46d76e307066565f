"""Contractions: ``matmul`` (batched, broadcast, 1-D operands) and ``dot``."""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct, ndim_of, shape_of
from ..precision.dtypes import PLAIN_DTYPES, float32_matmul
from .elementwise import multiply
from .families import Structural, unbroadcast
from .shape import expand_dims, moveaxis, reshape, squeeze, swapaxes


def _promote(a, b, g):
    """Matrices for 1-D operands (as matmul promotes them), and the cotangent to match."""
    if ndim_of(a) == 1:
        a = expand_dims(a, 0)
        g = expand_dims(g, -2 if ndim_of(b) != 1 else 0)
    if ndim_of(b) == 1:
        b = expand_dims(b, -1)
        g = expand_dims(g, -1)
    return a, b, g


def _array(x):
    """An operand as something with array methods (a constant may be a nested list)."""
    return x if hasattr(x, "swapaxes") else np.asarray(x)


def _matrices(a, b, g) -> bool:
    """Whether a matmul's operands and cotangent are plain 2-D arrays (no broadcasting:
    each operand's cotangent is one product, with nothing to sum away)."""
    return (type(a) is np.ndarray and type(b) is np.ndarray and type(g) is np.ndarray
            and a.ndim == 2 and b.ndim == 2)


def _matmul_vjp_a(g, ans, a, b):
    if _matrices(a, b, g):  # the common case, decided at once
        return g @ b.T
    na, nb = ndim_of(a), ndim_of(b)
    if na == 1 and nb <= 2:  # vector . vector, vector @ matrix: one op each
        return g * b if nb == 1 else matmul(b, g)
    if na == 2 and nb == 1:  # matrix @ vector: an outer product
        return expand_dims(g, -1) * b
    if ndim_of(a) >= 2 and ndim_of(b) >= 2:
        # The common case, written with methods and operators: plain numpy for plain
        # arrays, gradlab ops for the tracers of an enclosing transform. (ml_dtypes'
        # bfloat16 @ bfloat16 is float32: the argument's dtype returns at the boundary.)
        return unbroadcast(g @ _array(b).swapaxes(-1, -2), shape_of(a))
    a2, b2, g2 = _promote(a, b, g)
    ga = matmul(g2, swapaxes(b2, -1, -2))
    if ndim_of(a) == 1:
        ga = squeeze(ga, -2)
    return unbroadcast(ga, shape_of(a))


def _matmul_vjp_b(g, ans, a, b):
    if _matrices(a, b, g):
        return a.T @ g
    na, nb = ndim_of(a), ndim_of(b)
    if nb == 1 and na <= 2:  # vector . vector, matrix @ vector: one op each
        return g * a if na == 1 else matmul(g, a)
    if na == 1 and nb == 2:  # vector @ matrix: an outer product
        return expand_dims(a, -1) * g
    if ndim_of(a) >= 2 and ndim_of(b) >= 2:
        return unbroadcast(_array(a).swapaxes(-1, -2) @ g, shape_of(b))
    a2, b2, g2 = _promote(a, b, g)
    gb = matmul(swapaxes(a2, -1, -2), g2)
    if ndim_of(b) == 1:
        gb = squeeze(gb, -1)
    return unbroadcast(gb, shape_of(b))


def _batch_matmul(prim, args, dims, params):
    """Batch by aligning the per-example batch axes of both operands after the vmap axis."""
    (a, b), (da, db) = args, dims
    ra, rb = ndim_of(a) - (da is not None), ndim_of(b) - (db is not None)
    if da:  # the batch axis first (vmap's inputs usually have it there already)
        a = moveaxis(a, da, 0)
    if db:
        b = moveaxis(b, db, 0)
    # Batched vectors against a shared vector or matrix are one 2-D product (one BLAS
    # call): (B, k) @ (k,) is every example's dot product, (B, k) @ (k, m) its row.
    if db is None and ra == 1 and rb in (1, 2):
        return matmul(a, b), 0
    if da is None and rb == 1 and ra in (1, 2):
        return matmul(b, a if ra == 1 else swapaxes(a, -1, -2)), 0
    if da is not None and db is not None and ra == 1 and rb == 1:
        from .reduce import sum as sum_  # per-example dot products: multiply and add

        return sum_(a * b, axis=-1), 0
    if ra == 1:
        a = expand_dims(a, -2)
    if rb == 1:
        b = expand_dims(b, -1)
    rank = max(ra, rb, 2)
    if da is not None:
        a = _pad_after_batch(a, rank - max(ra, 2))
    if db is not None:
        b = _pad_after_batch(b, rank - max(rb, 2))
    # A contraction over one element (outer products, as in a vector's VJP) is a
    # broadcast multiply: stacks of 1-deep matrix products are slow in np.matmul.
    out = multiply(a, b) if shape_of(a)[-1] == 1 else matmul(a, b)
    if ra == 1:
        out = squeeze(out, -2)
    if rb == 1:
        out = squeeze(out, -1)
    return out, 0


def _pad_after_batch(x, n):
    shape = shape_of(x)
    return reshape(x, shape[:1] + (1,) * n + shape[1:]) if n else x


def _matmul_shape(prim, avals, params):
    """numpy's matmul shape semantics: 1-D operands promoted, leading axes broadcast."""
    a, b = avals
    if len(a.shape) == 0 or len(b.shape) == 0:
        raise ValueError("matmul: an operand is a scalar (use multiply)")
    ash = tuple(a.shape) if len(a.shape) > 1 else (1,) + tuple(a.shape)
    bsh = tuple(b.shape) if len(b.shape) > 1 else tuple(b.shape) + (1,)
    if ash[-1] != bsh[-2]:
        raise ValueError(f"matmul: contracted dimensions differ ({ash[-1]} != {bsh[-2]})")
    out = np.broadcast_shapes(ash[:-2], bsh[:-2])
    out += (ash[-2],) if len(a.shape) > 1 else ()
    out += (bsh[-1],) if len(b.shape) > 1 else ()
    return ShapeDtypeStruct(out, np.result_type(a.dtype, b.dtype))


def _matmul_impl(a, b):
    # One dict look-up per operand keeps float64 at numpy's speed; float16, bfloat16 and
    # float8 accumulate in float32 (their own loops would round every partial sum).
    try:
        if PLAIN_DTYPES.get(a.dtype, 1) is None and PLAIN_DTYPES.get(b.dtype, 1) is None:
            return np.matmul(a, b)
    except AttributeError:  # a constant operand given as a list
        pass
    return float32_matmul(a, b)


matmul = Primitive(
    "matmul", _matmul_impl, family=Structural, numpy=(np.matmul,),
    vjp=(_matmul_vjp_a, _matmul_vjp_b), saves=(0, 1),  # the operands, never the product
    jvp=(lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t)),
    batch=_batch_matmul, shape=_matmul_shape,
    examples=lambda rng: [((rng.normal(size=(2, 3)), rng.normal(size=(3, 4))), {}),
                          ((rng.normal(size=(3,)), rng.normal(size=(3, 4))), {}),
                          ((rng.normal(size=(2, 3)), rng.normal(size=(3,))), {}),
                          ((rng.normal(size=(3,)), rng.normal(size=(3,))), {}),
                          ((rng.normal(size=(5, 2, 3)), rng.normal(size=(3, 4))), {}),
                          ((rng.normal(size=(2, 1, 2, 3)), rng.normal(size=(4, 3, 2))), {})])


@implements(np.dot, examples=lambda rng: [
    ((rng.normal(size=(2, 3)), rng.normal(size=(3,))), {}), ((2.0, rng.normal(size=(3,))), {}),
    ((rng.normal(size=(2, 2, 3)), rng.normal(size=(4, 3, 2))), {}),
    ((rng.normal(size=(2, 2, 3)), rng.normal(size=(3,))), {})])
def dot(a, b):
    """``np.dot``: scalars multiply, up to 2-D it is ``matmul``, N-D contracts a[-1], b[-2]."""
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return multiply(a, b)
    if ndim_of(a) <= 2 and ndim_of(b) <= 2:
        return matmul(a, b)
    from .contract import tensordot

    return tensordot(a, b, axes=([-1], [-2 if ndim_of(b) > 1 else 0]))
