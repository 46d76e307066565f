"""gradlab.backends: every translated primitive against gradlab (values and VJPs), whole
functions through torch and jax (values and gradients to 1e-10 in float64, jax.jit),
ONNX / TorchScript / nn.Module export, backend= in training, and the coverage table."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradlab as gl
import gradlab.nn  # noqa: F401  (their primitives are translated too)
import gradlab.random  # noqa: F401
from gradlab.core.primitive import PRIMITIVES
from gradlab.intercept.lazy_rules import load_all

load_all()  # numpy.fft's and SciPy's primitives are declared on first use otherwise

torch = pytest.importorskip("torch", reason="torch is not installed: pip install 'gradlab[torch]'")
jax = pytest.importorskip("jax", reason="jax is not installed: pip install 'gradlab[jax]'")
from gradlab.backends import jax_rules, torch_rules  # noqa: E402
from gradlab.backends.translate import MissingTranslationError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TABLES = {"torch": torch_rules, "jax": jax_rules}


def _examples(prim):
    rng = np.random.default_rng(0)
    source = prim.examples(rng) if prim.examples is not None else prim.family.examples(prim, rng)
    return list(source)


CASES = [pytest.param(b, name, k, id=f"{b}-{name}-{k}")
         for b, table in TABLES.items() for name in sorted(table.RULES) if name in PRIMITIVES
         for k in range(len(_examples(PRIMITIVES[name])))]
# Decompositions whose factors are unique only up to signs: compared through products.
GAUGE = {"eigh", "qr", "svd"}
# Functions of a symmetric matrix that read one triangle: gradlab's cotangent lives on that
# triangle, torch's and jax's are symmetrised. Both give the same derivative along every
# symmetric direction, so they are compared through their symmetric parts.
SYMMETRIC_INPUT = {"cholesky", "eigh", "eigvalsh"}


def _leaves(x):
    return list(x) if isinstance(x, tuple) else [x]


def _gauge_free(name, outs, args):
    """Sign-independent views of the packed factors (ops/linalg_decomp.py's layout)."""
    (p,) = outs
    if name == "eigh":
        w, v = p[..., 0, :], p[..., 1:, :]
        return [w, (v * w[..., None, :]) @ np.swapaxes(v, -1, -2)]
    if name == "qr":
        m = np.shape(args[0])[-2]
        q, r = p[..., :m, :], np.swapaxes(p[..., m:, :], -1, -2)
        return [q @ r, np.abs(np.diagonal(r, axis1=-2, axis2=-1))]
    m = np.shape(args[0])[-2]
    u, s, v = p[..., :m, :], p[..., m, :], p[..., m + 1:, :]
    return [s, (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)]


def _run(backend, name, args, params):
    table = TABLES[backend]
    native = [table.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    return table.RULES[name](*native, **params)


@pytest.mark.parametrize("backend,name,k", CASES)
def test_translated_primitive_matches_gradlab_value_and_vjp(backend, name, k):
    prim = PRIMITIVES[name]
    args, params = _examples(prim)[k]
    ref = prim(*args, **params)
    got = _run(backend, name, args, params)
    table = TABLES[backend]
    got = [np.asarray(table.to_numpy(g)) for g in _leaves(got)]
    ref = [np.asarray(r) for r in _leaves(ref)]
    if name in GAUGE:
        got, ref = _gauge_free(name, got, args), _gauge_free(name, ref, args)
    for g, r in zip(got, ref, strict=True):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10, equal_nan=True)
    positions = [i for i, a in enumerate(args)
                 if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    if not prim.differentiable or not positions or any(r.dtype.kind != "f" for r in ref) \
            or name in GAUGE:
        return
    rng = np.random.default_rng(1)
    cts = [rng.normal(size=r.shape) for r in ref]

    def f(*xs):
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        return prim(*full, **params)

    xs = [args[i] for i in positions]
    _, vjp_fn = gl.vjp(f, *xs)
    expected = vjp_fn(tuple(cts) if len(cts) > 1 else cts[0])
    actual = _backend_vjp(backend, name, args, params, positions, cts)
    for e, a in zip(expected, actual):
        if name in SYMMETRIC_INPUT:
            e, a = (e + np.swapaxes(e, -1, -2)) / 2, (a + np.swapaxes(a, -1, -2)) / 2
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10)


def _backend_vjp(backend, name, args, params, positions, cts):
    rule = TABLES[backend].RULES[name]
    if backend == "torch":
        native = [torch.as_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        wrt = [native[i].requires_grad_(True) for i in positions]
        outs = _leaves(rule(*native, **params))
        grads = torch.autograd.grad(outs, wrt, [torch.as_tensor(c) for c in cts],
                                    allow_unused=True)
        return [np.zeros(args[i].shape) if g is None else g.numpy()
                for i, g in zip(positions, grads)]

    def f(*xs):
        full = [jax.numpy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        for i, x in zip(positions, xs):
            full[i] = x
        return rule(*full, **params)

    out, pullback = jax.vjp(f, *[args[i] for i in positions])
    ct = tuple(cts) if isinstance(out, tuple) else cts[0]
    return [np.asarray(g) for g in pullback(ct)]


def mlp(params, X):
    h = np.tanh(X @ params["W1"] + params["b1"])
    return np.sum(np.logaddexp(0.0, h @ params["w2"]) ** 2) / len(X)


def mlp_problem():
    rng = np.random.default_rng(0)
    return ({"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5),
             "w2": rng.normal(size=5)}, rng.normal(size=(6, 4)))


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_whole_function_values_and_gradients_match_gradlab(backend):
    params, X = mlp_problem()
    value, grad = gl.value_and_grad(mlp)(params, X)
    vg = gl.backends.value_and_grad(mlp, backend)
    v2, g2 = vg(params, X)
    np.testing.assert_allclose(v2, value, rtol=1e-10, atol=0)
    for k in params:
        np.testing.assert_allclose(g2[k], grad[k], rtol=1e-10, atol=1e-12)
    again = vg({k: v * 2 for k, v in params.items()}, X)  # the cached translation, new values
    np.testing.assert_allclose(again[0], mlp({k: v * 2 for k, v in params.items()}, X),
                               rtol=1e-10)


def test_jax_translation_is_jit_compatible():
    params, X = mlp_problem()
    f_jax = gl.compile_to(mlp, "jax", params, X)
    g = jax.jit(jax.grad(f_jax))(params, X)
    expected = gl.grad(mlp)(params, X)
    np.testing.assert_allclose(np.asarray(g["W1"]), expected["W1"], rtol=1e-10)


def test_missing_translation_names_the_primitive():
    f = lambda x: np.sum(np.argpartition(x, 2) * x)  # noqa: E731
    with pytest.raises(MissingTranslationError, match="torch backend has no translation for "
                                                      "argpartition"):
        gl.compile_to(f, "torch", np.arange(5.0))
    with pytest.raises(ValueError, match="unknown backend 'tf'"):
        gl.compile_to(lambda x: x * 2, "tf", np.ones(2))


def test_torch_module_holds_the_weights_and_matches_gradlab():
    params, X = mlp_problem()
    module = gl.to_torch_module(mlp, params)
    assert sorted(n for n, _ in module.named_parameters()) == ["W1", "b1", "w2"]
    out = module(torch.as_tensor(X))
    np.testing.assert_allclose(out.item(), mlp(params, X), rtol=1e-12)
    out.backward()
    np.testing.assert_allclose(module.W1.grad.numpy(), gl.grad(mlp)(params, X)["W1"],
                               rtol=1e-10)
    assert np.array_equal(module.params["b1"].detach().numpy(), params["b1"])


def test_onnx_and_torchscript_files_reproduce_gradlab(tmp_path):
    params, X = mlp_problem()
    path = gl.export_onnx(mlp, tmp_path / "mlp.onnx", params, X)  # check=True compares
    (value,) = gl.backends.run_onnx(path, params["W1"], params["b1"], params["w2"], X * 0.5)
    np.testing.assert_allclose(value, mlp(params, X * 0.5), rtol=1e-10)
    script = gl.export_torchscript(mlp, tmp_path / "mlp.pt", params, X)
    (out,) = script(*(torch.as_tensor(a) for a in (params["W1"], params["b1"], params["w2"], X)))
    np.testing.assert_allclose(out.item(), mlp(params, X), rtol=1e-12)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_train_with_a_backend_follows_gradlab_training(backend):
    params, X = mlp_problem()
    loss = lambda p, X: mlp(p, X)  # noqa: E731
    ref = gl.train(loss, params, (X,), 5, gl.optim.Adam(0.05), progress=False)
    got = gl.train(loss, params, (X,), 5, gl.optim.Adam(0.05), progress=False, backend=backend)
    for k in params:
        np.testing.assert_allclose(got.params[k], ref.params[k], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.history["loss"], ref.history["loss"], rtol=1e-10)


@pytest.mark.slow
def test_digits_models_exported_keep_their_test_accuracy(tmp_path):
    pytest.importorskip("sklearn")
    from gradlab.examples import cnn
    from gradlab.examples import mlp as mlp_example
    from gradlab.examples.common import accuracy, load_digits_split

    split = load_digits_split()
    for module, params in ((mlp_example, mlp_example.init_params(
            np.random.default_rng(2), 64, 64, 10)), (cnn, cnn.init_params(gl.random.key(0)))):
        trained = gl.train(module.loss, params,
                           (split.X_train[:256], split.Y_train[:256]), 30,
                           gl.optim.Adam(0.01), progress=False).params
        X = split.X_test
        expected = accuracy(module.predict(trained, X), split.y_test)
        assert expected > 0.5
        onnx_path = gl.export_onnx(module.predict, tmp_path / f"{module.NAME}.onnx", trained, X)
        leaves = gl.tree_leaves(trained)
        (logits,) = gl.backends.run_onnx(onnx_path, *leaves, X)
        assert accuracy(logits, split.y_test) == expected
        torch_module = gl.to_torch_module(module.predict, trained)
        logits = torch_module(torch.as_tensor(X)).detach().numpy()
        assert accuracy(logits, split.y_test) == expected


def test_coverage_doc_is_current():
    script = ROOT / "scripts" / "gen_backends_doc.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_table_entry_is_a_declared_primitive():
    for name, table in TABLES.items():
        unknown = sorted(set(table.RULES) - set(PRIMITIVES))
        if importlib.util.find_spec("scipy") is None:
            continue
        assert not unknown, f"{name} translates primitives that do not exist: {unknown}"
