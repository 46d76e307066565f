"""Capture to the graph IR: structure, printing, evaluation, JSON, guards, Variables."""

from __future__ import annotations

import doctest
import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import gradlab as gl
from gradlab.graph import GuardError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mlp(params, x):
    h = np.tanh(x @ params["w1"] + params["b1"])
    return np.mean((h @ params["w2"]) ** 2)


def mlp_params(rng):
    return {"w1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5),
            "w2": rng.normal(size=(5, 2))}


def test_capture_records_each_primitive_with_ids_params_and_avals():
    g = gl.capture(lambda x: np.sum(np.exp(x), axis=0, keepdims=True), np.ones((3, 2)))
    assert [e.primitive.name for e in g.eqns] == ["exp", "sum"]
    exp_eqn, sum_eqn = g.eqns
    assert exp_eqn.inputs == (g.inputs[0],)
    assert sum_eqn.inputs == exp_eqn.outputs
    assert sum_eqn.params == {"axis": 0, "keepdims": True}
    assert g.outputs == list(sum_eqn.outputs)
    assert g.avals[g.outputs[0]].shape == (1, 2)
    assert g.avals[g.outputs[0]].dtype == np.float64


def test_graph_call_equals_the_function_on_new_inputs():
    rng = np.random.default_rng(0)
    p, x = mlp_params(rng), rng.normal(size=(3, 4))
    g = gl.capture(mlp, p, x)
    p2, x2 = mlp_params(rng), rng.normal(size=(3, 4))
    assert np.allclose(g(p2, x2), mlp(p2, x2))
    assert g.input_names == ["params['b1']", "params['w1']", "params['w2']", "x"]


def test_print_reads_like_a_jaxpr():
    g = gl.capture(lambda x, y: np.sum(np.tanh(x) * y), np.ones(3), np.ones(3))
    assert str(g) == ("{ lambda ; a:f64[3] b:f64[3] . let\n"
                      "    c:f64[3] = tanh a\n"
                      "    d:f64[3] = multiply c b\n"
                      "    e:f64[] = sum d\n"
                      "  in (e) }")


def test_array_constants_are_listed_before_the_inputs():
    w = np.arange(6.0).reshape(3, 2)
    g = gl.capture(lambda x: x @ w, np.ones((1, 3)))
    assert str(g).splitlines()[0] == "{ lambda a:f64[3,2] ; b:f64[1,3] . let"
    assert g.consts[g.eqns[0].inputs[1]] is w


def test_pytree_outputs_and_python_scalar_constants():
    g = gl.capture(lambda x: {"double": x * 2.0, "pair": (x, x + 1)}, np.array([1.0, 2.0]))
    out = g(np.array([3.0, 4.0]))
    assert out["double"].tolist() == [6.0, 8.0]
    assert out["pair"][0].tolist() == [3.0, 4.0] and out["pair"][1].tolist() == [4.0, 5.0]
    # Python scalars stay weak: float32 * 2.0 is float32, in the graph as in numpy.
    g32 = gl.capture(lambda x: x * 2.0, np.ones(2, np.float32))
    assert g32.avals[g32.outputs[0]].dtype == np.float32
    assert g32(np.ones(2, np.float32)).dtype == np.float32


def test_to_json_round_trip_keeps_slices_index_arrays_and_structure():
    idx = np.array([2, 0])

    def f(x, extra):
        return {"a": x[1:, idx].sum(axis=-1), "b": [np.reshape(extra, (2, 1))]}

    x, extra = np.arange(12.0).reshape(3, 4), np.array([1.0, 2.0])
    g = gl.capture(f, x, extra)
    h = gl.Graph.from_json(g.to_json())
    x2 = np.random.default_rng(1).normal(size=(3, 4))
    want, got = f(x2, extra), h(x2, extra)
    assert np.array_equal(got["a"], want["a"]) and np.array_equal(got["b"][0], want["b"][0])
    assert str(h) == str(g)


def test_from_json_names_an_unknown_primitive():
    text = gl.capture(np.sin, np.ones(2)).to_json().replace('"sin"', '"no_such_op"')
    with pytest.raises(KeyError, match="no primitive named 'no_such_op'"):
        gl.Graph.from_json(text)


def branchy(x):
    if np.sum(x) > 0:
        return np.exp(x)
    return -x


