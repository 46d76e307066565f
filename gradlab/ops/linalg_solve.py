"""Linear systems: inv, solve, det, slogdet, pinv, matrix_power, multi_dot.

Every primitive here is batched over leading axes exactly like numpy's linalg
gufuncs, so its batching rule only moves the vmap axis to the front. The rules
are written with gradlab ops (``@``, ``solve``, ``inv``...), so derivatives of
any order work. The helpers at the top are shared with ``linalg_decomp.py``.

>>> import numpy as np, gradlab as gl
>>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
>>> np.allclose(gl.grad(lambda A: np.linalg.slogdet(A)[1])(A), np.linalg.inv(A).T)
True
"""

from __future__ import annotations

import operator

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct
from ..devices.array_module import on_device_of
from ..precision.dtypes import computes_in_float32
from .complex import conj, is_complex, real
from .elementwise import absolute
from .families import Structural, unbroadcast
from .linalg import matmul
from .reduce import sum as sum_
from .shape import expand_dims, moveaxis, reshape, swapaxes

# --- helpers (shared with linalg_decomp.py) ---------------------------------------


def dtype_of(x) -> np.dtype:
    """The dtype of an array, tracer or Python scalar."""
    return np.dtype(x.dtype) if hasattr(x, "dtype") else np.result_type(x)


def inexact(dtype) -> np.dtype:
    """The dtype numpy's linalg computes in: integers become float64, floats stay."""
    return np.result_type(dtype, np.float32) if np.dtype(dtype).kind in "fc" else np.dtype(
        np.float64)


def real_dtype(dtype) -> np.dtype:
    """float64 for complex128, float32 for complex64, and so on."""
    return np.finfo(inexact(dtype)).dtype


def mT(x):
    """The matrix transpose of the last two axes."""
    return swapaxes(x, -1, -2)


def mH(x):
    """The conjugate transpose of the last two axes (the transpose, for real arrays)."""
    return conj(swapaxes(x, -1, -2)) if is_complex(x) else swapaxes(x, -1, -2)


def complex_vjp(prim, real_vjp):
    """``real_vjp`` for real operands; for complex ones, the transpose of ``prim``'s JVP.

    The JVP of a decomposition is written once for real and complex matrices (with
    conjugate transposes); transposing it gives the VJP in docs/complex.md's convention
    by construction, where a hand-written complex VJP would be a second derivation.
    """
    from ..core.linear_transpose import vjp_from_jvp

    def vjp(g, ans, a, **params):
        if is_complex(a) or is_complex(g):
            # a complex seed even for a real output (svdvals): the transpose then sees
            # the imaginary directions of a complex input
            return vjp_from_jvp(prim(), 0)(g if is_complex(g) else g + 0j, ans, a, **params)
        return real_vjp(g, ans, a, **params)

    vjp.__name__ = real_vjp.__name__
    return vjp


def diagonal(x):
    """The diagonal of the last two axes (a masked sum, so it batches and differentiates)."""
    return sum_(x * on_device_of(x, np.eye(np.shape(x)[-1], dtype=bool)), axis=-1)


def diag_embed(v):
    """Square matrices with ``v`` (..., n) on their diagonal."""
    return expand_dims(v, -1) * on_device_of(v, np.eye(np.shape(v)[-1], dtype=bool))


def trace(x):
    """The trace of the last two axes."""
    return sum_(diagonal(x), axis=-1)


def tril(x, k=0):
    """The lower triangle (a constant mask: it batches and differentiates as a product)."""
    n, m = np.shape(x)[-2:]
    return x * on_device_of(x, np.tri(n, m, k=k, dtype=bool))


def identity_like(x, n):
    """An ``n x n`` identity of ``x``'s dtype."""
    return on_device_of(x, np.eye(n, dtype=dtype_of(x)))


def batch_leading(prim, args, dims, params):
    """Batching rule of a unary op batched over leading axes: move the vmap axis to 0."""
    (x,), (d,) = args, dims
    return prim(moveaxis(x, d, 0), **params), 0


def check_square(shape, name):
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError(
            f"{name}: last 2 dimensions of the array must be square, got shape {shape}")


