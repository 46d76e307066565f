"""Contractions: every einsum form against numpy, gradients, and vmap against a loop."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(4)
A, B, C = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2))
SQ = RNG.normal(size=(3, 3))
BATCH = RNG.normal(size=(5, 2, 3))

EINSUMS = [("ij,jk->ik", A, B), ("ij,jk", A, B), ("ij,jk,kl->il", A, B, C), ("ii->", SQ),
           ("ii", SQ), ("ii->i", SQ), ("ij->ji", A), ("ij->", A), ("i,i", B[:, 0], B[:, 1]),
           ("...ij,...jk->...ik", BATCH, B), ("b...,...->...b", BATCH, A), ("ba,Ab->Aa", A, A.T),
           ("i...->...", BATCH), ("ij,ij->ij", A[:1], A)]


@pytest.mark.parametrize("k", range(len(EINSUMS)))
def test_einsum_forms_match_numpy_and_finite_differences(k):
    spec, *ops = EINSUMS[k]
    got = gl.vjp(lambda *xs: np.einsum(spec, *xs), *ops)[0]
    np.testing.assert_allclose(got, np.einsum(spec, *ops), atol=1e-12)
    gl.check_grads(lambda *xs: np.einsum(spec, *xs), *ops)


def test_einsum_interleaved_form_matches_numpy():
    for args in [(A, [0, 1], B, [1, 2], [0, 2]), (A, [27, 1], B, [1, 26]), (SQ, [0, 0], [0]),
                 (BATCH, [Ellipsis, 0], [Ellipsis])]:
        got = gl.vjp(lambda x, args=args: np.einsum(x, *args[1:]), args[0])[0]
        np.testing.assert_allclose(got, np.einsum(*args))


def test_einsum_trace_gradient_is_identity_and_diagonal_gradient_is_embedding():
    np.testing.assert_array_equal(gl.grad(lambda a: np.einsum("ii", a))(SQ), np.eye(3))
    out, back = gl.vjp(lambda a: np.einsum("ii->i", a), SQ)
    np.testing.assert_array_equal(back(np.array([1.0, 2.0, 3.0]))[0], np.diag([1.0, 2.0, 3.0]))


def test_dot_on_nd_arrays_contracts_last_and_second_to_last():
    a, b = RNG.normal(size=(2, 2, 3)), RNG.normal(size=(4, 3, 2))
    np.testing.assert_allclose(gl.vjp(np.dot, a, b)[0], np.dot(a, b))
    gl.check_grads(np.dot, a, b)


def test_named_products_match_numpy():
    u, v = RNG.normal(size=(3,)), RNG.normal(size=(3,))
    for f, args in [(np.cross, (u, v)), (np.kron, (A, SQ)), (np.outer, (u, A)),
                    (np.inner, (A, RNG.normal(size=(5, 3)))), (np.vdot, (A, A)),
                    (np.trace, (BATCH[:, :2, :2],))]:
        np.testing.assert_allclose(gl.vjp(lambda *xs, f=f: f(*xs), *args)[0], f(*args))
    got = gl.vjp(lambda a, b: np.tensordot(a, b, 1), A, B)[0]
    np.testing.assert_allclose(got, np.tensordot(A, B, 1))
    # d/du (u x v) . w = v x w
    w = RNG.normal(size=(3,))
    np.testing.assert_allclose(gl.grad(lambda a: np.cross(a, v) @ w)(u), np.cross(v, w))


FNS = [lambda x: np.einsum("ij,jk->ik", x, B), lambda x: np.einsum("ij,kj->", x, x),
       lambda x: np.einsum("ii->i", x[:, :2]), lambda x: np.tensordot(x, B, 1),
       lambda x: np.inner(x, x), lambda x: np.outer(x[0], x[1]), lambda x: np.kron(x, SQ[:2]),
       lambda x: np.trace(x[:, :2]), lambda x: np.cross(x, x[::-1]), lambda x: np.vdot(x, A),
       lambda x: np.dot(x, B), lambda x: np.einsum("...j,j->...", x, B[:, 0])]


@pytest.mark.parametrize("k", range(len(FNS)))
def test_vmap_of_contractions_matches_loop(k):
    f = FNS[k]
    xs = RNG.normal(size=(4, 2, 3))
    np.testing.assert_allclose(gl.vmap(f)(xs), np.stack([f(x) for x in xs]), atol=1e-12)
    h = gl.grad(lambda x: np.sum(np.tanh(f(x))))
    np.testing.assert_allclose(gl.vmap(h)(xs), np.stack([h(x) for x in xs]), atol=1e-12)
    both = gl.vmap(lambda x, y: np.einsum("ij,kj->ik", x, y))(xs, xs[::-1])
    np.testing.assert_allclose(both, np.einsum("bij,bkj->bik", xs, xs[::-1]))
