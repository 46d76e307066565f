"""Decompositions: cholesky, eigh, eigvalsh, svd, qr; and norm and lstsq built on them.

A decomposition with several outputs is one primitive with one *packed* output
(``eigh`` stacks the eigenvalues as a row on top of the eigenvectors; ``svd`` stacks
``U``, ``s`` and ``V``; ``qr`` stacks ``Q`` and ``R^T``): every transform level
handles it like any array, and the numpy-facing composition unpacks it with
indexing, whose VJP routes each part's cotangent back. ``cholesky``, ``eigh`` and
``eigvalsh`` read one triangle of their input, as numpy does, so their derivatives
are those of that triangle (a symmetric input gets the symmetric-input gradient
split over both triangles' entries as numpy's reading of them implies).

>>> import numpy as np, gradlab as gl
>>> A = np.array([[2.0, 0.5], [0.5, 1.0]])
>>> g = gl.grad(lambda A: np.sum(np.linalg.eigvalsh(A)))(A)   # d trace = identity
>>> np.allclose(g, np.eye(2))
True
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct, normalize_axes
from ..devices.array_module import on_device_of
from ..precision.dtypes import computes_in_float32, computes_in_float32_composition
from .complex import conj, imag, is_complex, real
from .elementwise import absolute, sqrt, where
from .families import Structural
from .linalg_solve import (
    batch_leading,
    check_square,
    complex_vjp,
    diag_embed,
    diagonal,
    dtype_of,
    inexact,
    mH,
    mT,
    named_result,
    pinv_p,
    real_dtype,
    solve_p,
    spd,
    square_shape,
    tril,
)
from .reduce import max as max_
from .reduce import min as min_
from .reduce import sum as sum_
from .shape import concatenate, expand_dims, moveaxis, reshape

_EighResult = named_result("EighResult")
_SVDResult = named_result("SVDResult")
_QRResult = named_result("QRResult")


def triu(x, k=0):
    """The upper triangle, as a masked product."""
    n, m = np.shape(x)[-2:]
    return x * on_device_of(x, ~np.tri(n, m, k=k - 1, dtype=bool))


def _uplo(uplo):
    uplo = str(uplo).upper()
    if uplo not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return uplo


def symmetric_from(t, uplo):
    """The symmetric (Hermitian) matrix numpy decomposes when it reads only ``uplo``."""
    full = tril(t) + mH(tril(t, -1)) if uplo == "L" else triu(t) + mH(triu(t, 1))
    if is_complex(full):  # LAPACK reads only the real part of a Hermitian diagonal
        full = full - 1j * imag(full) * np.eye(np.shape(full)[-1], dtype=bool)
    return full


def symmetric_from_adjoint(g, uplo):
    """The adjoint of ``symmetric_from``: cotangent of the triangle numpy reads."""
    if uplo == "L":
        return tril(g) + tril(mT(g), -1)
    return triu(g) + triu(mT(g), 1)


def _inverse_gaps(w):
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal; 0 where the two coincide."""
    d = expand_dims(w, -2) - expand_dims(w, -1)
    return where(d == 0, 0.0, 1.0 / where(d == 0, 1.0, d))


def _hermitian_pd(rng, n):
    b = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return b @ b.conj().T + n * np.eye(n)


def _spd_examples(rng):
    return [((spd(rng, 3, 3),), {}), ((spd(rng, 2, 4, 4),), {}), ((spd(rng, 1, 1),), {}),
            ((_hermitian_pd(rng, 3),), {})]


# --- cholesky ----------------------------------------------------------------------


def _phi(x):
    """The lower triangle with a halved diagonal (Murray, arXiv:1602.07527)."""
    return tril(x) - 0.5 * (x * on_device_of(x, np.eye(np.shape(x)[-1], dtype=bool)))


def _cholesky_jvp(t, L, a):
    y = solve_p(L, symmetric_from(t, "L"))
    return L @ _phi(mH(solve_p(L, mH(y))))  # L phi(L^-1 dA L^-H)