def square_shape(prim, avals, params):
    """Shape rule: a square matrix (stack) in, one of the same shape out."""
    (a,) = avals
    check_square(a.shape, prim.name)
    return ShapeDtypeStruct(tuple(a.shape), inexact(a.dtype))


def scalar_shape(prim, avals, params):
    """Shape rule: a square matrix (stack) in, one number per matrix out."""
    (a,) = avals
    check_square(a.shape, prim.name)
    dtype = real_dtype(a.dtype) if prim.name == "logabsdet" else inexact(a.dtype)
    return ShapeDtypeStruct(tuple(a.shape[:-2]), dtype)


def well_conditioned(rng, *shape):
    """A random stack of square matrices far from singular (for examples and tests)."""
    n = shape[-1]
    return rng.normal(size=shape) + 2.0 * np.sqrt(n) * np.eye(n)


def spd(rng, *shape):
    """A random stack of symmetric positive-definite matrices."""
    b = rng.normal(size=shape)
    return b @ np.swapaxes(b, -1, -2) + shape[-1] * np.eye(shape[-1])


def _square_examples(rng):
    return [((well_conditioned(rng, 3, 3),), {}), ((well_conditioned(rng, 2, 4, 4),), {}),
            ((well_conditioned(rng, 1, 1),), {})]


def named_result(name):
    """numpy's named result tuple ``np.linalg.<name>`` (a plain tuple on older numpy)."""
    cls = getattr(getattr(np.linalg, "_linalg", None), name, None)
    return cls or (lambda *parts: tuple(parts))


# --- inv ---------------------------------------------------------------------------

inv_p = Primitive(
    "inv", computes_in_float32(np.linalg.inv), family=Structural, numpy=(np.linalg.inv,),
    vjp=lambda g, ans, a: -(mT(ans) @ g @ mT(ans)),
    jvp=lambda t, ans, a: -(ans @ t @ ans),
    batch=batch_leading, shape=square_shape, examples=_square_examples,
    doc="np.linalg.inv: ``d inv(A) = -inv(A) dA inv(A)``.")


# --- solve -------------------------------------------------------------------------


def _solve_adjoint(g, a, b):
    """``solve(A^T, g)`` as a matrix stack: the cotangent of ``b`` before un-broadcasting."""
    g = expand_dims(g, -1) if np.ndim(b) == 1 else g
    return solve_p(mT(a), g)


def _solve_vjp_a(g, ans, a, b):
    x = expand_dims(ans, -1) if np.ndim(b) == 1 else ans
    return unbroadcast(-(_solve_adjoint(g, a, b) @ mT(x)), np.shape(a))


def _solve_vjp_b(g, ans, a, b):
    gb = _solve_adjoint(g, a, b)
    return unbroadcast(gb[..., 0] if np.ndim(b) == 1 else gb, np.shape(b))


def _solve_jvp_a(t, ans, a, b):
    if np.ndim(b) == 1:  # numpy: a right-hand side is a vector only when it is 1-D
        return -solve_p(a, t @ expand_dims(ans, -1))[..., 0]
    return -solve_p(a, t @ ans)


def _pad_lead(x, n):
    """Insert ``n`` unit axes after the vmap axis (aligns leading axes for broadcasting)."""
    shape = np.shape(x)
    return reshape(x, shape[:1] + (1,) * n + shape[1:]) if n > 0 else x


def _batch_solve(prim, args, dims, params):
    (a, b), (da, db) = args, dims
    vector = np.ndim(b) - (db is not None) == 1
    if vector:  # make it a one-column matrix: a batched 2-D b would read as matrices
        b = expand_dims(b, -1)
    lead_a = np.ndim(a) - (da is not None) - 2
    lead_b = np.ndim(b) - (db is not None) - 2
    lead = max(lead_a, lead_b)
    if da is not None:
        a = _pad_lead(moveaxis(a, da, 0), lead - lead_a)
    if db is not None:
        b = _pad_lead(moveaxis(b, db, 0), lead - lead_b)
    out = solve_p(a, b)
    return (out[..., 0] if vector else out), 0


