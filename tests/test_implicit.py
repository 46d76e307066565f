"""gl.flatten, gl.fixed_point and gl.custom_root (implicit differentiation, to second order)."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl


def _newton_sqrt_update(a):
    return lambda x: 0.5 * (x + a / x)


def _dist(x, y):
    return np.max(np.abs(x - y))


def sqrt_fp(a):
    return gl.fixed_point(_newton_sqrt_update, a, np.ones_like(a), _dist, 1e-14)


def test_fixed_point_value_and_first_two_derivatives():
    a = 3.0
    assert float(sqrt_fp(a)) == pytest.approx(np.sqrt(a), rel=1e-14)
    assert float(gl.grad(sqrt_fp)(a)) == pytest.approx(0.5 / np.sqrt(a), rel=1e-10)
    assert float(gl.grad(gl.grad(sqrt_fp))(a)) == pytest.approx(-0.25 * a ** -1.5, rel=1e-8)
    h = gl.hessian(lambda a: np.sum(sqrt_fp(a)))(np.array([2.0, 5.0]))
    np.testing.assert_allclose(h, np.diag(-0.25 * np.array([2.0, 5.0]) ** -1.5), rtol=1e-8)


def test_fixed_point_with_a_pytree_parameter_and_vector_state():
    # x = A x + b has x* = (I - A)^-1 b; derivatives in both parameters.
    rng = np.random.default_rng(3)
    A = 0.2 * rng.normal(size=(3, 3))
    b = rng.normal(size=3)

    def solve_fp(params):
        return gl.fixed_point(lambda p: lambda x: p["A"] @ x + p["b"], params, np.zeros(3),
                              _dist, 1e-14)

    def loss(params):
        return np.sum(solve_fp(params) ** 2)

    g = gl.grad(loss)({"A": A, "b": b})
    x = np.linalg.solve(np.eye(3) - A, b)
    u = np.linalg.solve((np.eye(3) - A).T, 2 * x)
    np.testing.assert_allclose(g["b"], u, rtol=1e-9)
    np.testing.assert_allclose(g["A"], np.outer(u, x), rtol=1e-9)
    gl.check_grads(lambda b: loss({"A": A, "b": b}), b, modes=("rev",), order=2)


def test_fixed_point_refuses_a_traced_value_in_the_closure():
    def bad(a):
        return gl.fixed_point(lambda _: lambda x: 0.5 * (x + a / x), 0.0, 1.0, _dist, 1e-12)

    with pytest.raises(TypeError, match=r"gl.fixed_point: the function closes over a traced "
                                        r"value"):
        gl.grad(bad)(2.0)


def _newton_solve(f, x0):
    x = x0
    for _ in range(100):
        step = f(x) / ((f(x + 1e-7) - f(x - 1e-7)) / 2e-7)
        x = x - step
        if abs(step) < 1e-15:
            break
    return x


def cube_root(a):
    return gl.custom_root(lambda x: x ** 3 - a, 1.0, _newton_solve, lambda g, y: y / g(1.0))


def test_custom_root_to_third_order():
    a = 5.0
    assert float(cube_root(a)) == pytest.approx(a ** (1 / 3), rel=1e-13)
    d1 = gl.grad(cube_root)(a)
    d2 = gl.grad(gl.grad(cube_root))(a)
    d3 = gl.grad(gl.grad(gl.grad(cube_root)))(a)
    assert float(d1) == pytest.approx(a ** (-2 / 3) / 3, rel=1e-10)
    assert float(d2) == pytest.approx(-2 / 9 * a ** (-5 / 3), rel=1e-8)
    assert float(d3) == pytest.approx(10 / 27 * a ** (-8 / 3), rel=1e-7)
    # forward mode reaches the same root derivative
    assert float(gl.jvp(cube_root, (a,), (1.0,))[1]) == pytest.approx(float(d1), rel=1e-10)


def test_custom_root_of_a_vector_system_with_a_linear_tangent_solve():
    # x solves M x = b + x^3/10 (elementwise): derivatives in b and in M
    rng = np.random.default_rng(5)
    M = 4.0 * np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    b = rng.normal(size=3)

    def root(M, b):
        def f(x):
            return M @ x - b - x ** 3 / 10

        def solve(f, x):
            for _ in range(60):
                J = M - np.diag(3 * x ** 2 / 10)
                x = x - np.linalg.solve(J, f(x))
            return x

        def tangent_solve(g, y):
            J = gl.jacobian(g)(np.zeros(3))
            return np.linalg.solve(J, y)

        return gl.custom_root(f, np.zeros(3), solve, tangent_solve)

    def loss(M, b):
        return np.sum(np.sin(root(M, b)))

    gl.check_grads(loss, M, b, modes=("rev",), order=2)


def test_flatten_round_trip_and_gradients_both_ways():
    tree = {"w": np.arange(6.0).reshape(2, 3), "b": np.float32(1.5), "n": (np.arange(2),)}
    vec, unflatten = gl.flatten(tree)
    assert vec.shape == (9,) and vec.dtype == np.float64
    back = unflatten(vec)
    assert back["b"].dtype == np.float32 and back["n"][0].dtype == np.arange(2).dtype
    np.testing.assert_array_equal(back["w"], tree["w"])

    def loss(v):
        p = unflatten(v)
        return np.sum(p["w"] ** 2) + 3.0 * p["b"]

    g = gl.grad(loss)(vec)
    np.testing.assert_allclose(g[:3], [3.0, 0.0, 0.0])  # sorted keys: b, n, w
    np.testing.assert_allclose(g[3:9], 2 * np.arange(6.0))
    # and through flatten itself: d/dw of a function of the flat vector
    gw = gl.grad(lambda w: np.sum(gl.flatten({"w": w, "b": 1.0})[0] ** 3))(tree["w"])
    np.testing.assert_allclose(gw, 3 * tree["w"] ** 2)
    with pytest.raises(ValueError, match=r"unflatten: expected a vector of shape \(9,\), "
                                         r"got shape \(4,\)"):
        unflatten(np.zeros(4))
    empty, unflatten_empty = gl.flatten({})
    assert empty.shape == (0,) and unflatten_empty(empty) == {}


@pytest.mark.parametrize("name", [
    "gradlab.transforms.implicit", "gradlab.transforms.flatten", "gradlab.ops.linalg_eig",
    "gradlab.ops.linalg_tensor", "gradlab.ops.functional", "gradlab.ops.polynomial",
    "gradlab.ops.series", "gradlab.scipy.incomplete", "gradlab.scipy.bessel",
    "gradlab.scipy.distributions", "gradlab.scipy.integrate"])
def test_new_module_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
