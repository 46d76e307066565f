"""Tracing state: per thread, and never holding a user's value after a transform returns."""

from __future__ import annotations

import functools
import gc
import math
import threading
import weakref

import numpy as np

import gradlab as gl
from gradlab.core.tape import Var


# --- threads ---------------------------------------------------------------------------
def _model(w, x):
    h = x
    for _ in range(30):  # long enough that threads switch in the middle of a trace
        h = np.tanh(h @ w + np.tile(np.sum(h, axis=1, keepdims=True), (1, 3)) * 0.01)
    return np.sum(h ** 2)


_W = np.linspace(-0.5, 0.5, 9).reshape(3, 3)
_X = np.linspace(-1.0, 1.0, 12).reshape(4, 3)


def _jobs(seed):
    w = _W + 0.01 * seed
    return {
        "grad": lambda: gl.grad(_model)(w, _X),
        "vmap_grad": lambda: gl.vmap(gl.grad(lambda xi: _model(w, xi[None])))(_X),
        "jvp": lambda: gl.jvp(lambda w: _model(w, _X), (w,), (np.ones_like(w),))[1],
    }


def test_threads_running_transforms_concurrently_match_serial_runs_bit_for_bit():
    serial = {(s, k): job() for s in range(8) for k, job in _jobs(s).items()}
    results, errors = {}, []
    start = threading.Barrier(8)

    def worker(seed):
        try:
            start.wait()
            for _ in range(3):
                for k, job in _jobs(seed).items():
                    results.setdefault((seed, k), []).append(job())
        except Exception as exc:  # reported below, with the thread that raised it
            errors.append((seed, exc))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for key, want in serial.items():
        assert len(results[key]) == 3
        for got in results[key]:
            assert np.array_equal(got, want), key


def test_a_thread_sees_no_level_of_another_thread():
    from gradlab.core.trace import live_levels

    seen = []
    inside = threading.Event()
    release = threading.Event()

    def holder(x):
        inside.set()
        release.wait(5)
        return x * 2.0

    t = threading.Thread(target=lambda: gl.grad(holder)(1.0))
    t.start()
    inside.wait(5)
    seen.append(len(live_levels()))
    release.set()
    t.join()
    assert seen == [0]


# --- no hidden retention ---------------------------------------------------------------
def _collected(make_and_run):
    """Run a transform over a function holding user values; weakrefs to those values."""
    refs = make_and_run()
    gc.collect()
    return [r for r in refs if r() is not None]


def _watch(refs, value):
    refs.append(weakref.ref(value))
    return value


def test_list_append_in_traced_code_keeps_no_var_alive():
    refs = []

    def f(x):
        parts = []
        for i in range(50):
            parts.append(_watch(refs, x * float(i)))  # a bound builtin method, resolved
        return np.sum(np.stack(parts))

    def run():
        for _ in range(3):
            assert np.allclose(gl.grad(f)(np.ones(3)), np.full(3, sum(range(50))))
        return refs

    assert len(refs) == 0
    assert _collected(run) == []
    assert len(refs) == 150


def test_closures_partials_and_callable_objects_keep_no_user_value_alive():
    refs = []

    class Scale:
        def __init__(self, factor):
            self.factor = factor

        def __call__(self, y):
            return np.tile(y, 1) * self.factor

    def run():
        big = _watch(refs, np.linspace(0.0, 1.0, 3))

        def f(x):
            captured = _watch(refs, x * 2.0)

            def closure(y):  # closes over a traced value and a user array
                return np.outer(y, captured)[0] * big

            helper = functools.partial(lambda a, y: np.einsum("i,i->i", a, y), big)
            scale = Scale(_watch(refs, x * 3.0))
            return np.sum(closure(x) + helper(x) + scale(x))

        g = gl.grad(f)(np.ones(3))
        expected = gl.grad(lambda x: np.sum(np.outer(x, 2 * x)[0] * big + big * x + 3 * x * x))(
            np.ones(3))
        assert np.allclose(g, expected)
        return refs

    assert _collected(run) == []
    assert len(refs) == 3


def test_no_var_survives_a_transform_over_a_model_with_helpers():
    def layer(w, h):
        return np.tanh(np.einsum("ij,jk->ik", h, w))

    def loss(w):
        acts = []
        h = np.ones((2, 3))
        for _ in range(5):
            h = layer(w, h)
            acts.append(h)
        return sum(map(np.sum, acts))

    gl.grad(loss)(np.eye(3) * 0.5)
    gc.collect()
    before = sum(isinstance(o, Var) for o in gc.get_objects())
    for _ in range(3):
        gl.grad(loss)(np.eye(3) * 0.5)
    gc.collect()
    assert sum(isinstance(o, Var) for o in gc.get_objects()) == before


# --- callbacks and recursion -----------------------------------------------------------
def _norm_key(v):
    return math.fabs(v)  # math on a traced scalar: works only in instrumented code


def _countdown(x, n):
    return x if n == 0 else np.sin(_countdown(x, n - 1))


def test_sorted_key_is_instrumented():
    def f(x):
        parts = sorted([x[0], x[1] * 2.0, x[2] - 3.0], key=_norm_key)
        return parts[0] * 1.0 + parts[1] * 10.0 + parts[2] * 100.0

    x = np.array([0.5, 1.0, 0.1])  # |values| 0.5, 2.0, 2.9: the order is x0, 2 x1, x2 - 3
    assert np.allclose(gl.grad(f)(x), [1.0, 20.0, 100.0])
    gl.check_grads(f, x, modes=["fwd", "rev"], order=1)


def test_map_of_a_user_function_and_of_a_partial_is_instrumented():
    def h(a, v):
        return math.exp(v) * a

    def f(x):
        return sum(map(functools.partial(h, 2.0), [x[0], x[1]])) + sum(map(math.sin, [x[2]]))

    x = np.array([0.1, 0.2, 0.3])
    assert np.allclose(gl.grad(f)(x), [2 * math.exp(0.1), 2 * math.exp(0.2), math.cos(0.3)])


def test_module_level_recursive_function_differentiates():
    x = np.array([0.3, -0.2])
    expected = np.cos(np.sin(np.sin(x))) * np.cos(np.sin(x)) * np.cos(x)
    assert np.allclose(gl.grad(lambda x: np.sum(_countdown(x, 3)))(x), expected)
    gl.check_grads(lambda x: np.sum(_countdown(x, 3)), x, modes=["fwd", "rev"], order=2)