def _solve_shape(prim, avals, params):
    a, b = avals
    check_square(a.shape, "solve")
    dtype = inexact(np.result_type(a.dtype, b.dtype))
    if len(b.shape) == 1:
        return ShapeDtypeStruct(tuple(a.shape[:-2]) + (a.shape[-1],), dtype)
    lead = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    return ShapeDtypeStruct(lead + tuple(b.shape[-2:]), dtype)


def _solve_examples(rng):
    a = well_conditioned(rng, 3, 3)
    return [((a, rng.normal(size=3)), {}), ((a, rng.normal(size=(3, 2))), {}),
            ((well_conditioned(rng, 2, 3, 3), rng.normal(size=3)), {}),
            ((a, rng.normal(size=(4, 3, 1))), {}),
            ((well_conditioned(rng, 2, 1, 3, 3), rng.normal(size=(4, 3, 2))), {})]


solve_p = Primitive(
    "solve", computes_in_float32(np.linalg.solve), family=Structural, numpy=(np.linalg.solve,),
    vjp=(_solve_vjp_a, _solve_vjp_b),
    jvp=(_solve_jvp_a, lambda t, ans, a, b: solve_p(a, t)),
    batch=_batch_solve, shape=_solve_shape, examples=_solve_examples,
    doc="np.linalg.solve (vector right-hand side only when b is 1-D, as numpy 2).")


# --- det and slogdet ---------------------------------------------------------------


def _per_matrix(x):
    """One value per matrix, shaped to broadcast against the matrix stack."""
    return expand_dims(x, (-1, -2))


det_p = Primitive(
    "det", computes_in_float32(np.linalg.det), family=Structural, numpy=(np.linalg.det,),
    vjp=lambda g, ans, a: _per_matrix(g * ans) * mT(inv_p(a)),
    jvp=lambda t, ans, a: ans * trace(solve_p(a, t)),
    batch=batch_leading, shape=scalar_shape, examples=_square_examples,
    doc="np.linalg.det: ``d det(A) = det(A) tr(inv(A) dA)``.")

logabsdet_p = Primitive(
    "logabsdet", computes_in_float32(lambda a: np.linalg.slogdet(a)[1]), family=Structural,
    vjp=lambda g, ans, a: _per_matrix(g) * mT(inv_p(a)),
    jvp=lambda t, ans, a: real(trace(solve_p(a, t))),
    batch=batch_leading, shape=scalar_shape, examples=_square_examples,
    doc="log|det A| (the second output of np.linalg.slogdet): ``d = tr(inv(A) dA)``.")

slogdet_sign_p = Primitive(
    "slogdet_sign", computes_in_float32(lambda a: np.linalg.slogdet(a)[0]), family=Structural,
    differentiable=False, batch=batch_leading, shape=scalar_shape, examples=_square_examples,
    doc="The sign of det A (first output of np.linalg.slogdet of a real matrix): constant.")

_SlogdetResult = named_result("SlogdetResult")


@implements(np.linalg.slogdet, examples=_square_examples)
def slogdet(a):
    """``np.linalg.slogdet``: ``(sign, log|det a|)``; the sign of a real matrix is constant.

    >>> import numpy as np, gradlab as gl
    >>> float(gl.grad(lambda a: np.linalg.slogdet(a)[1])(np.array([[-2.0]]))[0, 0])
    -0.5
    """
    if is_complex(a):
        d = det_p(a)  # the phase of a complex determinant does vary with a
        sign = d / absolute(d)
    else:
        sign = slogdet_sign_p(a)
    return _SlogdetResult(sign, logabsdet_p(a))


# --- pinv --------------------------------------------------------------------------


def _pinv_impl(a, *, rcond=None, hermitian=False, rtol=None):
    kwargs = {} if rtol is None else {"rtol": rtol}
    if rcond is not None:
        kwargs["rcond"] = rcond
    return np.linalg.pinv(a, hermitian=hermitian, **kwargs)


