"""apply_along_axis, vectorize, piecewise, unwrap, polyfit and numpy.polynomial evaluation."""

from __future__ import annotations

import numpy as np
import numpy.polynomial as P
import pytest

import gradlab as gl

RNG = np.random.default_rng(21)


@np.vectorize
def soft_threshold(a, t):  # decorated at module level: a numpy vectorize object
    return np.where(a > t, a - t, 0.0) + np.where(a < -t, a + t, 0.0)


def test_apply_along_axis_places_the_functions_axes_like_numpy():
    x = RNG.normal(size=(3, 4, 2))

    def outer(r):
        return r[:, None] * r[None, :]

    want = np.apply_along_axis(outer, 1, x)
    got, back = gl.vjp(lambda x: np.apply_along_axis(outer, 1, x), x)
    np.testing.assert_allclose(got, want)
    assert got.shape == (3, 4, 4, 2)
    ct = RNG.normal(size=want.shape)
    (g,) = back(ct)
    np.testing.assert_allclose(g, np.einsum("aijb,ajb->aib", ct + ct.transpose(0, 2, 1, 3), x))


def test_vectorize_objects_scalar_and_signature():
    x = RNG.normal(size=(2, 3))
    g = gl.grad(lambda x: np.sum(soft_threshold(x, 0.5)))(x)
    np.testing.assert_allclose(g, (np.abs(x) > 0.5).astype(float))
    dot = np.vectorize(lambda v, w: v @ w, signature="(n),(n)->()")
    w = RNG.normal(size=3)
    g = gl.grad(lambda x: np.sum(dot(x, w) ** 2))(x)
    np.testing.assert_allclose(g, 2 * (x @ w)[:, None] * w[None, :])
    power = np.vectorize(lambda a, p: a ** p, excluded={1})
    np.testing.assert_allclose(gl.elementwise_grad(lambda a: power(a, 3))(x), 3 * x ** 2)
    with pytest.raises(TypeError, match="np.vectorize called with keyword arguments"):
        gl.grad(lambda x: np.sum(soft_threshold(x, t=0.5)))(x)


def test_piecewise_with_an_otherwise_piece_and_a_constant():
    x = np.array([-2.0, -0.2, 0.3, 1.5])

    def f(x):
        return np.piecewise(x, [x < -1, x > 1], [7.0, lambda t: t ** 3, lambda t: np.sin(t)])

    np.testing.assert_allclose(gl.vjp(f, x)[0], np.piecewise(
        x, [x < -1, x > 1], [7.0, lambda t: t ** 3, np.sin]))
    np.testing.assert_allclose(gl.elementwise_grad(f)(x),
                               [0.0, np.cos(-0.2), np.cos(0.3), 3 * 1.5 ** 2])
    with pytest.raises(ValueError, match="with 2 condition"):
        gl.grad(lambda x: np.sum(np.piecewise(x, [x < 0, x > 0], [np.sin])))(x)


def test_unwrap_values_match_numpy_and_the_derivative_is_the_identity():
    p = np.cumsum(RNG.uniform(0.5, 3.0, size=12)) % (2 * np.pi) - np.pi
    np.testing.assert_allclose(gl.vjp(np.unwrap, p)[0], np.unwrap(p), rtol=1e-14)
    weights = np.arange(12.0)
    np.testing.assert_allclose(gl.grad(lambda p: np.unwrap(p) @ weights)(p), weights)
    p2 = np.stack([p, p[::-1]]) * 3
    np.testing.assert_allclose(gl.vjp(lambda p: np.unwrap(p, axis=1, period=6.0), p2)[0],
                               np.unwrap(p2, axis=1, period=6.0), rtol=1e-14)


def test_polyfit_gradients():
    x = np.linspace(-1, 1, 9)
    y = np.exp(x)
    c = gl.vjp(lambda y: np.polyfit(x, y, 3), y)[0]
    np.testing.assert_allclose(c, np.polyfit(x, y, 3), rtol=1e-10)
    # c = pinv(V) y: the gradient of c[k] in y is row k of pinv(V)
    jac = gl.jacobian(lambda y: np.polyfit(x, y, 3))(y)
    np.testing.assert_allclose(jac, np.linalg.pinv(np.vander(x, 4)), atol=1e-10)
    gl.check_grads(lambda x, w: np.polyfit(x, y, 2, w=w), x, RNG.uniform(0.5, 1.5, 9),
                   modes=("rev",), order=2)


@pytest.mark.parametrize("module,name", [(P.polynomial, "poly"), (P.chebyshev, "cheb"),
                                         (P.legendre, "leg"), (P.hermite, "herm"),
                                         (P.hermite_e, "herme"), (P.laguerre, "lag")])
def test_series_derivative_in_x_is_the_derivative_series(module, name):
    c = RNG.normal(size=5)
    x = RNG.uniform(-0.9, 0.9, size=4)
    val, der = getattr(module, f"{name}val"), getattr(module, f"{name}der")
    g = gl.elementwise_grad(lambda x: val(x, c))(x)
    np.testing.assert_allclose(g, val(x, der(c)), rtol=1e-10, atol=1e-12)
    # in the coefficients: the basis functions at x
    jac = gl.jacobian(lambda c: val(x, c))(c)
    np.testing.assert_allclose(jac, np.stack([val(x, e) for e in np.eye(5)], axis=1),
                               atol=1e-12)


def test_series_objects_called_on_traced_values():
    cheb = P.Chebyshev([0.5, -1.0, 2.0], domain=[0.0, 4.0])
    x = np.array([0.5, 1.0, 3.0])
    g = gl.elementwise_grad(lambda x: cheb(x))(x)
    np.testing.assert_allclose(g, cheb.deriv()(x), rtol=1e-12)
    poly = P.Polynomial([1.0, 2.0, 3.0])
    assert float(gl.grad(lambda t: poly(t))(2.0)) == pytest.approx(14.0)
