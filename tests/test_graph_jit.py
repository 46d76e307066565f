"""gl.jit: per-signature capture, flat replay, retracing, guards and eager fallback."""

from __future__ import annotations

import doctest
import re
import warnings

import numpy as np
import pytest

import gradlab as gl
import gradlab.graph.codegen
import gradlab.graph.just_in_time


def mse(w1, w2, x, y):
    h = np.tanh(x @ w1)
    r = h @ w2 - y
    return np.mean(r * r)


def data(rng, n=8):
    return (rng.normal(size=(4, 5)), rng.normal(size=(5, 1)), rng.normal(size=(n, 4)),
            rng.normal(size=(n, 1)))


def test_jit_value_and_grad_equals_eager_and_replays_without_capturing():
    rng = np.random.default_rng(0)
    vg = gl.jit(gl.value_and_grad(mse, argnum=(0, 1)))
    for _ in range(3):
        args = data(rng)
        (v, (g1, g2)), (ve, (e1, e2)) = vg(*args), gl.value_and_grad(mse, (0, 1))(*args)
        assert np.isclose(v, ve) and np.allclose(g1, e1) and np.allclose(g2, e2)
    assert vg.cache_size() == 1
    compiled = vg.compiled()[0]
    assert compiled.report["equations_after"] < compiled.report["equations_before"]
    # The replay is straight-line numpy calls: one line per equation, nothing else.
    body = [line for line in compiled.source.splitlines() if line.startswith("    v")]
    assert len(body) == len(compiled.graph.eqns) == len(compiled.source.splitlines()) - 3


def test_jit_retraces_on_a_new_signature():
    calls = []

    def f(x):
        calls.append(1)
        return np.sum(x ** 2)

    jf = gl.jit(f)
    assert jf(np.ones(3)) == 3.0 and jf(np.ones(3) * 2) == 12.0
    assert len(calls) == 1  # captured once, replayed once
    assert jf(np.ones((2, 2))) == 4.0 and jf(np.ones(3, np.float32)) == 3.0
    assert len(calls) == 3 and jf.cache_size() == 3


def test_jit_pytree_arguments_and_static_leaves():
    jf = gl.jit(lambda p, x, how: np.sum(x @ p["w"]) if how == "sum" else np.max(x @ p["w"]))
    p, x = {"w": np.ones((3, 2))}, np.ones((4, 3))
    assert jf(p, x, "sum") == 24.0 and jf(p, x, "max") == 3.0
    assert jf.cache_size() == 2