def test_from_json_in_a_fresh_interpreter_declares_lazily_loaded_primitives(tmp_path):
    # numpy.fft's and SciPy's rules are declared on first use: a graph saved with them
    # loads in an interpreter that has not used them yet.
    pytest.importorskip("scipy")
    import scipy.special

    x = np.array([0.5, 1.5, 2.0, 3.0])
    graph = gl.capture(lambda v: np.fft.rfft(v).real + scipy.special.gammaln(v[:3]), x)
    path = tmp_path / "graph.json"
    path.write_text(graph.to_json())
    code = ("import sys, json, numpy as np, gradlab as gl\n"
            "assert 'gradlab.ops.fft' not in sys.modules\n"
            f"g = gl.Graph.from_json(open({str(path)!r}).read())\n"
            "print(json.dumps(g(np.array([0.5, 1.5, 2.0, 3.0])).tolist()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stderr
    np.testing.assert_allclose(json.loads(out.stdout), graph(x), rtol=1e-12)


def test_guard_failure_raises_naming_the_line():
    g = gl.capture(branchy, np.ones(2))
    assert g(np.array([1.0, 0.5])).tolist() == np.exp([1.0, 0.5]).tolist()
    with pytest.raises(GuardError, match=r"condition was True at capture.*\n.*"
                       r"test_graph_capture.py:\d+: if np.sum\(x\) > 0:"):
        g(-np.ones(2))
    assert "guard" in str(g)


def test_values_read_as_python_numbers_are_guarded_constants():
    def f(x, n):
        for _ in range(int(n)):
            x = x * 2.0
        return x

    g = gl.capture(f, np.ones(2), np.array(3))
    assert g(np.ones(2), np.array(3)).tolist() == [8.0, 8.0]
    with pytest.raises(GuardError, match="read as a Python constant"):
        g(np.ones(2), np.array(4))


def test_static_arguments_are_fixed_at_capture():
    g = gl.capture(lambda x, how: np.sum(x) if how == "sum" else np.max(x), np.ones(2), "sum")
    assert float(g(np.ones(2), "sum")) == 2.0
    with pytest.raises(GuardError, match="static argument"):
        g(np.ones(2), "max")


def test_variable_placeholders_build_a_graph_without_data():
    x = gl.Variable("x", (5, 3))
    w = gl.Variable("w", (3, 2), np.float32)
    g = gl.capture(lambda x, w: np.tanh(x @ w).sum(axis=0), x, w)
    assert g.input_names == ["x", "w"]
    assert g.avals[g.outputs[0]].shape == (2,)
    xs, ws = np.ones((5, 3)), np.full((3, 2), 0.1, np.float32)
    assert np.allclose(g(xs, ws), np.tanh(xs @ ws).sum(axis=0))


def test_branching_on_a_variable_raises_concretization_error():
    with pytest.raises(gl.ConcretizationError, match="symbolic Variable"):
        gl.capture(branchy, gl.Variable("x", (2,)))


def test_transforms_inside_capture_are_recorded():
    g = gl.capture(gl.grad(lambda x: np.sum(np.sin(x))), np.zeros(3))
    x = np.array([0.1, 0.2, 0.3])
    assert np.allclose(g(x), np.cos(x))
    assert "cos" in g.primitive_counts()


@pytest.mark.parametrize("name", ["gradlab.graph", "gradlab.graph.ir", "gradlab.graph.capture",
                                  "gradlab.graph.printing", "gradlab.graph.serialize"])
def test_graph_docstring_examples_pass(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_non_numeric_outputs_are_kept_as_constants():
    g = gl.capture(lambda x: (np.sum(x), "label", None), np.ones(2))
    assert g(np.arange(3.0)[:2]) == (1.0, "label", None)
    assert str(g).startswith("{ lambda a:object[] ; b:f64[2] . let")


def test_nested_grad_inside_capture_has_no_perturbation_confusion():
    def f(x):
        return x * gl.grad(lambda y: x * y)(2.0)  # d/dy (x y) = x, so f = x**2

    g = gl.capture(gl.grad(f), 1.0)
    assert g(1.0) == 2.0 and g(3.0) == 6.0


def test_transforms_of_a_jitted_function_trace_through_it():
    f = gl.jit(lambda x: np.sum(np.sin(x) * x))
    x = np.array([0.3, -1.2])
    assert np.allclose(gl.grad(f)(x), np.cos(x) * x + np.sin(x))
    assert np.allclose(gl.vmap(f)(np.stack([x, 2 * x])), [f(x), f(2 * x)])
