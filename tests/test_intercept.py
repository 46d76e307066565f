"""Interception: numpy calls in user code, and in every kind of helper it calls."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import gradlab as gl
from helpers import usermod

X = np.array([0.3, -0.7, 1.1])


def d_softplus(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_helper_in_another_module_is_instrumented():
    g = gl.grad(lambda x: np.sum(usermod.softplus(x)))(X)
    np.testing.assert_allclose(g, d_softplus(X), rtol=1e-12)


def test_closure_and_nested_function():
    scale = np.array([1.0, 2.0, 3.0])

    def outer(x):
        def inner(y):
            return np.sin(y) * scale

        return np.sum(inner(x) ** 2)

    g = gl.grad(outer)(X)
    np.testing.assert_allclose(g, 2 * np.sin(X) * np.cos(X) * scale ** 2, rtol=1e-12)


def test_closure_sees_later_rebinding_of_its_cell():
    k = 1.0

    def f(x):
        return np.sum(np.exp(x) * k)

    k = 3.0  # closures are live cells, not snapshots
    np.testing.assert_allclose(gl.grad(f)(X), 3.0 * np.exp(X), rtol=1e-12)


def test_recursion():
    def power(x, n):
        return x if n == 1 else np.multiply(x, power(x, n - 1))

    g = gl.grad(lambda x: np.sum(power(x, 4)))(X)
    np.testing.assert_allclose(g, 4 * X ** 3, rtol=1e-12)


def test_two_lambdas_on_one_line_are_not_confused():
    f, h = (lambda x: np.sum(np.sin(x))), (lambda x: np.sum(np.cos(x)))
    np.testing.assert_allclose(gl.grad(f)(X), np.cos(X), rtol=1e-12)
    np.testing.assert_allclose(gl.grad(h)(X), -np.sin(X), rtol=1e-12)


def test_nested_lambdas():
    make = lambda a: lambda x: np.sum(np.exp(a * x))  # noqa: E731
    np.testing.assert_allclose(gl.grad(make(2.0))(X), 2.0 * np.exp(2.0 * X), rtol=1e-12)


def test_bound_method_callable_object_private_names_and_super():
    layer = usermod.Layer(0.5)
    g = gl.grad(lambda x: np.sum(layer.forward(x)))(X)
    want = 2.0 * 0.5 * (1 - np.tanh(0.5 * X) ** 2) + np.exp(X) + 2 * X
    np.testing.assert_allclose(g, want, rtol=1e-12)
    child = usermod.Child(0.5)
    np.testing.assert_allclose(gl.grad(lambda x: np.sum(child.forward(x)))(X), 2 * want,
                               rtol=1e-12)
    np.testing.assert_allclose(gl.grad(lambda x: np.sum(layer(x)))(X),
                               (1 - np.tanh(0.5 * X) ** 2), rtol=1e-12)


def test_staticmethod_and_classmethod():
    g = gl.grad(lambda x: np.sum(usermod.Layer.square(x)))(X)
    np.testing.assert_allclose(g, 2 * X, rtol=1e-12)
    # classmethod: the weight is cos(x) and is differentiated through the constructor call
    g = gl.grad(lambda x: np.sum(usermod.Layer.make(x).w))(X)
    np.testing.assert_allclose(g, -np.sin(X), rtol=1e-12)


def test_partial_and_decorated_function():
    f = functools.partial(usermod.scaled_sin, scale=3.0)
    np.testing.assert_allclose(gl.grad(lambda x: np.sum(f(x)))(X), 3 * np.cos(X), rtol=1e-12)
    np.testing.assert_allclose(gl.grad(lambda x: np.sum(usermod.decorated_cube(x)))(X),
                               3 * X ** 2, rtol=1e-12)
    # the user function itself may be a partial or a decorated function
    np.testing.assert_allclose(
        gl.grad(functools.partial(lambda x, c: np.sum(np.sin(c * x)), c=2.0))(X),
        2 * np.cos(2 * X), rtol=1e-12)


def test_math_functions_on_traced_scalars():
    g = gl.grad(usermod.math_scalar)(0.4)
    np.testing.assert_allclose(g, math.exp(0.4) + math.cos(0.4), rtol=1e-12)


def test_comprehension_and_generator_in_traced_code():
    def f(x):
        parts = [np.sin(x[i]) for i in range(3)]
        return sum(p * p for p in parts)

    np.testing.assert_allclose(gl.grad(f)(X), 2 * np.sin(X) * np.cos(X), rtol=1e-12)


def test_redefinition_takes_effect():
    namespace: dict = {"np": np}
    exec_source = "def f(x):\n    return np.sum(np.sin(x))\n"
    path = _write_module(exec_source)
    code = compile(open(path).read(), path, "exec")
    exec(code, namespace)
    np.testing.assert_allclose(gl.grad(namespace["f"])(X), np.cos(X), rtol=1e-12)
    with open(path, "w") as fh:
        fh.write("def f(x):\n    return np.sum(np.cos(x))\n")
    import linecache

    linecache.checkcache(path)
    exec(compile(open(path).read(), path, "exec"), namespace)
    np.testing.assert_allclose(gl.grad(namespace["f"])(X), -np.sin(X), rtol=1e-12)


def _write_module(src):
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".py")
    with os.fdopen(fd, "w") as fh:
        fh.write(src)
    return path


def test_tracebacks_show_the_users_file_and_line():
    def f(x):
        y = np.sin(x)
        return y @ np.ones((4, 2))  # shape mismatch on this line

    with pytest.raises(gl.ShapeError) as info:
        gl.grad(lambda x: np.sum(f(x)))(X)
    assert "return y @ np.ones((4, 2))" in str(info.value)
    assert "matmul(float64[3], float64[4,2])" in str(info.value)
    frames = [fr for fr in info.traceback if fr.path == __file__ or str(fr.path) == __file__]
    assert any("y @ np.ones" in str(fr.statement) for fr in frames)


def test_library_code_is_not_instrumented():
    from gradlab.intercept import resolve

    assert resolve(np.linalg.matrix_rank) is not np.linalg.matrix_rank  # guarded
    assert resolve(len) is len
    # A builtin that calls a function given as a value is wrapped only to resolve that
    # function (map(h, xs) instruments h); the builtin itself runs as it is.
    assert resolve(functools.reduce).__wrapped__ is functools.reduce


def test_instrumented_functions_are_cached():
    from gradlab.intercept import resolve

    def f(x):
        return np.sin(x)

    assert resolve(f) is resolve(f)
    assert resolve(resolve(f)) is resolve(f)  # never instrumented twice


def test_library_module_can_opt_in_to_instrumentation(monkeypatch):
    import importlib

    resolve_module = importlib.import_module("gradlab.intercept.resolve")
    monkeypatch.setattr(resolve_module, "is_library_file", lambda filename: True)
    namespace = {"np": np, "__name__": "installed_pkg"}
    path = _write_module("def f(x):\n    return np.sin(x)\n")
    exec(compile(open(path).read(), path, "exec"), namespace)
    assert resolve_module.resolve(namespace["f"]) is namespace["f"]  # library: untouched
    namespace["__gradlab_instrument__"] = True
    resolve_module.clear_cache()
    assert resolve_module.resolve(namespace["f"]) is not namespace["f"]


def test_errors_point_past_numpy_to_the_users_line():
    def f(x):
        return np.sum(np.nonzero(x)[0] * 1.0)  # data-dependent shape: no batched answer

    with pytest.raises(gl.ConcretizationError) as info:
        gl.vmap(f)(np.ones((2, 3)))
    assert "return np.sum(np.nonzero(x)[0] * 1.0)" in str(info.value)


def test_a_function_whose_file_changed_since_import_is_not_silently_replaced():
    import importlib
    import linecache
    import os
    import tempfile

    resolve_module = importlib.import_module("gradlab.intercept.resolve")
    resolve_module.clear_cache()
    d = tempfile.mkdtemp()
    path = os.path.join(d, "edited_module_for_test.py")
    with open(path, "w") as fh:
        fh.write("import numpy as np\n\ndef f(x):\n    return np.sum(np.sin(x))\n")
    namespace: dict = {}
    exec(compile(open(path).read(), path, "exec"), namespace)
    with open(path, "w") as fh:  # edited after "import": a new local, another formula
        fh.write("import numpy as np\n\ndef f(x):\n    y = np.cos(x)\n    return np.sum(y)\n")
    linecache.checkcache(path)
    with pytest.warns(RuntimeWarning, match="no longer matches the running code"):
        g = gl.grad(namespace["f"])(X)
    np.testing.assert_allclose(g, np.cos(X), rtol=1e-12)  # what is running: sin's gradient
