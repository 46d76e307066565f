"""Indexed cotangents: reading a traced array element by element differentiates in O(n).

Each gradient is checked against finite differences and against the dense result (the
same program with the walk's indexed cotangents switched off), and the walk's buffer
ownership against the hazards it must avoid: a cotangent handed to two parents, and
the caller's own seed arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.sparse import CotangentSum, IndexedCotangent
from gradlab.ops.index import getitem_p

RNG = np.random.default_rng(7)
X = RNG.standard_normal(6)
W = RNG.standard_normal(6)
M = RNG.standard_normal((4, 3))


@pytest.fixture
def dense_only(monkeypatch):
    """Switch the indexed cotangents off: every getitem VJP builds a dense array."""
    def switch():
        monkeypatch.setattr(getitem_p.vjps, "sparse", None)
    return switch


def both_ways(dense_only, fun, *args, argnum=0):
    """``(indexed, dense)`` gradients of ``fun``: with and without indexed cotangents."""
    fast = gl.grad(fun, argnum)(*args)
    dense_only()
    return fast, gl.grad(fun, argnum)(*args)


def element_loop(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * w[i]
    return s * s


def element_array(x, w):
    return np.sum(np.array([np.sin(x[i]) * w[i] for i in range(x.shape[0])]) ** 2)


def element_generator(x, w):
    return sum(x[i] ** 3 * w[i] for i in range(len(w)))


def rows_loop(m, w):
    s = 0.0
    for row in m:
        s = s + np.sum(np.tanh(row) * w[:3])
    return s


def mixed_indices(x, w):
    """Repeated, negative, sliced, masked and fancy reads, plus a dense use of ``x``."""
    return (np.sum(x[[0, 0, 1]] * w[:3]) + x[-1] * x[-2] + np.sum(x[1:4] ** 2)
            + np.sum(x[::2] * w[::2]) + np.sum(x[x > 0] ** 3) + np.sum(np.cos(x)) * x[2])


def matrix_indices(m, w):
    return (np.sum(m[[0, 2], [1, 1]] * w[:2]) + np.sum(m[:, 1] ** 2) + m[3, 2] * m[0, 0]
            + np.sum(m[1] * m[2]) + np.sum(m[..., None, 0]) + np.sum(m[np.array([3, 3])]))


@pytest.mark.parametrize("fun, arg", [(element_loop, X), (element_array, X),
                                      (element_generator, X), (rows_loop, M),
                                      (mixed_indices, X), (matrix_indices, M)])
def test_element_reads_match_finite_differences_and_the_dense_gradient(dense_only, fun, arg):
    gl.check_grads(lambda a: fun(a, W), arg, modes=["rev"], order=1)
    fast, dense = both_ways(dense_only, fun, arg, W)
    assert fast.dtype == dense.dtype == np.float64
    np.testing.assert_allclose(fast, dense, rtol=1e-12, atol=1e-15)


def test_repeated_index_accumulates_like_add_at():
    g = gl.grad(lambda x: np.sum(x[[0, 0, 2, 0]] * np.array([1.0, 2.0, 3.0, 4.0])))(X)
    np.testing.assert_array_equal(g, [7.0, 0.0, 3.0, 0.0, 0.0, 0.0])


def test_complex_elements_match_the_dense_gradient(dense_only):
    z = X[:4] + 1j * W[:4]

    def f(z):
        s = 0.0
        for i in range(z.shape[0]):
            s = s + np.abs(z[i] * z[i - 1]) ** 2
        return s + np.real(z[[1, 1]].sum() * z[0])

    gl.check_grads(f, z, modes=["rev"], order=1)
    fast, dense = both_ways(dense_only, f, z)
    assert fast.dtype == np.complex128
    np.testing.assert_allclose(fast, dense, rtol=1e-12)


def test_float32_argument_keeps_a_float32_gradient(dense_only):
    x32 = X.astype(np.float32)
    fast, dense = both_ways(dense_only, element_loop, x32, W.astype(np.float32))
    assert fast.dtype == dense.dtype == np.float32
    np.testing.assert_array_equal(fast, dense)


def test_same_element_twice_and_two_rows_through_one_add(dense_only):
    def f(x, m):
        y = x[0] + x[0]            # add's VJP hands the same g to both reads
        z = m[1] + m[3]            # ... and to two rows of m
        return y * x[1] + np.sum(z ** 2) + np.sum(m[1] * 3.0)

    gx, gm = gl.grad(f, (0, 1))(X, M)
    np.testing.assert_allclose(gx[:2], [2 * X[1], 2 * X[0]], rtol=1e-14)
    want = np.zeros_like(M)
    want[1] = 2 * (M[1] + M[3]) + 3.0
    want[3] = 2 * (M[1] + M[3])
    np.testing.assert_allclose(gm, want, rtol=1e-14)


def test_a_cotangent_handed_to_two_parents_is_not_written_into(dense_only):
    n = 5

    def f(x, w):
        p = x * 1.0
        q = np.sin(x)
        early = p[0] * 3.0 + q[1] * 5.0   # read before v: reach p and q after v's g does
        v = p + q                         # v's g (the walk's own buffer) goes to p and q
        s = 0.0
        for i in range(n):
            s = s + v[i] * w[i]
        return s + early

    gl.check_grads(lambda x: f(x, W), X[:n], modes=["rev"], order=1)
    fast, dense = both_ways(dense_only, f, X[:n], W)
    want = W[:n] * (1.0 + np.cos(X[:n]))
    want[0] += 3.0
    want[1] += 5.0 * np.cos(X[1])
    np.testing.assert_allclose(fast, want, rtol=1e-13)
    np.testing.assert_array_equal(fast, dense)


@pytest.mark.parametrize("order", ["indexed first", "dense first"])
def test_the_callers_seed_arrays_are_not_mutated(order):
    def f(x):
        if order == "indexed first":
            return x + 0.0, x[1:3]
        return x[1:3], x + 0.0

    seeds = (np.arange(6.0), np.array([10.0, 20.0]))
    if order == "dense first":
        seeds = seeds[::-1]
    kept = [s.copy() for s in seeds]
    _, vjp_fn = gl.vjp(f, X)
    (g,) = vjp_fn(seeds)
    (again,) = vjp_fn(seeds)
    for seed, copy in zip(seeds, kept):
        np.testing.assert_array_equal(seed, copy)
    np.testing.assert_array_equal(g, [0.0, 11.0, 22.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(again, g)


def test_session_gradients_accumulate_over_element_reads():
    with gl.session() as s:
        x = s.param(X.copy())
        loss = element_loop(x, W)
        loss.backward()
        first = x.grad.copy()
        loss.backward()
    np.testing.assert_allclose(first, 2 * np.dot(X, W) * W, rtol=1e-13)
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-13)


def cubic_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] ** 3 * W[i] + x[i] * x[i - 1]
    return s


def test_hessian_of_an_element_loop():
    gl.check_grads(cubic_loop, X, modes=["rev", "fwd"], order=2)
    h = gl.hessian(cubic_loop)(X)
    want = np.diag(6 * X * W)
    for i in range(6):
        want[i, i - 1] += 1.0
        want[i - 1, i] += 1.0
    np.testing.assert_allclose(h, want, rtol=1e-12)


def test_jvp_of_grad_of_an_element_loop():
    v = np.linspace(-1.0, 1.0, 6)
    _, hv = gl.jvp(gl.grad(cubic_loop), (X,), (v,))
    np.testing.assert_allclose(hv, gl.hessian(cubic_loop)(X) @ v, rtol=1e-12)


def test_vmap_of_grad_of_an_element_loop():
    xs = RNG.standard_normal((3, 6))
    got = gl.vmap(gl.grad(element_loop), in_axes=(0, None))(xs, W)
    want = np.stack([2 * np.dot(x, W) * W for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_checkpointed_element_loop(dense_only):
    body = gl.checkpoint(element_loop)

    def f(x, w):
        return body(x, w) + x[0] * body(x[::-1], w)

    gl.check_grads(lambda x: f(x, W), X, modes=["rev"], order=1)
    fast, dense = both_ways(dense_only, f, X, W)
    np.testing.assert_allclose(fast, dense, rtol=1e-12)


def test_rule_scope_over_element_reads_uses_the_dense_rules():
    with gl.rules.use("scale", scope="params", s=10.0):
        g = gl.grad(element_loop)(X, W)
    np.testing.assert_allclose(g, 10.0 * 2 * np.dot(X, W) * W, rtol=1e-13)


def test_jit_of_grad_of_an_element_loop():
    got = gl.jit(gl.grad(element_loop))(X, W)
    np.testing.assert_allclose(got, 2 * np.dot(X, W) * W, rtol=1e-13)


def test_backward_of_an_element_loop_makes_a_constant_number_of_dense_arrays(monkeypatch):
    n = 300
    x, w = RNG.standard_normal(n), RNG.standard_normal(n)
    _, vjp_fn = gl.vjp(element_loop, x, w)
    made = []
    zeros = np.zeros

    def counted_zeros(shape, *args, **kwargs):
        if np.prod(shape) == n:
            made.append(shape)
        return zeros(shape, *args, **kwargs)

    monkeypatch.setattr(np, "zeros", counted_zeros)
    gx, gw = vjp_fn(1.0)
    assert len(made) <= 2  # one buffer per argument, not one array per element read
    np.testing.assert_allclose(gx, 2 * np.dot(x, w) * w, rtol=1e-12)
    made.clear()
    monkeypatch.setattr(getitem_p.vjps, "sparse", None)  # the dense rule: one per read
    vjp_fn(1.0)
    assert len(made) == 2 * n


def test_indexed_cotangent_dense_and_sum():
    a = IndexedCotangent((4,), np.dtype(np.float32), (np.array([1, 1, 3]),),
                         np.array([1.0, 2.0, 4.0], np.float32))
    b = IndexedCotangent((4,), np.dtype(np.float64), 2, np.float64(0.5))
    np.testing.assert_array_equal(a.dense(), [0.0, 3.0, 0.0, 4.0])
    assert a.dense().dtype == np.float32
    sums = CotangentSum()
    total = sums.add(sums.add(a, b), a)
    assert total.dtype == np.float64
    np.testing.assert_array_equal(total, [0.0, 6.0, 0.5, 8.0])
    out = sums.take(total)
    assert out is total and not sums.owned
    seed = np.ones(4)
    summed = sums.add(seed, a)
    assert summed is not seed and seed.tolist() == [1.0] * 4
    np.testing.assert_array_equal(summed, [1.0, 4.0, 1.0, 5.0])


def test_numpy_integer_indices_are_basic_and_booleans_are_not():
    from gradlab.core.sparse import is_basic_index

    assert is_basic_index((np.int64(3), slice(None), None, Ellipsis))
    assert not is_basic_index((True,)) and not is_basic_index(np.array([0, 0]))
    g = gl.grad(lambda x: sum(x[i] * x[i] for i in np.arange(3)) + np.sum(x[True]))(X)
    np.testing.assert_allclose(g, np.r_[2 * X[:3], 0, 0, 0] + 1.0, rtol=1e-15)


def test_grad_of_vmap_and_jacobian_of_element_reads():
    def per_row(m):
        return gl.vmap(lambda row: row[0] * row[2] + row[[1, 1]].sum())(m)

    g = gl.grad(lambda m: np.sum(per_row(m) ** 2))(M)
    r = M[:, 0] * M[:, 2] + 2 * M[:, 1]
    want = np.stack([2 * r * M[:, 2], 4 * r, 2 * r * M[:, 0]], axis=1)
    np.testing.assert_allclose(g, want, rtol=1e-13)
    jac = gl.jacobian(lambda x: np.array([x[i] * x[i - 1] for i in range(6)]))(X)
    want = np.zeros((6, 6))
    for i in range(6):
        want[i, i] += X[i - 1]
        want[i, i - 1] += X[i]
    np.testing.assert_allclose(jac, want, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
def test_python_scalar_seeds_of_element_reads(dense_only, dtype):
    x = (X[:3] * (1 + 1j if np.dtype(dtype).kind == "c" else 1)).astype(dtype)
    _, vjp_fn = gl.vjp(lambda x: (x[1], x[[2, 2]]), x)
    (fast,) = vjp_fn((2.0, np.array([1.0, 3.0], np.float64)))
    dense_only()
    _, vjp_fn = gl.vjp(lambda x: (x[1], x[[2, 2]]), x)
    (dense,) = vjp_fn((2.0, np.array([1.0, 3.0], np.float64)))
    assert fast.dtype == dense.dtype == dtype
    np.testing.assert_array_equal(fast, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(fast, dense)
