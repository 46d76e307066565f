"""Reductions and cumulative ops: closed forms, zeros, ties, NaNs, axes, vmap."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(1)


def test_prod_gradient_is_exact_with_one_and_with_two_zeros():
    x = np.array([2.0, 0.0, 3.0, -1.5])
    np.testing.assert_array_equal(gl.grad(np.prod)(x), [0.0, -9.0, 0.0, 0.0])
    y = np.array([2.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(gl.grad(np.prod)(y), np.zeros(4))
    # the Hessian at two zeros is not zero: d2/dx1 dx3 prod = 2 * 3
    h = gl.jacobian(gl.grad(np.prod))(y)
    assert h[1, 3] == 6.0 and h[3, 1] == 6.0
    gl.check_grads(lambda a: np.prod(a, axis=0), np.array([[0.0, 1.5], [2.0, 0.0], [0.5, 3.0]]))


def test_cumprod_gradient_with_zeros_matches_closed_form():
    x = np.array([2.0, 0.0, 3.0, 4.0])
    # d/dx sum(cumprod(x)): only the terms before the zero and the zero's own survive
    g = gl.grad(lambda a: np.sum(np.cumprod(a)))(x)
    np.testing.assert_allclose(g, [1.0, 2.0 + 6.0 + 24.0, 0.0, 0.0])
    gl.check_grads(lambda a: np.cumprod(a, axis=1), np.array([[1.0, 0.0, 2.0, 0.5, 3.0]] * 2))


def test_cumsum_flattens_without_axis_and_reverses_in_the_vjp():
    x = RNG.normal(size=(2, 3))
    out, back = gl.vjp(np.cumsum, x)
    np.testing.assert_allclose(out, np.cumsum(x))
    np.testing.assert_allclose(back(np.ones(6))[0], np.arange(6, 0, -1.0).reshape(2, 3))


def test_max_ties_split_the_gradient_evenly():
    np.testing.assert_allclose(gl.grad(np.max)(np.array([1.0, 3.0, 3.0])), [0.0, 0.5, 0.5])
    g = gl.grad(lambda a: np.sum(np.max(a, axis=-1)))(np.array([[2.0, 2.0, 2.0], [0.0, 1.0, 0.5]]))
    np.testing.assert_allclose(g, [[1 / 3] * 3, [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(gl.grad(np.ptp)(np.array([1.0, 1.0, 4.0])), [-0.5, -0.5, 1.0])


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_mean_var_std_over_axes_match_finite_differences(axis, keepdims):
    x = RNG.normal(size=(2, 3, 2))
    for f in (np.mean, np.var, np.std, np.sum, np.max):
        def g(a, f=f):
            return f(a, axis=axis, keepdims=keepdims)

        np.testing.assert_allclose(g(x), f(x, axis=axis, keepdims=keepdims))
        gl.check_grads(g, x)


def test_nan_reductions_ignore_nans_in_value_and_gradient():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]])
    np.testing.assert_allclose(gl.grad(lambda a: np.sum(np.nanmean(a, axis=1)))(x),
                               [[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(gl.grad(lambda a: np.nanmax(a))(x), [[0, 0, 1.0], [0, 0, 0]])
    with np.errstate(invalid="ignore"):
        allnan = np.array([np.nan, np.nan])
        assert np.isnan(gl.value_and_grad(lambda a: np.nanmin(a))(allnan)[0])
    y = np.array([[1.0, np.nan, 3.0], [np.nan, 4.0, 2.0]])
    for f in (np.nansum, np.nanmean, np.nanvar, np.nanstd, np.nanprod):
        np.testing.assert_allclose(f(y, axis=1), gl.jvp(lambda a, f=f: f(a, axis=1), (y,),
                                                        (np.ones_like(y),))[0])
        gl.check_grads(lambda a, f=f: f(a, axis=1), y)
    g = gl.grad(lambda a: np.ravel(a)[np.nanargmax(a)])(y)
    assert np.argmax(g) == np.nanargmax(y) == 4


def test_nanmean_keeps_float32():
    x = np.array([1.0, np.nan, 2.0], np.float32)
    assert gl.grad(np.nanmean)(x).dtype == np.float32
    assert gl.value_and_grad(np.nanmean)(x)[0].dtype == np.float32


def test_average_gradients_in_values_and_weights():
    a, w = RNG.normal(size=(3, 4)), RNG.uniform(0.5, 2, size=(4,))
    gl.check_grads(lambda a, w: np.average(a, axis=1, weights=w), a, w)
    avg, scale = np.average(a, axis=1, weights=w, returned=True)
    got = gl.vjp(lambda a: np.average(a, axis=1, weights=w, returned=True), a)[0]
    np.testing.assert_allclose(got[0], avg)
    np.testing.assert_allclose(got[1], scale)
    gw = gl.grad(lambda w: np.average(np.array([1.0, 3.0]), weights=w))(np.array([1.0, 1.0]))
    np.testing.assert_allclose(gw, [-0.5, 0.5])


@pytest.mark.parametrize("f", [
    lambda a: np.cumsum(a, axis=0), lambda a: np.cumprod(a), lambda a: np.nansum(a, axis=1),
    lambda a: np.argmax(a), lambda a: np.argmin(a, axis=0, keepdims=True),
    lambda a: np.prod(a, axis=-1), lambda a: np.average(a, axis=0, weights=np.arange(1.0, 4.0)),
    lambda a: np.ptp(a, axis=1)], ids=range(8))
def test_vmap_of_reductions_matches_loop(f):
    xs = RNG.normal(size=(4, 3, 2))
    want = np.stack([f(x) for x in xs])
    np.testing.assert_allclose(gl.vmap(f)(xs), want)
    if np.issubdtype(want.dtype, np.floating):
        h = gl.grad(lambda a: np.sum(f(a) ** 2))
        np.testing.assert_allclose(gl.vmap(h)(xs), np.stack([h(x) for x in xs]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, np.complex128])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, True), ((0, 2), False)])
def test_mean_is_one_node_whose_value_is_numpys_bit_for_bit(dtype, axis, keepdims):
    x = (RNG.normal(size=(3, 5, 2)) * 7).astype(dtype)
    expected = np.mean(x, axis=axis, keepdims=keepdims)
    graph = gl.capture(lambda a: np.mean(a, axis=axis, keepdims=keepdims), x)
    out = graph(x)
    assert out.dtype == expected.dtype and np.array_equal(out, expected)
    names = [e.primitive.name for e in graph.eqns]
    # float16 is averaged in float32 (as numpy does) and converted back
    assert names == (["mean"] if dtype != np.float16 else ["astype", "mean", "astype"])
    if np.dtype(dtype).kind in "fc":
        g = gl.grad(lambda a: np.real(np.sum(np.mean(a, axis=axis, keepdims=keepdims))))(x)
        count = x.size // np.size(expected)
        np.testing.assert_allclose(g, np.full(x.shape, 1.0 / count), rtol=1e-3)
        assert g.dtype == x.dtype


def test_mean_primitive_under_vmap_jacfwd_a_callback_and_float32():
    x = RNG.normal(size=(4, 3))
    per_row = gl.vmap(gl.grad(lambda r: np.mean(np.tile(r, 2) ** 2)))(x)
    np.testing.assert_allclose(per_row, 2 * x / 3, rtol=1e-12)
    jac = gl.jacfwd(lambda a: np.mean(a, axis=0))(x)
    np.testing.assert_allclose(jac.reshape(3, 12), np.kron(np.full((1, 4), 0.25), np.eye(3)),
                               rtol=1e-12)
    g = gl.grad(lambda a: sum(map(lambda r: np.mean(r * r), a)))(x)  # through map
    np.testing.assert_allclose(g, 2 * x / 3, rtol=1e-12)
    x32 = x.astype(np.float32)
    g32 = gl.grad(lambda a: np.mean(np.linalg.solve(np.eye(4, dtype=np.float32) * 2, a)))(x32)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, np.full_like(x32, 0.5 / 12), rtol=1e-6)
    gl.check_grads(lambda a: np.mean(np.tanh(a), axis=1, keepdims=True), x, order=2)
