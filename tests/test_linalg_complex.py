"""Complex decompositions (cholesky, eigh, eigvalsh, svd, qr, pinv, norm, lstsq) and eig/eigvals.

Eigenvectors and singular vectors are defined up to a phase (their *gauge*), so the
checks differentiate gauge-invariant functions of them: |v|^2, projectors, the
eigenvalues. Q and R of a QR factorisation and the Cholesky factor are unique.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(11)


def _complex(*shape):
    return RNG.normal(size=shape) + 1j * RNG.normal(size=shape)


B = _complex(3, 3)
WEIGHTS = np.arange(1.0, 10.0).reshape(3, 3)


def _hermitian_pd(b):
    return b @ np.conj(b.T) + 3.0 * np.eye(3)


def test_complex_cholesky_second_order():
    def f(b):
        return np.sum(np.abs(np.linalg.cholesky(_hermitian_pd(b))) ** 2 * WEIGHTS)

    gl.check_grads(f, B, modes=("fwd", "rev"), order=2)
    # the factor itself (unique: real positive diagonal), through a holomorphic read-out
    gl.check_grads(lambda b: np.real(np.sum(np.linalg.cholesky(_hermitian_pd(b)) * B)), B)


def test_complex_eigh_eigenvalues_and_projectors():
    def f(b):
        w, v = np.linalg.eigh(_hermitian_pd(b) + np.diag([0.0, 4.0, 9.0]))
        return np.sum(w * np.array([1.0, 2.0, 3.0])) + np.sum(np.abs(v) ** 2 * WEIGHTS)

    gl.check_grads(f, B, modes=("fwd", "rev"), order=2)
    h = _hermitian_pd(B)
    # d/dA of the largest eigenvalue is conj(v v^H) in docs/complex.md's convention ...
    w, v = np.linalg.eigh(h)
    g = gl.grad(lambda a: np.linalg.eigvalsh(a)[-1])(h)
    # ... read on the lower triangle numpy uses (the upper one is never read)
    want = np.conj(np.outer(v[:, -1], np.conj(v[:, -1])))
    want = np.tril(want) + np.tril(np.conj(want.T), -1)
    np.testing.assert_allclose(np.tril(g), np.tril(want), atol=1e-12)
    np.testing.assert_allclose(np.triu(g, 1), 0.0, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_complex_svd_values_and_projectors(shape):
    a = _complex(*shape) + 2.0 * np.eye(*shape)

    def f(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        proj = u[:, :1] @ vh[:1, :]  # u_1 v_1^H: invariant to the pair's common phase
        return np.sum(s * np.arange(1.0, s.shape[0] + 1)) + np.real(np.sum(proj * np.conj(a)))

    gl.check_grads(f, a, modes=("fwd", "rev"), order=2)
    # d s_1 = Re(u_1^H dA v_1): the gradient is conj(u_1 v_1^H)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    g = gl.grad(lambda a: np.linalg.norm(a, 2))(a)
    np.testing.assert_allclose(g, np.conj(np.outer(u[:, 0], vh[0])), atol=1e-12)
    g = gl.grad(lambda a: np.linalg.norm(a, "nuc"))(a)
    np.testing.assert_allclose(g, np.conj(u @ vh), atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 3)])
def test_complex_qr_factors(shape):
    a = _complex(*shape) + 2.0 * np.eye(*shape)
    w_q, w_r = _complex(shape[0], min(shape)), _complex(min(shape), shape[1])

    def f(a):
        q, r = np.linalg.qr(a)
        return np.real(np.sum(q * w_q) + np.sum(r * w_r))

    gl.check_grads(f, a, modes=("fwd", "rev"), order=2)


def test_complex_pinv_and_lstsq():
    a, b = _complex(4, 2), _complex(4)
    gl.check_grads(lambda a: np.abs(np.sum(np.linalg.pinv(a) * np.arange(8.0).reshape(2, 4))), a,
                   modes=("fwd", "rev"), order=2)
    gl.check_grads(lambda a, b: np.real(np.sum(np.linalg.lstsq(a, b)[0])), a, b)


def test_eigvals_of_a_real_matrix_by_left_and_right_eigenvectors():
    p = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
    a = p @ np.diag([1.0, 2.0, 4.0]) @ np.linalg.inv(p)
    w, right = np.linalg.eig(a)
    left = np.linalg.inv(right).T  # rows of V^-1
    for k in range(3):
        g = gl.grad(lambda a, k=k: np.real(np.linalg.eigvals(a)[k]))(a)
        assert g.dtype == np.float64  # a real loss of a real matrix: a real gradient
        want = np.outer(left[:, k], right[:, k])  # d w_k = u_k^T dA v_k, u_k^T v_k = 1
        np.testing.assert_allclose(g, want, atol=1e-10)


def test_eig_with_a_complex_pair_and_of_a_complex_matrix():
    rot = np.array([[1.0, -2.0, 0.3], [2.0, 1.0, 0.0], [0.1, 0.0, 3.5]])

    def f(a):
        w, v = np.linalg.eig(a)
        return np.sum(np.abs(w) ** 2) + np.sum(np.abs(v) ** 2 * WEIGHTS)

    gl.check_grads(f, rot, modes=("fwd", "rev"), order=2)
    gl.check_grads(f, B + np.diag([0.0, 3.0, 6.0]), modes=("fwd", "rev"), order=2)


def test_eig_returns_numpys_vectors_and_complex_values():
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    w, v = np.linalg.eig(a)
    out = gl.vjp(lambda a: np.linalg.eig(a), a)[0]
    assert out[0].dtype == np.complex128  # always complex under a transform (as in JAX)
    np.testing.assert_allclose(out[0], w, rtol=1e-12)
    np.testing.assert_allclose(out[1], v, rtol=1e-12)
