"""gradlab.nn activations: finite-difference checks, closed forms, stability at 1e4."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gradlab as gl
from gradlab import nn

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4)) * 2

ACTIVATIONS = {
    "relu": nn.relu,
    "leaky_relu": lambda x: nn.leaky_relu(x, 0.2),
    "elu": lambda x: nn.elu(x, 1.5),
    "gelu": nn.gelu,
    "gelu_tanh": lambda x: nn.gelu(x, approximate=True),
    "silu": nn.silu,
    "softplus": nn.softplus,
    "sigmoid": nn.sigmoid,
    "log_sigmoid": nn.log_sigmoid,
    "softmax": nn.softmax,
    "softmax_axis0": lambda x: nn.softmax(x, axis=0),
    "log_softmax": nn.log_softmax,
    "logsumexp": nn.logsumexp,
    "logsumexp_axis": lambda x: nn.logsumexp(x, axis=1),
    "logsumexp_keepdims": lambda x: nn.logsumexp(x, axis=0, keepdims=True),
    "normal_cdf": nn.normal_cdf,
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_finite_differences_to_second_order(name):
    gl.check_grads(ACTIVATIONS[name], X, modes=("fwd", "rev"), order=2)


# Plain-numpy reference values (computed in float64 at moderate inputs).
def _erf(x):
    return np.vectorize(math.erf)(x)


REFERENCE = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, 1.5 * (np.exp(x) - 1)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "softplus": lambda x: np.log(1 + np.exp(x)),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "log_sigmoid": lambda x: np.log(1 / (1 + np.exp(-x))),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "softmax_axis0": lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
    "logsumexp": lambda x: np.log(np.exp(x).sum()),
    "logsumexp_axis": lambda x: np.log(np.exp(x).sum(1)),
    "logsumexp_keepdims": lambda x: np.log(np.exp(x).sum(0, keepdims=True)),
    "normal_cdf": lambda x: 0.5 * (1 + _erf(x / np.sqrt(2))),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_match_the_textbook_formula(name):
    np.testing.assert_allclose(ACTIVATIONS[name](X), REFERENCE[name](X), rtol=1e-12, atol=1e-14)


def test_gelu_tanh_is_close_to_exact_gelu():
    x = np.linspace(-4, 4, 41)
    assert np.max(np.abs(nn.gelu(x) - nn.gelu(x, approximate=True))) < 1e-3


HUGE = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_and_gradient_are_finite_at_1e4_without_warnings(name):
    f = ACTIVATIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow RuntimeWarning fails the test
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            y = f(HUGE.reshape(1, -1))
            g = gl.grad(lambda x: np.sum(f(x)))(HUGE.reshape(1, -1))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))


def test_softmax_and_log_softmax_known_answers_at_1e4():
    assert nn.softmax(np.array([1e4, 0.0])).tolist() == [1.0, 0.0]
    assert nn.log_softmax(np.array([1e4, 0.0])).tolist() == [0.0, -1e4]
    assert nn.logsumexp(np.array([1e4, 1e4])) == pytest.approx(1e4 + np.log(2), rel=1e-15)
    assert nn.sigmoid(np.array([-1e4, 1e4])).tolist() == [0.0, 1.0]
    assert nn.softplus(np.array([-1e4, 1e4])).tolist() == [0.0, 1e4]
    assert nn.log_sigmoid(np.array([-1e4])).tolist() == [-1e4]


def test_softmax_gradient_at_large_logits_is_the_closed_form():
    x = np.array([1e4, 1e4 - 1.0, -1e4])
    p = nn.softmax(x)
    jac = gl.jacobian(nn.softmax)(x)
    np.testing.assert_allclose(jac, np.diag(p) - np.outer(p, p), atol=1e-15)


def test_logsumexp_of_all_minus_infinity_is_minus_infinity():
    with np.errstate(divide="ignore"):
        assert nn.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf


def test_sigmoid_derivative_closed_form_and_float32_preserved():
    x = np.linspace(-3, 3, 7).astype(np.float32)
    s = nn.sigmoid(x)
    assert s.dtype == np.float32
    g = gl.elementwise_grad(nn.sigmoid)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s * (1 - s), rtol=1e-6)


def test_relu_derivative_at_zero_is_zero_and_one_above():
    assert gl.elementwise_grad(nn.relu)(np.array([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 1.0]


def test_elu_gradient_does_not_leak_inf_from_the_branch_not_taken():
    g = gl.elementwise_grad(nn.elu)(np.array([800.0, -800.0]))
    assert g.tolist() == [1.0, 0.0]