def _cholesky_vjp(g, L, a):
    w = solve_p(mT(L), _phi(mT(L) @ g))
    return symmetric_from_adjoint(mT(solve_p(mT(L), mT(w))), "L")  # L^-T phi(L^T g) L^-1


cholesky_p = Primitive(
    "cholesky", computes_in_float32(np.linalg.cholesky), family=Structural,
    vjp=complex_vjp(lambda: cholesky_p, _cholesky_vjp), jvp=_cholesky_jvp,
    batch=batch_leading, shape=square_shape,
    examples=_spd_examples,
    doc="np.linalg.cholesky (lower factor; reads the lower triangle, as numpy does).")


@implements(np.linalg.cholesky, examples=_spd_examples)
def cholesky(a, /, *, upper=False):
    """``np.linalg.cholesky``: the lower factor ``L`` (``L.T`` with ``upper=True``).

    >>> import numpy as np, gradlab as gl
    >>> float(gl.grad(lambda a: np.linalg.cholesky(a)[0, 0])(np.array([[4.0]]))[0, 0])
    0.25
    """
    if upper:  # numpy then reads the upper triangle: that of a^H is the lower one
        return mH(cholesky_p(mH(a)))
    return cholesky_p(a)


# --- eigh and eigvalsh --------------------------------------------------------------


def _unpack_eigh(p):
    w = p[..., 0, :]
    return (real(w) if is_complex(w) else w), p[..., 1:, :]


def _eigh_impl(a, *, UPLO="L"):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return np.concatenate([w[..., None, :].astype(v.dtype), v], axis=-2)


def _eigh_jvp(t, ans, a, *, UPLO="L"):
    w, v = _unpack_eigh(ans)
    s = mH(v) @ symmetric_from(t, UPLO) @ v
    dw = diagonal(s)
    if is_complex(dw):  # the eigenvalues of a Hermitian matrix stay real
        dw = real(dw) + 0j
    return concatenate([expand_dims(dw, -2), v @ (_inverse_gaps(w) * s)], axis=-2)


def _eigh_vjp(g, ans, a, *, UPLO="L"):
    w, v = _unpack_eigh(ans)
    gw, gv = _unpack_eigh(g)
    inner = diag_embed(gw) + _inverse_gaps(w) * (mT(v) @ gv)
    return symmetric_from_adjoint(v @ inner @ mT(v), UPLO)


def _eigh_shape(prim, avals, params):
    (a,) = avals
    check_square(a.shape, "eigh")
    n = a.shape[-1]
    return ShapeDtypeStruct(tuple(a.shape[:-2]) + (n + 1, n), inexact(a.dtype))


def _symmetric_examples(rng):
    """Symmetric matrices with well-separated eigenvalues (eigenvectors are then smooth)."""
    out = []
    for shape, uplo in (((3, 3), "L"), ((2, 4, 4), "L"), ((3, 3), "U")):
        q = np.linalg.qr(rng.normal(size=shape))[0]
        w = np.arange(1, shape[-1] + 1) * 1.5 + rng.uniform(-0.3, 0.3, shape[:-1])
        out.append((((q * w[..., None, :]) @ np.swapaxes(q, -1, -2),), {"UPLO": uplo}))
    return out


eigh_p = Primitive(
    "eigh", computes_in_float32(_eigh_impl), family=Structural, params=("UPLO",),
    vjp=complex_vjp(lambda: eigh_p, _eigh_vjp), jvp=_eigh_jvp, batch=batch_leading,
    shape=_eigh_shape,
    examples=_symmetric_examples,
    doc="np.linalg.eigh packed as one array: row 0 the eigenvalues, rows 1: the vectors.")


