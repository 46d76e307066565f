"""The reverse-mode API: argnums, pytrees, dtypes, aux outputs, Jacobians, VJPs."""

from __future__ import annotations

import dataclasses
from collections import namedtuple

import numpy as np
import pytest

import gradlab as gl

X = np.array([0.5, -1.5, 2.0])


def test_grad_matches_closed_form():
    g = gl.grad(lambda x: np.sum(np.tanh(x) ** 2))(X)
    np.testing.assert_allclose(g, 2 * np.tanh(X) * (1 - np.tanh(X) ** 2), rtol=1e-12)


def test_argnum_int_and_tuple():
    def f(a, b, c):
        return np.sum(a * b ** 2 + c)

    a, b, c = X, X + 1.0, X * 3
    np.testing.assert_allclose(gl.grad(f, argnum=1)(a, b, c), 2 * a * b)
    ga, gc = gl.grad(f, argnum=(0, 2))(a, b, c)
    np.testing.assert_allclose(ga, b ** 2)
    np.testing.assert_allclose(gc, np.ones(3))
    np.testing.assert_allclose(gl.grad(f, argnum=-1)(a, b, c), np.ones(3))


def test_value_and_grad_and_has_aux():
    def f(x):
        y = np.sin(x)
        return np.sum(y), {"y": y, "n": 3}

    (value, aux), g = gl.value_and_grad(f, has_aux=True)(X)
    assert np.isclose(value, np.sum(np.sin(X)))
    np.testing.assert_allclose(aux["y"], np.sin(X))
    assert isinstance(aux["y"], np.ndarray) and aux["n"] == 3
    np.testing.assert_allclose(g, np.cos(X))
    g2, aux2 = gl.grad(f, has_aux=True)(X)
    np.testing.assert_allclose(g2, np.cos(X))
    np.testing.assert_allclose(aux2["y"], np.sin(X))


Params = namedtuple("Params", ["w", "b"])


@gl.register_dataclass
@dataclasses.dataclass
class Affine:
    w: np.ndarray
    b: np.ndarray


def test_pytree_arguments_keep_their_structure():
    params = {"layers": [Params(np.ones(3), 0.5), (X, None)], "scale": 2.0}

    def loss(p):
        (p0, (x, _)) = p["layers"]
        return p["scale"] * np.sum(p0.w * x) + p0.b

    g = gl.grad(loss)(params)
    assert isinstance(g["layers"][0], Params) and g["layers"][1][1] is None
    np.testing.assert_allclose(g["layers"][0].w, 2 * X)
    np.testing.assert_allclose(g["layers"][0].b, 1.0)
    np.testing.assert_allclose(g["layers"][1][0], 2 * np.ones(3))
    np.testing.assert_allclose(g["scale"], np.sum(X))
    ga = gl.grad(lambda p: np.sum(p.w @ X + p.b))(Affine(np.eye(3), np.zeros(3)))
    assert isinstance(ga, Affine)
    np.testing.assert_allclose(ga.w, np.tile(X, (3, 1)))


def test_float32_stays_float32_and_float64_stays_float64():
    x32 = X.astype(np.float32)
    g32 = gl.grad(lambda x: np.sum(np.exp(x) * 2.0 + x @ x))(x32)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, 2 * np.exp(x32) + 6 * x32, rtol=1e-6)
    assert gl.grad(lambda x: np.sum(np.exp(x)))(X).dtype == np.float64


@pytest.mark.parametrize("f", [lambda x: x ** 2, lambda x: x ** 2.5, lambda x: 2.0 ** x,
                               lambda x: x ** 0, lambda x: np.power(x, 3)])
def test_powers_with_python_constants_keep_float32(f):
    x32 = np.array([0.5, 1.0, 2.0], np.float32)
    g = gl.grad(lambda x: np.sum(f(x)))(x32)
    assert g.dtype == np.float32
    gl.check_grads(lambda x: np.sum(f(x)), x32.astype(np.float64), modes=("fwd", "rev"))


