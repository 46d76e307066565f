"""Devices: array-module dispatch, placement of pytrees, errors that name the op.

Two device back ends run the same tests. ``fake`` (tests/helpers/fake_device.py) is a
non-numpy array type that obeys CuPy's rules (no implicit conversion to numpy, no
numpy arrays mixed in), so the dispatch mechanism is really exercised on any machine.
``cupy`` runs where CuPy and a GPU are present and is skipped, with the reason,
elsewhere.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import gradlab as gl
import gradlab.scipy  # noqa: F401  (its primitives are part of the sweep)
from gradlab.devices import DeviceError, DeviceUnavailableError, get_array_module

sys.path.insert(0, str(Path(__file__).parent))
from test_registry import PRIMITIVES, _diff_positions, _examples  # noqa: E402

from helpers.fake_device import FakeArray, fakecupy  # noqa: E402

gl.devices.register_device("fake", fakecupy, FakeArray, fakecupy.asarray, fakecupy.asnumpy)


def _cupy_reason():
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed (pip install 'gradlab[cupy]')"
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "CuPy found no GPU"
    except Exception as exc:  # no driver, no device
        return f"CuPy cannot use a GPU here: {exc}"
    return None


CUPY_REASON = _cupy_reason()
DEVICES = ["fake", pytest.param("cupy", marks=pytest.mark.skipif(
    CUPY_REASON is not None, reason=str(CUPY_REASON)))]

# Primitives whose impl has no path for the fake module: SciPy code that converts to numpy
# eigh/eigvalsh (the fake declines them, to test the error), random keys and the Monte-Carlo
# samples of soft.perturbed (host-side noise).
FAKE_NO_PATH = {"convolve", "eigh", "eigvalsh", "normal_cdf", "polygamma", "random_per_key",
                "perturbed", "perturbed_solver_samples"}


def _array_type(name):
    return gl.devices.device_spec(name).array_type


def _to_host(tree):
    return gl.to_device(tree, "cpu")


def test_get_array_module_of_numpy_values_and_scalars_is_numpy():
    assert get_array_module(np.ones(2), 1.0, np.float32(2)) is np
    assert get_array_module(np.ones(2, ml_dtypes.bfloat16)) is np
    assert get_array_module() is np


def test_get_array_module_finds_the_device_module_through_tracers():
    x = fakecupy.asarray(np.array([1.0, 2.0]))
    assert get_array_module(np.ones(2), x) is fakecupy
    seen = []

    def f(y):
        seen.append(get_array_module(y))
        return np.sum(y * y)

    g = gl.grad(f)(x)
    assert seen == [fakecupy] and type(g) is FakeArray and g.tolist() == [2.0, 4.0]


def test_get_array_module_uses_the_array_api_namespace():
    class Namespaced:
        shape = (2,)

        def __array_namespace__(self, api_version=None):
            return fakecupy

    assert get_array_module(Namespaced()) is fakecupy


@pytest.mark.parametrize("device", DEVICES)
def test_every_primitive_on_device_arrays_matches_numpy_or_names_itself(device):
    array_type, no_path, checked = _array_type(device), set(), 0
    for name, prim in sorted(PRIMITIVES.items()):
        if not prim.declared_in.startswith("gradlab."):
            continue
        for args, params in _examples(prim):
            if not all(isinstance(a, np.ndarray) for a in args):
                continue  # Python and numpy scalars stay on the host by design
            on_dev = gl.to_device(list(args), device)
            try:
                out = prim(*on_dev, **params)
            except DeviceError as exc:
                assert str(exc).startswith(f"{name}("), str(exc)
                no_path.add(name)
                continue
            ref = prim(*args, **params)
            for got, want in zip(gl.tree_leaves(out), gl.tree_leaves(ref)):
                assert type(got) is array_type, f"{name}: {type(got).__name__} result"
                np.testing.assert_allclose(_to_host(got), want, rtol=1e-6, atol=1e-9,
                                           err_msg=name)
            positions = _diff_positions(prim, args)
            if positions:
                checked += _check_vjp_on_device(name, prim, args, on_dev, params, positions,
                                                device)
    assert checked > 300
    if device == "fake":
        # SciPy's special functions convert to numpy, so every SciPy-backed primitive
        # names itself; of the rest, exactly FAKE_NO_PATH
        scipy_backed = {n for n in no_path if PRIMITIVES[n].declared_in.startswith(
            "gradlab.scipy.")}
        assert no_path - scipy_backed == FAKE_NO_PATH - {"convolve", "polygamma"}
        assert {"convolve", "polygamma"} <= scipy_backed


def _check_vjp_on_device(name, prim, args, on_dev, params, positions, device):
    def closure(values):
        def f(*xs):
            full = list(values)
            for i, x in zip(positions, xs):
                full[i] = x
            return prim(*full, **params)
        return f

    try:
        out, back = gl.vjp(closure(on_dev), *[on_dev[i] for i in positions])
    except DeviceError as exc:  # a rule met an op without a path: it says which
        assert "(" in str(exc)
        return 0
    ref_out, ref_back = gl.vjp(closure(args), *[args[i] for i in positions])
    ones = gl.tree_map(lambda o: np.ones(np.shape(o), np.result_type(o)), ref_out)
    try:
        got = back(gl.to_device(ones, device))
    except DeviceError as exc:  # a rule uses an op without a path (digamma's polygamma)
        assert "has no" in str(exc) or "different devices" in str(exc)
        return 0
    want = ref_back(ones)
    for g, w in zip(got, want):
        assert type(g) is _array_type(device), f"{name}: cotangent {type(g).__name__}"
        np.testing.assert_allclose(_to_host(g), w, rtol=1e-6, atol=1e-9, err_msg=name)
    return 1


def test_mixing_host_and_device_arrays_names_the_op_and_both_devices():
    w = gl.to_device(np.ones((3, 2)), "fake")
    x = np.ones((4, 3))  # left on the host by mistake
    with pytest.raises(DeviceError, match=r"matmul\(numpy float64\[4,3\], helpers float64"
                                          r"\[3,2\]\): its operands live on different devices"):
        gl.grad(lambda w: np.sum(np.tanh(x @ w)))(w)


def test_a_primitive_without_a_device_path_says_so_without_any_transform():
    x = gl.to_device(np.eye(2), "fake")
    with pytest.raises(DeviceError, match=r"^eigvalsh\(helpers float64\[2,2\]\) has no "
                                          r"helpers path: .*numpy.linalg.eigvalsh"):
        gl.ops.linalg_decomp.eigvalsh_p(x)
    assert isinstance(DeviceError("x"), TypeError)  # what code catching TypeError expects


def test_to_device_moves_leaves_and_respects_placements():
    tree = {"w": np.ones(2), "lut": gl.on_cpu[np.arange(3)], "n": 3,
            "b": gl.on_device(np.zeros(1), "fake")}
    moved = gl.to_device(tree, "fake")
    assert type(moved["w"]) is FakeArray and type(moved["b"]) is FakeArray
    assert type(moved["lut"]) is np.ndarray and moved["n"] == 3
    back = gl.to_device(moved, "cpu")
    assert type(back["w"]) is np.ndarray and back["w"].tolist() == [1.0, 1.0]
    assert repr(gl.on_cpu) == "on_cpu"


def test_device_context_is_the_default_and_decorator_moves_arguments():
    with gl.device("fake") as dev:
        assert gl.devices.current_device() == "fake" and repr(dev) == "device('fake')"
        assert type(gl.to_device(np.ones(2))) is FakeArray
    assert gl.devices.current_device() is None

    def loss(w, x):
        assert type(x) is FakeArray and get_array_module(w) is fakecupy
        return np.sum((x @ w) ** 2)

    g = gl.device("fake")(gl.grad(loss))(np.ones(2), np.eye(2))
    assert type(g) is FakeArray and g.tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match=r"to_device\('fake'\) got a traced value: move arrays "
                                        r"to the device before the transform"):
        gl.grad(gl.device("fake")(loss))(np.ones(2), np.eye(2))


def test_unknown_and_unavailable_devices_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"unknown device 'tpu'; known: \['cpu', 'cupy'"):
        gl.device("tpu")
    if CUPY_REASON is not None and importlib.util.find_spec("cupy") is None:
        with pytest.raises(DeviceUnavailableError, match=r"device 'cupy' needs CuPy .* "
                                                         r"pip install 'gradlab\[cupy\]'"):
            gl.device("cupy")


def _mlp_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5))
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    params = {"W1": rng.normal(size=(5, 8)) / 3, "b1": np.zeros(8),
              "W2": rng.normal(size=(8, 2)) / 3, "b2": np.zeros(2)}

    def loss(p, X, y):
        h = gl.nn.relu(X @ p["W1"] + p["b1"])
        return gl.nn.cross_entropy(h @ p["W2"] + p["b2"], y)

    return loss, params, (X, y)


@pytest.mark.parametrize("device", DEVICES)
def test_train_on_a_device_matches_the_cpu_run(device):
    loss, params, data = _mlp_problem()
    cpu = gl.train(loss, params, data, steps=40, optimizer=gl.optim.Adam(0.05), progress=False)
    dev = gl.train(loss, params, data, steps=40, optimizer=gl.optim.Adam(0.05), progress=False,
                   device=device)
    assert {type(v) for v in dev.params.values()} == {_array_type(device)}
    assert dev.history["loss"][-1] < 0.5 * dev.history["loss"][0]
    for k in params:
        np.testing.assert_allclose(_to_host(dev.params[k]), cpu.params[k], rtol=1e-5, atol=1e-7)


def test_train_in_bfloat16_compute_on_a_device():
    loss, params, data = _mlp_problem()
    pol = gl.precision.policy(compute="bfloat16", params="float32", output="float32")
    with gl.device("fake"):
        result = gl.train(loss, params, data, steps=40, optimizer=gl.optim.Adam(0.05),
                          progress=False, precision=pol, loss_scale=gl.precision.LossScaler())
    assert {(type(v), v.dtype) for v in result.params.values()} == {(FakeArray,
                                                                       np.dtype(np.float32))}
    assert result.history["loss"][-1] < 0.5 * result.history["loss"][0]


@pytest.mark.parametrize("device", DEVICES)
def test_higher_order_and_vmap_on_device_arrays(device):
    x = gl.to_device(np.array([0.5, -1.0, 2.0]), device)
    h = gl.hessian(lambda v: np.sum(np.sin(v) * v))(x)
    want = np.diag(2 * np.cos([0.5, -1.0, 2.0]) - np.array([0.5, -1.0, 2.0]) *
                   np.sin([0.5, -1.0, 2.0]))
    np.testing.assert_allclose(_to_host(h), want, atol=1e-12)
    per_row = gl.vmap(gl.grad(lambda r: np.sum(r ** 3)))(gl.to_device(np.ones((2, 3)), device))
    assert type(per_row) is _array_type(device) and _to_host(per_row).tolist() == [[3.0] * 3] * 2
