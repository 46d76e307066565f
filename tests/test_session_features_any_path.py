"""The in-place accumulation rewrite, indexed cotangents and ufunc ``dtype=`` away from
plain ufuncs: non-ufunc numpy (tile, einsum, linalg.solve), a callback through ``map``,
vmap and jit, float32 arguments, and a second thread. Every gradient is checked against
central finite differences (or a closed form)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(5)
A = RNG.normal(size=(3, 3)) + 3.0 * np.eye(3)
X = RNG.normal(size=3)


def accumulate(x):
    acc = np.zeros(3)
    acc += np.linalg.solve(A, x)
    acc += np.einsum("ij,j->i", A, x * x)
    acc += np.tile(x[:1], 3)
    for part in map(lambda v: np.sin(v) * x, [1.0, 2.0]):  # a callback made at run time
        acc += part
    return np.sum(acc * acc)


def element_loop(x):
    total = 0.0
    for i in range(3):
        total = total + np.einsum("i,i->", A[i], x) * x[i]
    return total


def ufunc_dtype(x):
    return np.sum(np.exp(np.tile(x, 2), dtype=np.float64) * np.linalg.solve(A, x)[0])


def _fd_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


@pytest.mark.parametrize("f", [accumulate, element_loop, ufunc_dtype],
                         ids=["accumulate", "element_loop", "ufunc_dtype"])
def test_gradient_matches_finite_differences_on_non_ufunc_numpy(f):
    np.testing.assert_allclose(gl.grad(f)(X), _fd_grad(f, X), rtol=1e-6, atol=1e-8)
    gl.check_grads(f, modes=("fwd", "rev"), order=2)(X)


@pytest.mark.parametrize("f", [accumulate, element_loop, ufunc_dtype],
                         ids=["accumulate", "element_loop", "ufunc_dtype"])
def test_vmap_and_jit_agree_with_the_plain_gradient(f):
    xs = RNG.normal(size=(4, 3))
    per_example = gl.vmap(gl.grad(f))(xs)
    for row, x in zip(per_example, xs):
        np.testing.assert_allclose(row, _fd_grad(f, x), rtol=1e-6, atol=1e-8)
    compiled = gl.jit(gl.grad(f))
    np.testing.assert_allclose(compiled(X), gl.grad(f)(X), rtol=1e-12)


@pytest.mark.parametrize("f", [accumulate, element_loop], ids=["accumulate", "element_loop"])
def test_float32_argument_gets_a_float32_gradient(f):
    x32 = X.astype(np.float32)
    g = gl.grad(f)(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, _fd_grad(f, X), rtol=1e-4, atol=1e-4)


def test_second_thread_gives_the_same_gradients():
    expected = {f.__name__: gl.grad(f)(X) for f in (accumulate, element_loop, ufunc_dtype)}
    got: dict = {}

    def work():
        for f in (accumulate, element_loop, ufunc_dtype):
            got[f.__name__] = gl.grad(f)(X)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, g in expected.items():
        np.testing.assert_array_equal(got[name], g)