def test_python_float_input():
    assert np.isclose(gl.grad(lambda x: x ** 3)(2.0), 12.0)


def test_elementwise_grad_jacobian_vjp():
    np.testing.assert_allclose(gl.elementwise_grad(np.sin)(X), np.cos(X))
    A = np.arange(6.0).reshape(2, 3)
    J = gl.jacobian(lambda x: np.tanh(A @ x))(X)
    want = (1 - np.tanh(A @ X) ** 2)[:, None] * A
    np.testing.assert_allclose(J, want, rtol=1e-12)
    out, back = gl.vjp(lambda x, y: x * y, X, 2 * X)
    gx, gy = back(np.ones(3))
    np.testing.assert_allclose(out, 2 * X ** 2)
    np.testing.assert_allclose(gx, 2 * X)
    np.testing.assert_allclose(gy, X)
    np.testing.assert_allclose(back(2 * np.ones(3))[0], 4 * X)  # callable again
    back2, out2 = gl.make_vjp(lambda x: np.sum(x ** 2))(X)
    np.testing.assert_allclose(back2(1.0), 2 * X)


def test_stop_gradient():
    g = gl.grad(lambda x: np.sum(x * gl.stop_gradient(x)))(X)
    np.testing.assert_allclose(g, X)


def test_unused_input_gets_zero_gradient():
    g = gl.grad(lambda x, y: np.sum(x), argnum=1)(X, X)
    np.testing.assert_array_equal(g, np.zeros(3))


def test_perturbation_confusion():
    assert gl.grad(lambda x: x * gl.grad(lambda y: x * y)(2.0))(1.0) == 2.0


def test_higher_order_grad():
    f = lambda x: np.sin(x) * x  # noqa: E731
    d1, d2, d3 = gl.grad(f), gl.grad(gl.grad(f)), gl.grad(gl.grad(gl.grad(f)))
    x = 0.7
    assert np.isclose(d1(x), np.cos(x) * x + np.sin(x))
    assert np.isclose(d2(x), -np.sin(x) * x + 2 * np.cos(x))
    assert np.isclose(d3(x), -np.cos(x) * x - 3 * np.sin(x))


def test_function_calling_grad_inside_is_differentiable():
    def inner_energy(x):
        return np.sum(np.sin(x) ** 2)

    def outer(x):
        return np.sum(gl.grad(inner_energy)(x) * x)

    # d/dx sum(sin(2x) * x) = 2 cos(2x) x + sin(2x)
    np.testing.assert_allclose(gl.grad(outer)(X), 2 * np.cos(2 * X) * X + np.sin(2 * X),
                               rtol=1e-12)


def test_hundred_thousand_op_chain_with_default_recursion_limit():
    import sys

    assert sys.getrecursionlimit() <= 1000 * 10

    def chain(x):
        for _ in range(100_000):
            x = x * 1.00001
        return x

    assert np.isclose(gl.grad(chain)(1.0), 1.00001 ** 100_000)


def test_tape_is_freed_after_backward():
    import weakref

    refs = []

    def f(x):
        y = np.sin(x)
        refs.append(weakref.ref(y))
        return np.sum(y * y)

    gl.grad(f)(X)
    import gc

    gc.collect()
    assert refs and refs[0]() is None


def test_check_grads_detects_a_wrong_rule():
    bad = gl.Primitive("bad_square_for_test", np.square,
                       vjp=lambda g, ans, x: g * x, jvp=lambda t, ans, x: t * x)
    with pytest.raises(AssertionError, match="finite difference"):
        gl.check_grads(bad, X, modes=("rev",), order=1)


def test_check_grads_holds_integer_arguments_fixed():
    def nll(logits, labels):
        return -np.sum(logits[np.arange(3), labels])

    gl.check_grads(nll, np.random.default_rng(0).normal(size=(3, 4)), np.array([0, 2, 1]))
