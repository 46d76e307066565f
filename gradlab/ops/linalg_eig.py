"""The general eigendecomposition: ``np.linalg.eig`` and ``np.linalg.eigvals``.

For a diagonalisable ``A = V diag(w) V^-1`` with distinct eigenvalues,
``dw = diag(V^-1 dA V)`` and ``dV = V (F * (V^-1 dA V))`` with
``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, plus the change that keeps each
eigenvector in numpy's *gauge*: unit Euclidean norm, and its largest component real
(LAPACK's normalisation). An eigenvector is only defined up to such a gauge, so a
loss that depends on it (the raw phase or sign of ``v``) has a gradient only for this
particular choice; losses invariant to it (``|v|``, projectors ``v v^H`` of unit ``v``,
anything of the eigenvalues) have the unique gradient. At repeated eigenvalues the
eigenvectors are not differentiable (their gaps are set to 0, so a function of the
eigenvalues alone stays fine).

Eigenvalues of a real matrix are complex in general, so under a transform ``eig``
and ``eigvals`` always return complex arrays (as JAX does); numpy returns real arrays
when every eigenvalue happens to be real. Their VJPs are the transposed JVPs, in
docs/complex.md's convention: the gradient of a real loss of a real matrix is real.

>>> import numpy as np, gradlab as gl
>>> a = np.array([[2.0, 1.0], [0.0, 3.0]])
>>> gl.grad(lambda a: np.real(np.linalg.eigvals(a)[1]))(a).round(6).tolist()
[[0.0, 0.0], [1.0, 1.0]]
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct
from ..precision.dtypes import computes_in_float32
from .complex import conj, imag, real
from .elementwise import absolute, where
from .families import Structural
from .linalg_decomp import _inverse_gaps
from .linalg_solve import batch_leading, check_square, diagonal, inexact, named_result, solve_p
from .reduce import max as max_
from .reduce import sum as sum_
from .shape import concatenate, expand_dims

_EigResult = named_result("EigResult")


def complex_dtype(dtype) -> np.dtype:
    """complex128 for float64/complex128 (and integers), complex64 for float32."""
    return np.result_type(inexact(dtype), np.complex64)


def _gauge(v):
    """Columns scaled to unit norm (numpy's already are) with the largest component real,
    of the sign numpy gave it: numpy's own vectors come back unchanged."""
    lead = np.take_along_axis(v, np.argmax(np.abs(v), axis=-2)[..., None, :], axis=-2)
    scale = np.where(lead.real < 0, -1.0, 1.0) * np.abs(lead) / lead
    return v * scale


def _eig_impl(a):
    w, v = np.linalg.eig(a)
    dtype = complex_dtype(np.result_type(a))
    return np.concatenate([w[..., None, :], _gauge(v)], axis=-2).astype(dtype, copy=False)


def _unpack(p):
    return p[..., 0, :], p[..., 1:, :]


def _lead_mask(v):
    """Where each column's largest-modulus component is (a constant mask)."""
    mag = absolute(v)
    return mag >= max_(mag, axis=-2, keepdims=True)


def _eig_jvp(t, ans, a):
    w, v = _unpack(ans)
    m = solve_p(v, t @ v)  # V^-1 dA V
    dv = v @ (_inverse_gaps(w) * m)
    # unit norm: Re(v_k^H dv_k) = 0
    dv = dv - v * real(sum_(conj(v) * dv, axis=-2, keepdims=True))
    # the largest component stays real: rotate by the phase its tangent would add
    mask = _lead_mask(v)
    lead_v = real(sum_(where(mask, v, 0.0), axis=-2, keepdims=True))
    lead_dv = imag(sum_(where(mask, dv, 0.0), axis=-2, keepdims=True))
    dv = dv - 1j * v * (lead_dv / lead_v)
    return concatenate([expand_dims(diagonal(m), -2), dv], axis=-2)


def _eig_shape(prim, avals, params):
    (a,) = avals
    check_square(a.shape, "eig")
    n = a.shape[-1]
    return ShapeDtypeStruct(tuple(a.shape[:-2]) + (n + 1, n), complex_dtype(a.dtype))


def _eig_examples(rng):
    """Distinct eigenvalues: real ones, a complex pair, a batch, a complex matrix."""
    def similar(w, shape):
        p = rng.normal(size=shape) + 2.0 * np.eye(shape[-1])
        return p @ w @ np.linalg.inv(p)

    pair = np.array([[1.0, -2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 3.5]])
    z = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    return [((similar(np.diag([1.0, 2.5, 4.0]), (3, 3)),), {}), ((similar(pair, (3, 3)),), {}),
            ((similar(np.diag([-1.0, 2.0]), (2, 2, 2)),), {}),
            ((z + np.diag([0.0, 3.0, 6.0]),), {})]


eig_p = Primitive(
    "eig", computes_in_float32(_eig_impl), family=Structural, jvp=_eig_jvp,
    batch=batch_leading, shape=_eig_shape,
    examples=_eig_examples,
    doc="np.linalg.eig packed as one complex array: row 0 the eigenvalues, rows 1: the "
        "vectors (unit norm, largest component real); its VJP is the JVP's transpose.")


def _eigvals_jvp(t, ans, a):
    v = _unpack(eig_p(a))[1]
    return diagonal(solve_p(v, t @ v))  # dw = diag(V^-1 dA V)


def _eigvals_shape(prim, avals, params):
    (a,) = avals
    check_square(a.shape, "eigvals")
    return ShapeDtypeStruct(tuple(a.shape[:-1]), complex_dtype(a.dtype))


eigvals_p = Primitive(
    "eigvals", computes_in_float32(
        lambda a: np.linalg.eigvals(a).astype(complex_dtype(np.result_type(a)))),
    family=Structural, jvp=_eigvals_jvp, batch=batch_leading, shape=_eigvals_shape,
    examples=_eig_examples,
    doc="np.linalg.eigvals (complex): ``dw = diag(V^-1 dA V)``; VJP by transposition.")


@implements(np.linalg.eig, examples=_eig_examples)
def eig(a):
    """``np.linalg.eig``: complex ``(eigenvalues, eigenvectors)``, differentiable if distinct.

    See the module doc for the eigenvectors' gauge.

    >>> import numpy as np, gradlab as gl
    >>> a = np.array([[1.0, 2.0], [0.0, 3.0]])
    >>> bool(np.isclose(gl.grad(lambda a: np.real(np.linalg.eig(a)[0][0]))(a)[0, 0], 1.0))
    True
    """
    w, v = _unpack(eig_p(a))
    return _EigResult(w, v)


@implements(np.linalg.eigvals, examples=_eig_examples)
def eigvals(a):
    """``np.linalg.eigvals``: the eigenvalues (complex), differentiable where distinct."""
    return eigvals_p(a)
