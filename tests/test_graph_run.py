"""Executor and feed dicts, sessions, remat plans under tracemalloc, drawing."""

from __future__ import annotations

import doctest
import importlib
import tracemalloc

import numpy as np
import pytest

import gradlab as gl
from gradlab.graph.remat import peak_bytes


def model(x, w, b):
    return np.tanh(x @ w + b)


@pytest.fixture
def graph():
    return gl.capture(model, gl.Variable("x", (4, 3)), gl.Variable("w", (3, 2)),
                      gl.Variable("b", (2,)))


def test_executor_feeds_by_name_variable_and_position(graph):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    ex = gl.Executor(graph)
    want = model(x, w, b)
    assert np.allclose(ex.run({"x": x, "w": w, "b": b}), want)
    assert np.allclose(ex.run({gl.Variable("x", (4, 3)): x, 1: w, "b": b}), want)


def test_executor_fetches_intermediates_and_needs_only_their_inputs(graph):
    x, w = np.ones((4, 3)), np.full((3, 2), 0.5)
    (xw,) = gl.Executor(graph).run({"x": x, "w": w}, fetches=["d"])  # d = x @ w
    assert xw.tolist() == (x @ w).tolist()


def test_executor_errors_name_what_is_missing(graph):
    ex = gl.Executor(graph)
    with pytest.raises(KeyError, match=r"lacks inputs \['b'\]"):
        ex.run({"x": np.ones((4, 3)), "w": np.ones((3, 2))})
    with pytest.raises(KeyError, match="no input named 'z'"):
        ex.run({"z": 1.0})
    with pytest.raises(KeyError, match="fetch 'zz'"):
        ex.run({"x": 1.0}, fetches=["zz"])


def test_session_backward_accumulates_until_zero_grad():
    w0 = np.array([1.0, -2.0, 0.5])
    with gl.session() as s:
        w = s.param(w0)
        b = s.param(np.array(0.3))
        loss = np.sum(np.tanh(w) * 2.0) + b * b
        loss.backward(gradient=1.0)
        first = w.grad.copy()
        loss.backward()
        assert np.allclose(w.grad, 2 * first)
        s.zero_grad()
        assert w.grad is None and b.grad is None
        loss.backward(gradient=0.5)
    assert np.allclose(w.grad, (1 - np.tanh(w0) ** 2))
    assert np.isclose(b.grad, 0.3)


def test_session_non_scalar_backward_needs_a_gradient():
    with gl.session() as s:
        w = s.param(np.ones(2))
        y = w * 3.0
        with pytest.raises(TypeError, match="needs gradient="):
            y.backward()
        y.backward(gradient=np.array([1.0, 2.0]))
    assert w.grad.tolist() == [3.0, 6.0]


def chain(x):
    for _ in range(6):
        x = np.tanh(x)
    return np.sum(x)


def traced_peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_plan_remat_keeps_the_measured_peak_within_the_budget():
    x = np.linspace(-1.0, 1.0, 20_000)
    g = gl.capture(gl.grad(chain), x)
    held = sum(np.asarray(v).nbytes for v in [x, *g.consts.values()])
    budget = 0.6 * peak_bytes(g, set())
    plan = gl.plan_remat(g, budget)
    assert plan.fits and plan.recompute and plan.recomputed_equations > 0
    assert np.array_equal(gl.eval_scheduled(g, plan, x), g(x))
    scheduled = traced_peak(lambda: gl.eval_scheduled(g, plan, x))
    plain = traced_peak(lambda: g(x))
    assert held + scheduled <= budget < held + plain


def test_plan_remat_reports_a_budget_it_cannot_meet():
    g = gl.capture(gl.grad(chain), np.ones(1000))
    plan = gl.plan_remat(g, 1000)
    assert not plan.fits and plan.peak > plan.budget


def test_to_dot_and_builtin_svg(graph, tmp_path):
    dot = graph.to_dot()
    assert 'v0 [label="x\\nf64[4,3]", shape=ellipse];' in dot and "-> e0;" in dot
    from gradlab.graph.draw import layered_svg

    svg = layered_svg(graph)
    assert svg.startswith("<svg") and svg.count("<rect") == 3 + len(graph.eqns)
    path = tmp_path / "g.svg"
    assert graph.to_svg(path) == path.read_text()


def test_to_svg_uses_graphviz_when_dot_is_on_the_path(graph, tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\ncat > /dev/null\necho '<?xml?><svg>from dot</svg>'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert graph.to_svg() == "<svg>from dot</svg>\n"


@pytest.mark.parametrize("name", ["gradlab.graph.executor", "gradlab.graph.remat",
                                  "gradlab.graph.draw"])
def test_run_docstring_examples_pass(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0


def test_executor_and_eval_scheduled_check_guards_on_inputs():
    g = gl.capture(lambda x: x * 2.0 if x else x * 3.0, np.array(True) * 1.0)
    with pytest.raises(gl.GuardError, match="if x else"):
        gl.Executor(g).run({"x": np.array(0.0)})
    with pytest.raises(gl.GuardError, match="if x else"):
        gl.eval_scheduled(g, gl.plan_remat(g, 1e9), np.array(0.0))
    assert gl.Executor(g).run({"x": np.array(2.0)}) == 4.0
