"""What a new user sees: each message names the user's line and a fix that works."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

import gradlab as gl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_storing_into_a_plain_array_advises_gl_at_and_the_advice_works():
    def f(x):
        buf = np.zeros(3)
        buf[1:] = x[:2]
        return np.sum(buf * buf)

    with pytest.raises(gl.TracerConversionError) as info:
        gl.grad(f)(np.array([1.0, 2.0, 3.0]))
    message = str(info.value)
    assert "buf[1:] = x[:2]" in message  # the user's own line
    assert "buf = gl.at(buf)[1:].set(x[:2])" in message

    def fixed(x):
        buf = np.zeros(3)
        buf = gl.at(buf)[1:].set(x[:2])
        return np.sum(buf * buf)

    assert gl.grad(fixed)(np.array([1.0, 2.0, 3.0])).tolist() == [2.0, 4.0, 0.0]


def test_in_place_update_of_a_traced_array_quotes_the_expression_and_its_functional_form():
    def f(x):
        y = x * 1.0
        y[0] += 2 * x[1]
        return np.sum(y)

    with pytest.raises(gl.InPlaceMutationError) as info:
        gl.grad(f)(np.ones(3))
    assert "y[0] += 2 * x[1]" in str(info.value)
    assert "y = y.at[0].add(2 * x[1])" in str(info.value)


def test_format_spec_on_a_traced_value_raises_with_advice():
    def f(x):
        loss = np.sum(x ** 2)
        print(f"{loss:.3f}")
        return loss

    with pytest.raises(gl.TracerConversionError, match=r"\{:\.3f\}") as info:
        gl.grad(f)(np.ones(2))
    assert "stop_gradient" in str(info.value)
    assert 'print(f"{loss:.3f}")' in str(info.value)

    def advised(x):
        loss = np.sum(x ** 2)
        return loss, f"{gl.stop_gradient(loss):.3f}"

    grads, shown = gl.grad(advised, has_aux=True)(np.ones(2))
    assert shown == "2.000" and grads.tolist() == [2.0, 2.0]


def test_out_into_a_traced_array_is_an_in_place_mutation():
    def f(x):
        np.multiply(x, 2.0, out=x)
        return np.sum(x)

    with pytest.raises(gl.InPlaceMutationError, match=r"multiply\(\.\.\., out=\.\.\.\)"):
        gl.grad(f)(np.ones(2))


def test_unregistered_dataclass_argument_says_register_dataclass():
    @dataclasses.dataclass
    class Params:
        w: np.ndarray

    with pytest.raises(TypeError, match=r"gl\.register_dataclass\(Params\)"):
        gl.grad(lambda p: np.sum(p.w))(Params(np.ones(2)))


def test_integer_leaf_is_named_by_path_and_a_python_int_is_not_an_ndarray():
    with pytest.raises(TypeError) as info:
        gl.grad(lambda p: np.sum(p["w"]) * p["n"])({"n": 3, "w": np.ones(2)})
    message = str(info.value)
    assert "input leaf [0]['n'] has dtype int64 (a Python int)" in message
    assert "ndarray" not in message
    with pytest.raises(TypeError, match=r"input leaf \[1\]\['k'\] has dtype int64 \(ndarray\)"):
        gl.grad(lambda a, b: a * 2.0, argnum=(0, 1))(1.0, {"k": np.arange(2)})


def _run_fresh(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


def test_load_ext_without_pipescript_says_how_to_install_it():
    done = _run_fresh(
        "import sys; sys.modules['pipescript'] = None\n"
        "import gradlab\n"
        "try:\n    gradlab.load_ipython_extension(None)\n"
        "except ModuleNotFoundError as exc:\n    print(exc)\n")
    assert "pip install 'gradlab[ipython]'" in done.stdout, done.stderr


def test_gl_training_works_before_gl_train_is_touched():
    done = _run_fresh("import gradlab as gl\nprint(gl.training.minibatches.__name__)\n")
    assert done.stdout.strip() == "minibatches", done.stderr


def test_runtime_warnings_inside_rules_point_at_the_users_line():
    import warnings

    def f(x):
        y = np.log(x - 1.0)  # log(0): numpy warns inside gradlab's level
        return np.sum(y * 0.0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gl.grad(f)(np.array([1.0, 2.0]))  # backward: the derivative of log divides by 0
    shown = [(w.filename, str(w.message)) for w in caught]
    assert (__file__, "divide by zero encountered in log") in shown
    forward = next(w for w in caught if str(w.message) == "divide by zero encountered in log")
    assert "np.log(x - 1.0)" in open(__file__).readlines()[forward.lineno - 1]
    assert all(w.filename == __file__ for w in caught), shown
    assert any("the derivative of log" in m for _, m in shown), shown
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        gl.grad(f)(np.array([1.0, 2.0]))  # a state the user set is kept