def test_jit_falls_back_to_eager_with_one_warning_when_a_guard_fails():
    def f(x):
        if np.sum(x) > 0:
            return x * 2.0
        return x * 3.0

    jf = gl.jit(f)
    assert jf(np.ones(2)).tolist() == [2.0, 2.0]
    with pytest.warns(RuntimeWarning, match=r"(?s)another path.*if np.sum\(x\) > 0"):
        assert jf(-np.ones(2)).tolist() == [-3.0, -3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning only
        assert jf(-np.ones(2)).tolist() == [-3.0, -3.0]
        assert jf(np.ones(2)).tolist() == [2.0, 2.0]


def test_jit_of_vmap_of_grad_per_example_gradients():
    def loss(w, x, y):
        z = x @ w
        return np.log(1.0 + np.exp(z)) - y * z

    rng = np.random.default_rng(1)
    w, X, y = rng.normal(size=3), rng.normal(size=(6, 3)), rng.integers(0, 2, 6) * 1.0
    per_example = gl.jit(gl.vmap(gl.grad(loss), in_axes=(None, 0, 0)))
    want = (1 / (1 + np.exp(-X @ w)) - y)[:, None] * X
    assert np.allclose(per_example(w, X, y), want)


def test_jit_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    args = data(rng)
    g1 = gl.jit(gl.grad(mse))(*args)
    v, eps = rng.normal(size=args[0].shape), 1e-6
    fd = (mse(args[0] + eps * v, *args[1:]) - mse(args[0] - eps * v, *args[1:])) / (2 * eps)
    assert np.isclose(np.sum(g1 * v), fd, rtol=1e-6)


def _decay_loop(steps):
    """``y = y * 0.99 + sin(y)``, ``steps`` times, then summed (benchmark C's program)."""

    def loop(y):
        for _ in range(steps):
            y = y * 0.99 + np.sin(y)
        return np.sum(y)

    return loop


def test_jit_of_a_long_loop_frees_dead_values():
    loop = _decay_loop(150)
    jf = gl.jit(gl.value_and_grad(loop))
    y0 = np.linspace(-1, 1, 10_000)  # 80 kB values: large enough to be freed
    v, g = jf(y0)
    ve, ge = gl.value_and_grad(loop)(y0)
    assert np.isclose(v, ve) and np.allclose(g, ge)
    assert "del " in jf.compiled()[0].source


@pytest.mark.parametrize("module", [gradlab.graph.just_in_time, gradlab.graph.codegen])
def test_jit_docstring_examples_pass(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_weights_grad_with_jit_equals_eager_including_frozen_and_tied():
    from gradlab.ipython.weights import Weights, frozen, tied

    w = Weights({"a": np.array([1.0, 2.0]), "s": frozen(3.0), "b": tied("a")})

    def objective():
        return np.sum(w["a"] ** 2 * w["b"]) * w["s"]

    eager = w.grad(objective)
    for _ in range(2):
        jitted = w.grad(objective, jit=True)
        assert jitted["a"].tolist() == eager["a"].tolist() == [9.0, 36.0]
        assert repr(jitted["b"]) == repr(eager["b"]) and repr(jitted["s"]) == repr(eager["s"])
    assert w._compiled(objective, False, True, None).cache_size() == 1


def test_train_with_jit_takes_the_same_steps():
    def loss(p, x, y):
        return np.mean((x @ p["w"] - y) ** 2), {"norm": np.sum(p["w"] ** 2)}

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    y = x @ np.array([1.0, 2.0, 3.0])
    runs = [gl.train(loss, {"w": np.zeros(3)}, (x, y), 30, gl.optim.SGD(0.1), progress=False,
                     jit=jit) for jit in (False, True)]
    assert np.array_equal(runs[0].params["w"], runs[1].params["w"])
    assert runs[0].history["norm"] == runs[1].history["norm"]
    assert runs[1].history["loss"][-1] < 0.1 * runs[1].history["loss"][0]


def test_jit_keyword_arguments_are_inputs_not_constants():
    jf = gl.jit(lambda x, *, scale: np.sum(x * scale))
    assert jf(np.ones(2), scale=np.array(2.0)) == 4.0
    assert jf(np.ones(2), scale=np.array(5.0)) == 10.0
    assert jf.cache_size() == 1


def test_jit_returns_new_arrays_where_the_graph_returns_an_input_or_constant():
    table = np.arange(3.0)
    jf = gl.jit(lambda x: (x * 1.0, table - 0.0, x))
    x = np.ones(3)
    a, b, c = jf(x)
    a[0] = b[0] = c[0] = 99.0
    assert x.tolist() == [1.0, 1.0, 1.0] and table.tolist() == [0.0, 1.0, 2.0]
    assert [v.tolist() for v in jf(x)] == [[1.0] * 3, [0.0, 1.0, 2.0], [1.0] * 3]


def test_jit_signature_check_falls_back_for_dtypes_that_are_not_singletons():
    jf = gl.jit(lambda x: np.sum(x * 2.0))
    big_endian = np.arange(3.0).astype(">f8")
    assert jf(big_endian) == 6.0 and jf(big_endian + 1) == 12.0
    assert jf(np.arange(3.0)) == 6.0 and jf.cache_size() == 2


def test_jit_as_a_method_decorator_binds_the_instance():
    class Scaled:
        def __init__(self, k):
            self.k = k

        @gl.jit
        def apply(self, x):
            return np.sum(x * self.k)

    assert Scaled(2.0).apply(np.ones(3)) == 6.0 and Scaled(3.0).apply(np.ones(3)) == 9.0


def test_jit_instruments_the_users_call_sites():
    # np.linalg.inv converts its argument with asarray: only the call-site rewrite
    # reaches gradlab's rule, so the jitted function must be instrumented.
    f = gl.jit(lambda x: np.sum(np.linalg.inv(x) * 2.0))
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    assert np.isclose(f(a), np.sum(np.linalg.inv(a) * 2.0)) and f.cache_size() == 1
    assert np.allclose(gl.grad(f)(a), gl.grad(lambda x: np.sum(np.linalg.inv(x) * 2.0))(a))


def test_static_argnums_bind_constants_that_shape_the_program():
    def loss(x, n):  # n is a size: it cannot be a traced input of the graph
        return np.sum(x * np.random.RandomState(0).randn(n, 3))

    jitted = gl.jit(gl.value_and_grad(loss), static_argnums=1)
    for n in (2, 4, 2):
        value, grad = jitted(np.ones(3), n)
        ref_value, ref_grad = gl.value_and_grad(loss)(np.ones(3), n)
        assert value == ref_value and np.array_equal(grad, ref_grad)
    assert jitted.cache_size() == 2  # one compilation per value of n
    with pytest.raises(TypeError, match=r"static arguments \[1\] of .* must be hashable"):
        gl.jit(lambda x, n: x, static_argnums=-1)(np.ones(2), [1, 2])


def test_jit_replay_reuses_names_of_dead_values_and_shares_globals():
    # a 1000-step loop's replay rebinds a few names (freeing each small intermediate as
    # eager code does) and calls a few shared globals, not thousands of each
    loop = _decay_loop(1000)
    jf = gl.jit(gl.value_and_grad(loop))
    y0 = np.linspace(-1.0, 1.0, 10)
    v, g = jf(y0)
    ve, ge = gl.value_and_grad(loop)(y0)
    assert v == ve and np.array_equal(g, ge)
    source = jf.compiled()[0].source
    targets = {line.split(" = ")[0].strip() for line in source.splitlines()
               if line.startswith("    v")}
    # the backward pass reads every step's input, so about 1000 names stay taken
    assert 1000 <= len(targets) < 1010
    calls = set(re.findall(r"\b(f_\w+)\(", source))
    assert calls == {"f_multiply", "f_sin", "f_add", "f_cos", "f_sum"}


def test_lower_without_free_dead_names_every_value():
    from gradlab.graph.codegen import lower

    g = gl.capture(lambda x: np.sum(np.tanh(np.tanh(x)) * 2.0), np.ones(3))
    kept, freed = lower(g, free_dead=False), lower(g)
    assert len({line.split(" = ")[0] for line in kept.source.splitlines()[1:-1]}) == 4
    assert {line.split(" = ")[0] for line in freed.source.splitlines()[1:-1]} == {"    v0"}
    x = np.linspace(0.0, 1.0, 3)
    assert kept(x) == freed(x) == np.sum(np.tanh(np.tanh(x)) * 2.0)


def test_jit_frees_an_output_nothing_reads():
    # eigh's eigenvectors are computed and never read: a large one is deleted at once
    def f(a):
        w, _ = np.linalg.eigh(a)
        return np.sum(w ** 2)

    a = np.eye(100) + np.diag(np.arange(99.0), 1) * 0.01
    a = a + a.T
    jf = gl.jit(f)
    assert np.isclose(jf(a), f(a))
    assert "del " in jf.compiled()[0].source


def test_jit_output_taking_a_small_dead_operands_name_is_not_deleted():
    # the output (256 x 64, large) reuses the name of its dying small operand: the
    # operand's size, not the output's, decides whether to delete (regression: del'd)
    def f(a, big):
        return np.sin(a)[:, None] * big

    a, big = np.linspace(0.0, 1.0, 256), np.ones((256, 64))
    jf = gl.jit(f)
    assert np.array_equal(jf(a, big), f(a, big))
    assert "del " not in jf.compiled()[0].source


@pytest.mark.parametrize("seed", range(40))
def test_jit_of_random_programs_mixing_small_and_large_values(seed):
    # names reused and large values deleted across random programs: the replay agrees
    # with eager value_and_grad (values broadcast between 1 and 9000 entries, 72 kB)
    from gradlab.graph.random_dag import dag_function, random_spec

    rng = np.random.default_rng(seed)
    spec = random_spec(rng, n_inputs=3, n_ops=14, exact=False)
    f = dag_function(spec, exact=False)
    xs = [rng.normal(size=size) for size in rng.choice([1, 9000], size=3)]

    def loss(*xs):
        return np.sum(f(*xs))

    vg = gl.value_and_grad(loss, argnum=(0, 1, 2))
    (v, gs), (ve, ges) = gl.jit(vg)(*xs), vg(*xs)
    np.testing.assert_allclose(v, ve, rtol=1e-12)
    for g, ge in zip(gs, ges):
        np.testing.assert_allclose(g, ge, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jit_reused_names_through_non_ufunc_numpy_under_vmap(dtype):
    # tile, einsum and linalg.solve (parameters bound as shared globals: reps, the
    # subscripts), per example under vmap: the replay equals eager, keeps the dtype, and
    # the float64 gradient matches finite differences
    a = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 4.0]], dtype)

    def loss(w, x):
        t = np.tile(x, 2)[:3] * w
        y = np.linalg.solve(a, np.einsum("i,i->i", t, w))
        return np.sum(np.tanh(y) ** 2) + np.einsum("i,i", y, t)

    per_example = gl.vmap(gl.grad(loss), in_axes=(None, 0))
    w = np.array([0.3, -0.2, 0.5], dtype)
    xs = np.linspace(-1.0, 1.0, 8, dtype=dtype).reshape(4, 2)
    jitted = gl.jit(per_example)
    got, eager = jitted(w, xs), per_example(w, xs)
    assert got.dtype == dtype and got.shape == (4, 3)
    source = jitted.compiled()[0].source  # captured and replayed, not run eagerly
    assert "f_solve(" in source and "p_subscripts_2" in source
    np.testing.assert_allclose(got, eager, rtol=1e-6 if dtype == np.float32 else 1e-13)
    if dtype == np.float64:
        eps, v = 1e-6, np.array([0.2, -0.7, 0.4])
        fd = [(loss(w + eps * v, x) - loss(w - eps * v, x)) / (2 * eps) for x in xs]
        np.testing.assert_allclose(got @ v, fd, rtol=1e-6)