@implements(np.linalg.eigh, examples=_symmetric_examples)
def eigh(a, UPLO="L"):
    """``np.linalg.eigh`` of a real symmetric matrix (stack): ``(eigenvalues, eigenvectors)``.

    The eigenvector derivative divides by eigenvalue gaps: it is set to 0 where two
    eigenvalues are exactly equal (their eigenvectors are then not unique), so a
    function of the eigenvalues alone differentiates fine at repeated eigenvalues.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.grad(lambda a: np.linalg.eigh(a)[0][-1])(np.diag([1.0, 3.0]))
    >>> g.tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    w, v = _unpack_eigh(eigh_p(a, UPLO=_uplo(UPLO)))
    return _EighResult(w, v)


def _eigvalsh_vectors(a, uplo):
    return _unpack_eigh(eigh_p(a, UPLO=uplo))[1]


def _eigvalsh_vjp(g, ans, a, *, UPLO="L"):
    v = _eigvalsh_vectors(a, UPLO)
    return symmetric_from_adjoint((v * expand_dims(g, -2)) @ mT(v), UPLO)


def _eigvalsh_jvp(t, ans, a, *, UPLO="L"):
    v = _eigvalsh_vectors(a, UPLO)
    dw = sum_(conj(v) * (symmetric_from(t, UPLO) @ v), axis=-2)  # d w_i = v_i^H dA v_i
    return real(dw) if is_complex(dw) else dw


def _eigvalsh_shape(prim, avals, params):
    (a,) = avals
    check_square(a.shape, "eigvalsh")
    return ShapeDtypeStruct(tuple(a.shape[:-1]), real_dtype(a.dtype))


eigvalsh_p = Primitive(
    "eigvalsh", computes_in_float32(lambda a, *, UPLO="L": np.linalg.eigvalsh(a, UPLO=UPLO)),
    family=Structural,
    params=("UPLO",),
    vjp=complex_vjp(lambda: eigvalsh_p, _eigvalsh_vjp), jvp=_eigvalsh_jvp,
    batch=batch_leading, shape=_eigvalsh_shape, examples=_symmetric_examples,
    doc="np.linalg.eigvalsh: ``d w_i = v_i^T dA v_i``.")


@implements(np.linalg.eigvalsh, examples=_symmetric_examples)
def eigvalsh(a, UPLO="L"):
    """``np.linalg.eigvalsh`` of a real symmetric matrix (stack), ascending."""
    return eigvalsh_p(a, UPLO=_uplo(UPLO))


# --- svd ---------------------------------------------------------------------------


def _unpack_svd(p, m):
    """``(U, s, Vh)`` from the packed ``[U; s; V]`` (stacked along the row axis)."""
    s = p[..., m, :]
    return p[..., :m, :], (real(s) if is_complex(s) else s), mH(p[..., m + 1:, :])


def _svd_impl(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, s[..., None, :].astype(u.dtype), np.conj(np.swapaxes(vh, -1, -2))],
                          axis=-2)


def _svd_jvp(t, ans, a):
    """The reduced SVD's derivative (Townsend's notes; as in JAX's svd_jvp_rule)."""
    m, n = np.shape(a)[-2:]
    u, s, vh = _unpack_svd(ans, m)
    v = mH(vh)
    ds = mH(u) @ t @ v
    row, col = expand_dims(s, -2), expand_dims(s, -1)
    f = _inverse_gaps(s * s)
    du = u @ (f * (ds * row + col * mH(ds)))
    dv = v @ (f * (col * ds + mH(ds) * row))
    d_s = diagonal(ds)
    if is_complex(ds):  # the phase shared by u_i and v_i: put on u_i (as JAX does)
        du = du + u * (1j * imag(d_s) / s)[..., None, :]
        d_s = real(d_s) + 0j
    if m > n:
        tv = t @ v
        du = du + (tv - u @ (mH(u) @ tv)) / row
    if n > m:
        tu = mH(t) @ u
        dv = dv + (tu - v @ (mH(v) @ tu)) / row
    return concatenate([du, expand_dims(d_s, -2), dv], axis=-2)


def _svd_shape(prim, avals, params):
    (a,) = avals
    m, n = a.shape[-2:]
    return ShapeDtypeStruct(tuple(a.shape[:-2]) + (m + 1 + n, min(m, n)), inexact(a.dtype))


