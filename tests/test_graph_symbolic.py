"""Symbolic differentiation of graphs: grad_graph, vjp_graph, jvp_graph, hessian."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import gradlab as gl
import gradlab.graph.symbolic


def loss(w, x):
    return np.sum(np.tanh(x @ w) ** 2) / x.shape[0]


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(3, 2)), rng.normal(size=(4, 3))


def test_grad_graph_equals_grad_and_finite_differences(data):
    w, x = data
    dg = gl.grad_graph(gl.capture(loss, w, x))
    assert np.allclose(dg(w, x), gl.grad(loss)(w, x))
    v, eps = np.random.default_rng(5).normal(size=w.shape), 1e-6
    fd = (loss(w + eps * v, x) - loss(w - eps * v, x)) / (2 * eps)
    assert np.isclose(np.sum(dg(w, x) * v), fd, rtol=1e-6)
    # The gradient graph is itself a graph of primitives, including the backward ops.
    names = dg.primitive_counts()
    assert names["matmul"] >= 2 and "tanh" in names


def test_grad_graph_wrt_a_tuple_of_arguments(data):
    w, x = data
    gw, gx = gl.grad_graph(gl.capture(loss, w, x), wrt=(0, 1))(w, x)
    want_w, want_x = gl.grad(loss, argnum=(0, 1))(w, x)
    assert np.allclose(gw, want_w) and np.allclose(gx, want_x)


def test_hessian_by_applying_grad_graph_twice_equals_gl_hessian(data):
    w, x = data
    g = gl.capture(loss, w, x)
    h = gl.grad_graph(gl.grad_graph(g))
    assert np.allclose(h(w, x), gl.hessian(loss)(w, x))
    assert np.allclose(gl.hessian_graph(g)(w, x), gl.hessian(loss)(w, x))


def test_jvp_graph_is_adjoint_to_vjp_graph(data):
    w, x = data
    f = gl.capture(lambda w, x: np.tanh(x @ w), w, x)
    rng = np.random.default_rng(4)
    dw, dx, ct = rng.normal(size=w.shape), rng.normal(size=x.shape), rng.normal(size=(4, 2))
    out, t_out = gl.jvp_graph(f)((w, x), (dw, dx))
    assert np.allclose(out, np.tanh(x @ w))
    ct_w, ct_x = gl.vjp_graph(f)((w, x), ct)
    assert np.isclose(np.sum(t_out * ct), np.sum(dw * ct_w) + np.sum(dx * ct_x))


def test_derivative_graphs_keep_the_guards_of_the_original():
    def f(x):
        if np.sum(x) > 0:
            return np.sum(np.exp(x))
        return np.sum(-x)

    dg = gl.grad_graph(gl.capture(f, np.ones(2)))
    assert np.allclose(dg(np.array([0.5, 1.0])), np.exp([0.5, 1.0]))
    with pytest.raises(gl.GuardError, match=r"if np.sum\(x\) > 0:"):
        dg(-np.ones(2))


def test_symbolic_docstring_examples_pass():
    result = doctest.testmod(gradlab.graph.symbolic)
    assert result.failed == 0 and result.attempted >= 4
