"""The compiled tape, the reference interpreter, random-DAG equivalence, certificates."""

from __future__ import annotations

import doctest
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlab as gl
import gradlab.graph.random_dag
import gradlab.graph.reference
import gradlab.graph.tape
from gradlab.graph.random_dag import (
    BINARY_EXACT,
    BINARY_FLOAT,
    UNARY_EXACT,
    UNARY_FLOAT,
    dag_function,
)
from gradlab.graph.reference import backprop_reference, certify

EXAMPLES = int(os.environ.get("GRADLAB_DAG_EXAMPLES", "25"))


def loss(w, x):
    return np.sum(np.tanh(x @ w) ** 2)


@pytest.fixture
def tape_and_args():
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    return gl.compile(gl.capture(loss, w, x)), (w, x)


def test_tape_forward_and_gradients_equal_eager(tape_and_args):
    tape, (w, x) = tape_and_args
    assert np.isclose(tape(w, x), loss(w, x))
    grads = tape.backward_dense_all()
    assert len(grads) == len(tape)
    gw, gx = gl.grad(loss, argnum=(0, 1))(w, x)
    assert np.allclose(tape.grad("w"), gw) and np.allclose(tape.grad(("input", 1)), gx)


def test_backward_dense_all_has_zeros_where_nothing_arrives_and_takes_a_seed():
    g = gl.capture(lambda x, y: (np.sum(x * 2.0), np.sum(y)), np.ones(2), np.ones(3))
    tape = gl.compile(g)
    tape(np.ones(2), np.ones(3))
    grads = tape.backward_dense_all(out=0, seed=3.0)
    assert tape.grad("x").tolist() == [6.0, 6.0]
    assert tape.grad("y").tolist() == [0.0, 0.0, 0.0]  # not reached from output 0
    assert all(gr.shape == np.shape(b) for gr, b in zip(grads, tape.buffers))


def test_tape_arrays_list_parents_before_children(tape_and_args):
    tape, args = tape_and_args
    assert all(p < n for n in range(len(tape)) for p in tape.parents_of(n))
    assert tape.parent_start[-1] == len(tape.parents)
    assert tape.prims[0] is None and tape.prims[-1].name == "sum"


def test_jvp_leaves_equals_forward_mode(tape_and_args):
    tape, (w, x) = tape_and_args
    tape(w, x)
    dw = np.random.default_rng(1).normal(size=w.shape)
    (t,) = tape.jvp_leaves({"w": dw})
    assert np.isclose(t, gl.jvp(lambda w: loss(w, x), (w,), (dw,))[1])


def test_sgd_step_updates_the_inputs_and_lowers_the_loss(tape_and_args):
    tape, (w, x) = tape_and_args
    first = tape(w, x)
    (w_new,) = tape.sgd_step(["w"], lr=0.05)
    assert np.allclose(w_new, w - 0.05 * gl.grad(loss)(w, x))
    assert tape.rerun() < first


def test_backward_needs_a_forward_pass():
    tape = gl.compile(gl.capture(np.sum, np.ones(2)))
    with pytest.raises(RuntimeError, match="needs a forward pass first"):
        tape.backward_dense_all()


def test_certificate_records_a_failing_check():
    tape = gl.compile(gl.capture(lambda x: np.sum(x * x), np.ones(2)))
    tape.parents[0] = 5  # corrupt the tape: a parent after its child
    cert = certify(tape)
    assert not cert.passed
    assert cert.checks["parents_precede"][0] is False and "FAIL parents_precede" in str(cert)


@st.composite
def dags(draw, exact):
    unary = list(UNARY_EXACT if exact else UNARY_FLOAT)
    names = unary + list(BINARY_EXACT if exact else BINARY_FLOAT)
    n_inputs = draw(st.integers(1, 3))
    ops = []
    for k in range(draw(st.integers(1, 10))):
        n = n_inputs + k
        ops.append((draw(st.sampled_from(names)), draw(st.integers(0, n - 1)),
                    draw(st.integers(0, n - 1))))
    seed = draw(st.integers(0, 2**16))
    return (n_inputs, ops), seed


def _inputs(spec, seed, exact):
    rng = np.random.default_rng(seed)
    n = spec[0]
    if exact:
        return tuple(rng.integers(-3, 4, size=3).astype(np.float64) for _ in range(n))
    return tuple(rng.normal(size=3) for _ in range(n))


@settings(max_examples=EXAMPLES)
@given(dags(exact=True))
def test_random_integer_dags_tape_equals_reference_exactly(case):
    spec, seed = case
    args = _inputs(spec, seed, exact=True)
    f = dag_function(spec, exact=True)
    tape = gl.compile(gl.capture(f, *args))
    assert tape(*args) == f(*args)
    grads = tape.backward_dense_all()
    for n, ref in enumerate(backprop_reference(tape.graph, args)):
        assert np.array_equal(grads[n], ref)  # exact: every value is an integer
    cert = certify(tape, args)
    assert cert.passed, str(cert)


@settings(max_examples=EXAMPLES)
@given(dags(exact=False))
def test_random_float_dags_tape_equals_reference_and_finite_differences(case):
    spec, seed = case
    args = _inputs(spec, seed, exact=False)
    f = dag_function(spec, exact=False)
    tape = gl.compile(gl.capture(f, *args), check=True, args=args)
    assert tape.certificate.passed, str(tape.certificate)
    assert tape(*args) == f(*args)  # compiled values equal plain numpy's, exactly
    tape.backward_dense_all()
    eager = gl.grad(f, argnum=tuple(range(len(args))))(*args)
    for i, g in enumerate(eager):
        assert np.allclose(tape.grad(("input", i)), g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("module", [gradlab.graph.tape, gradlab.graph.reference,
                                    gradlab.graph.random_dag])
def test_tape_docstring_examples_pass(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def check_optimised_and_jitted_exactly(case, exact):
    """The passes' rewrites are exact identities, and jit replays the same numpy calls:
    values and gradients equal eager gradlab bit for bit, on any program."""
    spec, seed = case
    args = _inputs(spec, seed, exact=exact)
    f = dag_function(spec, exact=exact)
    argnums = tuple(range(len(args)))
    want_value, want_grads = gl.value_and_grad(f, argnum=argnums)(*args)
    graph = gl.capture(gl.value_and_grad(f, argnum=argnums), *args)
    small, report = gl.optimize(graph)
    jitted = gl.jit(gl.value_and_grad(f, argnum=argnums))
    for got_value, got_grads in (small(*args), jitted(*args)):
        assert got_value == want_value
        for g, w in zip(got_grads, want_grads):
            assert np.array_equal(g, w)
    assert report["equations_after"] <= report["equations_before"]


@settings(max_examples=EXAMPLES)
@given(dags(exact=True))
def test_random_integer_dags_optimised_and_jitted_equal_eager_exactly(case):
    check_optimised_and_jitted_exactly(case, exact=True)


@settings(max_examples=EXAMPLES)
@given(dags(exact=False))
def test_random_float_dags_optimised_and_jitted_equal_eager_exactly(case):
    check_optimised_and_jitted_exactly(case, exact=False)
