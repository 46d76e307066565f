"""Graph passes: each rule's effect and that values never change."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import gradlab as gl
import gradlab.graph.passes as passes


def names(graph):
    return [e.primitive.name for e in graph.eqns]


def same_values(before, after, *args):
    for a, b in zip(gl.tree_leaves(before(*args)), gl.tree_leaves(after(*args))):
        assert np.array_equal(a, b)


def test_dead_code_drops_unused_results_and_their_constants():
    c = np.arange(3.0)
    g = gl.capture(lambda x: (np.exp(x) * c, np.sin(x))[1], np.ones(3))
    out, removed = passes.dead_code(g)
    assert removed == 2 and names(out) == ["sin"] and out.consts == {}
    same_values(g, out, np.linspace(0, 1, 3))


def test_dead_code_keeps_what_a_guard_reads():
    def f(x):
        return x * 2.0 if np.max(x) > 0 else x

    out, removed = passes.dead_code(gl.capture(f, np.ones(2)))
    assert removed == 0 and names(out) == ["max", "greater", "multiply"]
    with pytest.raises(gl.GuardError, match="np.max"):
        out(-np.ones(2))


def test_cse_merges_forward_and_backward_duplicates():
    def f(w, x):
        return np.sum(np.tanh(x @ w) * (x @ w))

    g = gl.capture(gl.value_and_grad(f), np.ones((3, 2)), np.ones((4, 3)))
    out, removed = passes.cse(g)
    assert removed >= 2  # the second x @ w, and the backward's repeated transposes
    assert names(out).count("matmul") == names(g).count("matmul") - 1
    rng = np.random.default_rng(0)
    same_values(g, out, rng.normal(size=(3, 2)), rng.normal(size=(4, 3)))


def test_cse_merges_equal_constants():
    g = gl.capture(lambda x: x * np.full(2, 3.0) + x * np.full(2, 3.0), np.ones(2))
    out, removed = passes.cse(g)
    assert removed == 1 and len(out.consts) == 1


def test_fold_constants_computes_constant_equations_once():
    g = passes.bind_inputs(gl.capture(lambda w, x: x @ np.exp(w), np.ones((2, 2)),
                                      np.ones((3, 2))), {"w": np.eye(2)})
    out, removed = passes.fold_constants(g)
    assert removed == 1 and names(out) == ["matmul"]
    assert np.allclose(out(np.ones((3, 2))), np.ones((3, 2)) @ np.exp(np.eye(2)))


def test_bind_inputs_names_unknown_inputs():
    g = gl.capture(lambda w: w * 2.0, np.ones(2))
    with pytest.raises(KeyError, match=r"no inputs named \['v'\]"):
        passes.bind_inputs(g, {"v": 1.0})


@pytest.mark.parametrize("fn, left", [
    (lambda x: x * 1.0, []),
    (lambda x: 1 * x, []),
    (lambda x: x + -0.0, []),
    (lambda x: -0.0 + x, []),
    (lambda x: x - 0.0, []),
    (lambda x: x + 0.0, ["add"]),  # not exact: -0.0 + 0.0 is +0.0
    (lambda x: x - -0.0, ["subtract"]),
    (lambda x: x / 1.0, []),
    (lambda x: x ** 1, []),
    (lambda x: np.negative(np.negative(x)), []),
    (lambda x: np.transpose(np.transpose(x)), []),
    (lambda x: np.reshape(np.reshape(x, (6,)), (3, 2)), ["reshape"]),
    (lambda x: np.reshape(np.reshape(x, (6,)), (2, 3)), []),
    (lambda x: np.transpose(np.transpose(x[None], (1, 0, 2)), (2, 0, 1)), ["getitem",
                                                                          "transpose"]),
    # Not identities: the constant broadcasts, promotes, or is not a unit.
    (lambda x: x * np.ones((4, 2, 3)), ["multiply"]),
    (lambda x: x + np.zeros(3, np.complex128), ["add"]),
    (lambda x: x * 2.0, ["multiply"]),
    (lambda x: 0.0 - x, ["subtract"]),
])
def test_simplify_rules(fn, left):
    g = gl.capture(fn, np.arange(6.0).reshape(2, 3))
    out, _ = passes.dead_code(passes.simplify(g)[0])
    assert names(out) == left
    same_values(g, out, np.random.default_rng(1).normal(size=(2, 3)))


def test_optimize_reports_each_pass_and_keeps_values():
    def loss(w, x):
        h = np.tanh(x @ w)
        return np.sum(h * 1.0) + np.sum(np.exp(x @ w) * 0.0)

    g = gl.capture(gl.value_and_grad(loss), np.ones((3, 2)), np.ones((4, 3)))
    out, report = gl.optimize(g)
    assert report["equations_before"] == len(g.eqns)
    assert report["equations_after"] == len(out.eqns) < len(g.eqns)
    assert report["simplify"] >= 1 and report["cse"] >= 1
    removed = sum(report[k] for k in passes.PASSES)
    assert removed == len(g.eqns) - len(out.eqns)
    rng = np.random.default_rng(2)
    w, x = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    v, grad = out(w, x)
    assert np.isclose(v, loss(w, x)) and np.allclose(grad, gl.grad(loss)(w, x))


def test_passes_do_not_change_the_graph_they_are_given():
    g = gl.capture(lambda x: np.sin(x) * 1.0 + np.sin(x), np.ones(2))
    text = str(g)
    gl.optimize(g)
    assert str(g) == text


def test_passes_docstring_examples_pass():
    result = doctest.testmod(passes)
    assert result.failed == 0 and result.attempted > 10


def test_signed_zero_constants_are_not_merged():
    g = gl.capture(lambda x: (x * 0.0, x * -0.0, x + 0.0), np.ones(2))
    a, b, c = gl.optimize(g)[0](np.array([-0.0, -0.0]))
    assert np.signbit(a).all() and not np.signbit(b).any()  # -0*0 = -0, -0*-0 = +0
    assert not np.signbit(c).any()  # -0.0 + 0.0 is +0.0: the add was kept