def _matrix_examples(rng):
    """Matrices with distinct, well-separated singular values (tall, wide, square, stacked)."""
    out = []
    for shape in ((4, 3), (2, 4), (3, 3), (2, 3, 2)):
        m, n = shape[-2:]
        k = min(m, n)
        u = np.linalg.qr(rng.normal(size=shape[:-2] + (m, k)))[0]
        v = np.linalg.qr(rng.normal(size=shape[:-2] + (n, k)))[0]
        s = np.arange(k, 0, -1) * 1.5 + 0.5
        out.append((((u * s[..., None, :]) @ np.swapaxes(v, -1, -2),), {}))
    return out


def _complex_matrix_examples(rng):
    """Complex matrices with distinct singular values: tall and wide."""
    return [((rng.normal(size=shape) + 1j * rng.normal(size=shape)
              + 3.0 * np.eye(*shape),), {}) for shape in ((4, 3), (2, 3))]


svd_p = Primitive(
    "svd", computes_in_float32(_svd_impl), family=Structural, jvp=_svd_jvp, batch=batch_leading,
    shape=_svd_shape, examples=_matrix_examples,
    doc="The reduced np.linalg.svd packed as [U; s; V] (its VJP is the JVP's transpose).")


def _svd_vectors(a):
    return _unpack_svd(svd_p(a), np.shape(a)[-2])


def _svdvals_vjp(g, ans, a):
    u, _, vh = _svd_vectors(a)
    return (u * expand_dims(g, -2)) @ vh


def _svdvals_jvp(t, ans, a):
    u, _, vh = _svd_vectors(a)
    ds = sum_(conj(u) * (t @ mH(vh)), axis=-2)  # d s_i = Re(u_i^H dA v_i)
    return real(ds) if is_complex(ds) else ds


def _svdvals_shape(prim, avals, params):
    (a,) = avals
    return ShapeDtypeStruct(tuple(a.shape[:-2]) + (min(a.shape[-2:]),), real_dtype(a.dtype))


svdvals_p = Primitive(
    "svdvals", computes_in_float32(lambda a: np.linalg.svd(a, compute_uv=False)), family=Structural,
    vjp=complex_vjp(lambda: svdvals_p, _svdvals_vjp), jvp=_svdvals_jvp,
    batch=batch_leading, shape=_svdvals_shape,
    examples=lambda rng: _matrix_examples(rng) + _complex_matrix_examples(rng),
    doc="Singular values (np.linalg.svd(compute_uv=False)): ``d s_i = u_i^T dA v_i``.")


def _svd_examples(rng):
    reduced = [(args, {"full_matrices": False}) for args, _ in _matrix_examples(rng)]
    square = rng.normal(size=(3, 3)) + np.diag([6.0, 3.0, 0.0])
    return reduced + [((square,), {}), ((square,), {"compute_uv": False})]