def _pinv_jvp(t, p, a, **params):
    """Golub & Pereyra's derivative of the pseudo-inverse (valid while the rank is fixed)."""
    tt = mH(t)
    return (-(p @ t @ p) + p @ mH(p) @ (tt - tt @ a @ p)
            + (tt - p @ a @ tt) @ mH(p) @ p)


def _pinv_vjp(g, p, a, **params):
    gt = mT(g)
    return (-(mT(p) @ g @ mT(p)) + (gt - a @ p @ gt) @ p @ mT(p)
            + mT(p) @ p @ (gt - gt @ p @ a))


def _pinv_shape(prim, avals, params):
    (a,) = avals
    return ShapeDtypeStruct(tuple(a.shape[:-2]) + (a.shape[-1], a.shape[-2]), inexact(a.dtype))


pinv_p = Primitive(
    "pinv", computes_in_float32(_pinv_impl), family=Structural, params=("rcond", "hermitian"),
    vjp=complex_vjp(lambda: pinv_p, _pinv_vjp), jvp=_pinv_jvp, batch=batch_leading,
    shape=_pinv_shape,
    examples=lambda rng: [((rng.normal(size=(4, 2)),), {}), ((rng.normal(size=(2, 3)),), {}),
                          ((well_conditioned(rng, 2, 3, 3),), {}),
                          ((rng.normal(size=(3, 2)) + 1j * rng.normal(size=(3, 2)),), {})],
    doc="np.linalg.pinv; its derivative assumes the rank is locally constant (full rank).")


@implements(np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    """``np.linalg.pinv`` of a real or complex matrix (stack), where its rank is constant."""
    return pinv_p(a, rcond=rcond, hermitian=hermitian, rtol=rtol)


# --- compositions ------------------------------------------------------------------


@implements(np.linalg.matrix_power,
            examples=lambda rng: [((well_conditioned(rng, 3, 3),), {"n": 3}),
                                  ((well_conditioned(rng, 2, 2, 2),), {"n": -2})])
def matrix_power(a, n):
    """``np.linalg.matrix_power`` by repeated squaring (numpy's order of products).

    >>> import numpy as np, gradlab as gl
    >>> float(gl.grad(lambda a: np.linalg.matrix_power(a, 3)[0, 0])(np.eye(2))[0, 0])
    3.0
    """
    n = operator.index(n)
    check_square(np.shape(a), "matrix_power")
    if n == 0:
        shape, m = np.shape(a), np.shape(a)[-1]
        return np.broadcast_to(np.eye(m, dtype=dtype_of(a)), shape).copy()
    if n < 0:
        a, n = inv_p(a), -n
    z = result = None
    while n > 0:
        z = a if z is None else z @ z
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else result @ z
    return result


def _chain_order(shapes):
    """Optimal parenthesisation of a matrix chain (the classic O(n^3) dynamic program)."""
    dims = [shapes[0][0]] + [s[1] for s in shapes]
    n = len(shapes)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _multiply_chain(arrays, split, i, j):
    if i == j:
        return arrays[i]
    k = split[i][j]
    return matmul(_multiply_chain(arrays, split, i, k), _multiply_chain(arrays, split, k + 1, j))


@implements(np.linalg.multi_dot,
            examples=lambda rng: [(([rng.normal(size=(2, 3)), rng.normal(size=(3, 4)),
                                     rng.normal(size=(4,))],), {})])
def multi_dot(arrays, *, out=None):
    """``np.linalg.multi_dot``: a chain of matmuls in the cheapest order (1-D ends allowed).

    >>> import numpy as np
    >>> multi_dot([np.ones(2), np.eye(2), np.ones(2)])
    np.float64(2.0)
    """
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    first_1d, last_1d = np.ndim(arrays[0]) == 1, np.ndim(arrays[-1]) == 1
    if first_1d:
        arrays[0] = expand_dims(arrays[0], 0)
    if last_1d:
        arrays[-1] = expand_dims(arrays[-1], -1)
    split = _chain_order([np.shape(a) for a in arrays])
    result = _multiply_chain(arrays, split, 0, len(arrays) - 1)
    if first_1d and last_1d:
        return result[0, 0]
    if first_1d:
        return result[0]
    if last_1d:
        return result[:, 0]
    return result
