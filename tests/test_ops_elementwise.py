"""Unary and binary ufuncs: closed-form derivatives, zero-gradient steps, NaN rules, vmap."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(5)
X = np.array([0.3, 0.55, 0.9])

UNARY = [(np.exp2, lambda x: np.exp2(x) * np.log(2)), (np.log2, lambda x: 1 / (x * np.log(2))),
         (np.log10, lambda x: 1 / (x * np.log(10))), (np.arcsinh, lambda x: 1 / np.sqrt(x * x + 1)),
         (np.arctanh, lambda x: 1 / (1 - x * x)), (np.cbrt, lambda x: x ** (-2 / 3) / 3),
         (np.deg2rad, lambda x: np.pi / 180 + 0 * x), (np.degrees, lambda x: 180 / np.pi + 0 * x),
         (np.positive, lambda x: 1 + 0 * x), (np.fabs, lambda x: np.sign(x)),
         (np.square, lambda x: 2 * x), (np.reciprocal, lambda x: -1 / x ** 2),
         (np.sinc, lambda x: (np.cos(np.pi * x) - np.sinc(x)) / x),
         (np.expm1, np.exp), (np.log1p, lambda x: 1 / (1 + x))]


@pytest.mark.parametrize("k", range(len(UNARY)))
def test_unary_derivatives_match_closed_forms(k):
    f, df = UNARY[k]
    np.testing.assert_allclose(gl.elementwise_grad(f)(X), df(X), rtol=1e-12)
    np.testing.assert_allclose(gl.jvp(f, (X,), (np.ones(3),))[1], df(X), rtol=1e-12)


def test_arccosh_and_sinc_at_zero():
    np.testing.assert_allclose(gl.elementwise_grad(np.arccosh)(np.array([1.5, 3.0])),
                               1 / np.sqrt(np.array([1.5, 3.0]) ** 2 - 1))
    assert gl.grad(np.sinc)(0.0) == 0.0


@pytest.mark.parametrize("f", [np.sign, np.floor, np.ceil, np.round, np.around, np.rint,
                               np.trunc, np.fix, lambda x: np.round(x, 1)])
def test_rounding_steps_have_zero_gradient_and_their_values(f):
    x = np.array([-1.5, 0.26, 2.7])
    value, g = gl.value_and_grad(lambda a: np.sum(f(a) * a))(x)
    np.testing.assert_allclose(value, np.sum(f(x) * x))
    np.testing.assert_allclose(g, f(x))  # only the outer factor a carries a derivative


BINARY = [(np.arctan2, lambda y, x: (x / (x * x + y * y), -y / (x * x + y * y))),
          (np.hypot, lambda x, y: (x / np.hypot(x, y), y / np.hypot(x, y))),
          (np.logaddexp, lambda x, y: (1 / (1 + np.exp(y - x)), 1 / (1 + np.exp(x - y)))),
          (np.logaddexp2, lambda x, y: (1 / (1 + 2 ** (y - x)), 1 / (1 + 2 ** (x - y)))),
          (np.fmod, lambda x, y: (1 + 0 * x, -np.trunc(x / y))),
          (np.float_power, lambda x, y: (y * x ** (y - 1), x ** y * np.log(x))),
          (np.copysign, lambda x, y: (np.sign(x) * np.sign(y), 0 * y))]


@pytest.mark.parametrize("k", range(len(BINARY)))
def test_binary_derivatives_match_closed_forms_with_broadcasting(k):
    f, df = BINARY[k]
    x, y = np.array([[0.4, 1.3, 2.2]]), np.array([[0.9], [-1.7]])
    if f is np.float_power:
        y = np.abs(y)
    gx, gy = gl.grad(lambda a, b: np.sum(f(a, b)), argnum=(0, 1))(x, y)
    dx, dy = df(x, y)
    np.testing.assert_allclose(gx, np.sum(dx * np.ones((2, 3)), axis=0, keepdims=True))
    np.testing.assert_allclose(gy, np.sum(dy * np.ones((2, 3)), axis=1, keepdims=True))


def test_fmax_fmin_send_no_gradient_to_nan_and_split_ties():
    x, y = np.array([np.nan, 1.0, 2.0]), np.array([3.0, np.nan, 2.0])
    gx, gy = gl.grad(lambda a, b: np.sum(np.fmax(a, b)), argnum=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(gy, [1.0, 0.0, 0.5])
    gx = gl.grad(lambda a: np.sum(np.fmin(a, y)))(x)
    np.testing.assert_array_equal(gx, [0.0, 1.0, 0.5])


def test_float_power_computes_in_float64_like_numpy():
    x = np.array([1.5, 2.0], np.float32)
    out = gl.vjp(lambda a: np.float_power(a, 2.0), x)
    assert out[0].dtype == np.float64
    assert out[1](np.ones(2))[0].dtype == np.float32


def test_ldexp_and_divmod():
    assert gl.grad(lambda x: np.ldexp(x, 3))(1.5) == 8.0
    q, r = gl.vjp(lambda a: np.divmod(a, 2.0), 7.5)[0]
    assert (q, r) == (3.0, 1.5)
    assert gl.grad(lambda a: np.divmod(a, 2.0)[1])(7.5) == 1.0


@pytest.mark.parametrize("f", [np.arctan2, np.hypot, np.logaddexp, np.fmax, np.copysign,
                               np.fmod, np.float_power, lambda a, b: np.ldexp(a, 2)])
def test_vmap_of_binary_ufuncs_matches_loop(f):
    xs, ys = RNG.uniform(0.5, 2.0, (4, 3)), RNG.uniform(0.5, 2.0, (4, 1))
    np.testing.assert_allclose(gl.vmap(f)(xs, ys), np.stack([f(a, b) for a, b in zip(xs, ys)]))
    h = gl.grad(lambda a, b: np.sum(f(a, b)))
    np.testing.assert_allclose(gl.vmap(h)(xs, ys), np.stack([h(a, b) for a, b in zip(xs, ys)]))


@pytest.mark.parametrize("derivative, expected", [
    (lambda ans, x: ans, ("ans",)),
    (lambda ans, x: np.cos(x), (0,)),
    (lambda ans, x: 1.0 - ans * ans + x, ("ans", 0)),
    (lambda ans, x: 2.0, ()),
    (lambda ans, x: (lambda: x)(), (0,)),  # read through a closure cell
    (lambda ans, x: sum(x for _ in range(2)), (0,)),  # through a comprehension's cell
])
def test_unary_keeps_what_its_derivative_reads(derivative, expected):
    # the tape keeps a unary op's result and/or operand as its derivative's code reads them
    from gradlab.ops.elementwise import _reads

    assert _reads(derivative) == expected


def test_unary_primitives_keep_only_what_their_rules_read():
    # tanh's and exp's derivatives read the result, sin's and log's the operand
    from gradlab.ops import elementwise as E

    assert E.tanh.saves == E.exp.saves == (True, (False,))
    assert E.sin.saves == E.log.saves == (False, None)