@implements(np.linalg.svd, examples=_svd_examples)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """``np.linalg.svd`` of a real matrix (stack), differentiable where singular values differ.

    ``full_matrices=True`` (numpy's default) is supported for square matrices only:
    the extra columns of a rectangular full ``U`` or ``V`` are not unique, so they
    have no derivative; pass ``full_matrices=False``.

    >>> import numpy as np, gradlab as gl
    >>> gl.grad(lambda a: np.linalg.svd(a, compute_uv=False)[0])(np.diag([3.0, 1.0])).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    if not compute_uv:
        return svdvals_p(a)
    if hermitian:
        raise NotImplementedError("np.linalg.svd(hermitian=True) with compute_uv: use eigh")
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise NotImplementedError(
            f"np.linalg.svd(full_matrices=True) of a {m}x{n} matrix: the extra singular "
            "vectors are not unique and have no derivative; pass full_matrices=False")
    return _SVDResult(*_svd_vectors(a))


@implements(*filter(None, [getattr(np.linalg, "svdvals", None)]), examples=_matrix_examples)
def svdvals(x, /):
    """``np.linalg.svdvals``: the singular values, descending."""
    return svdvals_p(x)


# --- qr ----------------------------------------------------------------------------


def _unpack_qr(p, m):
    return p[..., :m, :], mT(p[..., m:, :])


def _qr_impl(a):
    q, r = np.linalg.qr(a)
    return np.concatenate([q, np.swapaxes(r, -1, -2)], axis=-2)


def _qr_square_jvp(t, q, r):
    """dQ, dR of A = QR for tall A (Walter & Lehmann; j-towns.github.io/papers/qr-derivative)."""
    t_rinv = mT(solve_p(mT(r), mT(t)))
    qt = mH(q) @ t_rinv
    low = tril(qt, -1)
    skew = low - mH(low)
    if is_complex(qt):  # R keeps a real diagonal: Q takes the imaginary part of qt's
        skew = skew + 1j * imag(qt) * np.eye(np.shape(qt)[-1], dtype=bool)
    return q @ (skew - qt) + t_rinv, (qt - skew) @ r


def _qr_jvp(t, ans, a):
    m, n = np.shape(a)[-2:]
    q, r = _unpack_qr(ans, m)
    if m >= n:
        dq, dr = _qr_square_jvp(t, q, r)
    else:  # A = [X Y] with X square: Q R_X = X and R = [R_X, Q^T Y]
        dq, drx = _qr_square_jvp(t[..., :m], q, r[..., :m])
        dry = mH(dq) @ a[..., m:] + mH(q) @ t[..., m:]
        dr = concatenate([drx, dry], axis=-1)
    return concatenate([dq, mT(dr)], axis=-2)


def _qr_shape(prim, avals, params):
    (a,) = avals
    m, n = a.shape[-2:]
    return ShapeDtypeStruct(tuple(a.shape[:-2]) + (m + n, min(m, n)), inexact(a.dtype))


qr_p = Primitive(
    "qr", computes_in_float32(_qr_impl), family=Structural, jvp=_qr_jvp, batch=batch_leading,
    shape=_qr_shape,
    examples=lambda rng: _matrix_examples(rng) + _complex_matrix_examples(rng),
    doc="The reduced np.linalg.qr packed as [Q; R^T] (its VJP is the JVP's transpose).")


@implements(np.linalg.qr, examples=_matrix_examples)
def qr(a, mode="reduced"):
    """``np.linalg.qr`` of a real matrix (stack); modes 'reduced', 'complete' (m <= n), 'r'.

    >>> import numpy as np, gradlab as gl
    >>> a = np.array([[-3.0], [4.0]])
    >>> r00 = np.linalg.qr(a)[1][0, 0]             # +-|a|, by numpy's sign choice
    >>> np.allclose(gl.grad(lambda a: np.linalg.qr(a)[1][0, 0])(a), a * r00 / 25)
    True
    """
    m, n = np.shape(a)[-2:]
    if mode == "raw" or (mode == "complete" and m > n):
        raise NotImplementedError(
            f"np.linalg.qr(mode={mode!r}) of a {m}x{n} matrix has no derivative in gradlab "
            "(a complete Q of a tall matrix is not unique); use mode='reduced'")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"Unrecognized mode '{mode}'")
    q, r = _unpack_qr(qr_p(a), m)
    return r if mode == "r" else _QRResult(q, r)


# --- norm and lstsq ----------------------------------------------------------------


def _abs2(x):
    return real(x * x.conj()) if is_complex(x) else x * x


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return sqrt(sum_(_abs2(x), axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    if ord == np.inf:
        return max_(absolute(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min_(absolute(x), axis=axis, keepdims=keepdims)
    if ord == 0:  # the count of nonzeros: piecewise constant
        return sum_(x != 0, axis=axis, keepdims=keepdims).astype(real_dtype(dtype_of(x)))
    if ord == 1:
        return sum_(absolute(x), axis=axis, keepdims=keepdims)
    return sum_(absolute(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord in (None, "fro", "f"):
        out = sqrt(sum_(_abs2(x), axis=axes))
    elif ord in (2, -2, "nuc"):
        s = svdvals_p(moveaxis(x, axes, (-2, -1)))
        out = {2: max_, -2: min_, "nuc": sum_}[ord](s, axis=-1)
    elif ord in (1, -1, np.inf, -np.inf):
        summed, reduced = (row, col) if ord in (1, -1) else (col, row)
        if reduced > summed:
            reduced -= 1
        pick = max_ if ord in (1, np.inf) else min_
        out = pick(sum_(absolute(x), axis=summed), axis=reduced)
    else:
        raise ValueError("Invalid norm order for matrices.")
    if keepdims:
        shape = list(np.shape(x))
        shape[row] = shape[col] = 1
        out = reshape(out, tuple(shape))
    return out


def _norm_examples(rng):
    x = rng.normal(size=(3, 4))
    return [((x,), {}), ((x,), {"ord": "nuc"}), ((x,), {"ord": 1}), ((x,), {"ord": -np.inf}),
            ((x,), {"ord": 3, "axis": 1}), ((x,), {"ord": np.inf, "axis": 0, "keepdims": True}),
            ((rng.normal(size=(2, 3, 3)),), {"ord": 2, "axis": (2, 1)})]


@implements(np.linalg.norm, examples=_norm_examples)
@computes_in_float32_composition
def norm(x, ord=None, axis=None, keepdims=False):
    """``np.linalg.norm``: every vector and matrix ``ord``, over any ``axis``, ``keepdims``.

    Matrix 2-norms use singular values; a zero vector's 2-norm has no derivative.

    >>> import numpy as np, gradlab as gl
    >>> gl.grad(np.linalg.norm)(np.array([3.0, 4.0])).round(6).tolist()
    [0.6, 0.8]
    """
    nd = np.ndim(x)
    if axis is None:
        if ord is None:  # 2-norm of the flattened array, whatever its rank
            out = sqrt(sum_(_abs2(x)))
            return reshape(out, (1,) * nd) if keepdims else out
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    axes = normalize_axes(axis, nd) if not isinstance(axis, (int, np.integer)) else None
    if axes is None or len(axes) == 1:
        return _vector_norm(x, ord, axis if axes is None else axis[0], keepdims)
    if len(axes) == 2:
        axis = tuple(int(a) % nd for a in axis)
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


@implements(np.linalg.lstsq,
            examples=lambda rng: [((rng.normal(size=(5, 3)), rng.normal(size=5)), {}),
                                  ((rng.normal(size=(5, 2)), rng.normal(size=(5, 2))), {})])
def lstsq(a, b, rcond=None):
    """``np.linalg.lstsq``: ``(x, residuals, rank, s)`` with ``x = pinv(a) @ b``.

    The solution and the singular values are differentiable (where the rank is
    constant); the rank is an integer. Its residuals' shape depends on the rank, so
    under ``vmap`` an overdetermined system raises a ``ConcretizationError``.

    >>> import numpy as np, gradlab as gl
    >>> a = np.array([[1.0], [1.0]])
    >>> gl.grad(lambda b: np.linalg.lstsq(a, b)[0][0])(np.array([1.0, 3.0])).round(6).tolist()
    [0.5, 0.5]
    """
    m, n = np.shape(a)[-2:]
    if rcond is None:
        rcond = np.finfo(real_dtype(dtype_of(a))).eps * max(m, n)
    x = pinv_p(a, rcond=rcond) @ b
    s = svdvals_p(a)
    rank = sum_(s > rcond * s[..., :1], axis=-1)
    if m > n and rank == n:
        r = b - a @ x
        resid = sum_(_abs2(r), axis=0)
        if np.ndim(b) == 1:
            resid = reshape(resid, (1,))
    else:
        resid = np.zeros((0,), real_dtype(dtype_of(a)))
    return x, resid, rank, s
