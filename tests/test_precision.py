"""Low precision through ml_dtypes: every primitive, float32 accumulation, gradient accuracy.

The dtype table (``GRADIENT_TOLERANCES``) states how far a gradient computed in each
dtype may be from the float64 gradient at the same (rounded) input, relative to the
largest entry: a few units of the dtype's epsilon (float16 ~1e-3, bfloat16 ~8e-3,
float8_e4m3fn 0.125, float8_e5m2 0.25); the errors measured are under one epsilon
(worst: 7.8e-4, 5.9e-3, 0.11, 0.19), see docs/precision.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import gradlab as gl
from gradlab.precision.dtypes import accumulation_dtype, is_float_dtype, resolve_dtype

sys.path.insert(0, str(Path(__file__).parent))
from test_registry import PRIMITIVES, _diff_positions, _examples  # noqa: E402

LOW = ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]

# dtype -> the largest relative gradient error accepted against float64 (max |g - ref| /
# max |ref|). About four times the dtype's epsilon (2**-10, 2**-7, 2**-3, 2**-2).
GRADIENT_TOLERANCES = {"float16": 4e-3, "bfloat16": 3e-2, "float8_e4m3fn": 0.3,
                       "float8_e5m2": 0.5}

_rng = np.random.default_rng(0)
_A = _rng.normal(size=(64, 256)) / 16
_ONEHOT = np.eye(32)[_rng.integers(0, 32, 16)]
_W1, _W2 = _rng.normal(size=(8, 16)) / 3, _rng.normal(size=(16, 4)) / 4
_X = _rng.normal(size=(32, 8))
_Y = np.eye(4)[_rng.integers(0, 4, 32)]


def _mlp_loss(w1):
    d = w1.dtype
    h = np.tanh(_X.astype(d) @ w1)
    return -np.mean(np.sum(_Y.astype(d) * gl.nn.log_softmax(h @ _W2.astype(d)), axis=1))


# name -> (function of x, shape of x): each accumulates (sum, matmul, softmax, norm, mean)
FUNCTIONS = {
    "sum(tanh(x))": (lambda x: np.sum(np.tanh(x)), (256,)),
    "sum((A @ x) ** 2)": (lambda x: np.sum((_A.astype(x.dtype) @ x) ** 2), (256,)),
    "cross-entropy": (lambda x: -np.sum(_ONEHOT.astype(x.dtype) * gl.nn.log_softmax(x)),
                      (16, 32)),
    "softmax": (lambda x: np.sum(gl.nn.softmax(x, axis=0)[:8]), (64,)),
    "norm(x)": (lambda x: np.linalg.norm(x), (1024,)),
    "mean(x * x)": (lambda x: np.mean(x * x), (64,)),
    "MLP loss (W1)": (_mlp_loss, (8, 16)),
}


@pytest.mark.parametrize("dtype_name", LOW)
@pytest.mark.parametrize("fname", list(FUNCTIONS))
def test_gradient_accuracy_against_float64(dtype_name, fname):
    dtype = resolve_dtype(dtype_name)
    f, shape = FUNCTIONS[fname]
    x = (_W1 if fname.startswith("MLP") else np.random.default_rng(1).normal(size=shape))
    x = x.astype(dtype)
    g = gl.grad(f)(x)
    assert g.dtype == dtype, f"{fname}: gradient in {g.dtype}, argument in {dtype}"
    ref = gl.grad(f)(x.astype(np.float64))
    err = np.max(np.abs(g.astype(np.float64) - ref)) / np.max(np.abs(ref))
    assert err <= GRADIENT_TOLERANCES[dtype_name], f"{fname} in {dtype_name}: error {err:.4f}"


def _low_args(args, dtype):
    """Every float operand in ``dtype`` (integer operands, labels and indices, unchanged)."""
    return [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else a
            for a in args]


@pytest.mark.parametrize("dtype_name", LOW)
def test_every_primitive_runs_and_differentiates_in_low_precision(dtype_name):
    dtype = resolve_dtype(dtype_name)
    problems, checked = [], 0
    for name, prim in sorted(PRIMITIVES.items()):
        if not prim.declared_in.startswith("gradlab."):
            continue
        for k, (args, params) in enumerate(_examples(prim)):
            positions = [i for i in _diff_positions(prim, args) if not np.iscomplexobj(args[i])]
            if not positions or "dtype" in params:
                continue
            if name in ("eig", "eigvals") and "float8" in dtype_name:
                continue  # a general eigenproblem in 3 mantissa bits: its inverses overflow
            low = _low_args(args, dtype)

            def f(*xs, low=low, positions=positions, prim=prim, params=params):
                full = list(low)
                for i, x in zip(positions, xs):
                    full[i] = x
                return prim(*full, **params)

            out, back = gl.vjp(f, *[low[i] for i in positions])
            checked += 1
            out_dtype = np.result_type(out)
            # no complex bfloat16 exists: a real-to-complex op (rfft, eig) gives complex64
            if out_dtype != dtype and not (out_dtype == np.complex64
                                           and name in ("rfft", "eig", "eigvals")):
                problems.append(f"{name}-{k}: output {out_dtype}")
            for g in back(np.ones(np.shape(out), out_dtype)):
                if np.result_type(g) != dtype:
                    problems.append(f"{name}-{k}: gradient {np.result_type(g)}")
    assert checked > 250
    assert not problems, problems


def test_float_dtype_recognises_ml_dtypes_floats_not_ints():
    assert not np.issubdtype(ml_dtypes.bfloat16, np.inexact)  # why the helper exists
    assert is_float_dtype(ml_dtypes.bfloat16) and is_float_dtype(ml_dtypes.float8_e5m2)
    assert not is_float_dtype(ml_dtypes.int4) and not is_float_dtype(np.int8)
    assert accumulation_dtype(np.dtype(ml_dtypes.float8_e4m3fn)) == np.float32
    assert accumulation_dtype(np.dtype(np.float32)) is None


def test_grad_accepts_bfloat16_and_rejects_int4_by_name():
    g = gl.grad(lambda x: np.sum(x * x))(np.array([1.5, -2.0], ml_dtypes.bfloat16))
    assert g.dtype == ml_dtypes.bfloat16 and g.tolist() == [3.0, -4.0]
    with pytest.raises(TypeError, match="grad requires float .* input leaf 0 has dtype int4"):
        gl.grad(lambda x: np.sum(x))(np.ones(2, ml_dtypes.int4))


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_sum_accumulates_in_float32(dtype_name):
    x = np.full(4096, 0.01, resolve_dtype(dtype_name))
    exact = 4096 * float(x[0])
    assert abs(float(np.add.reduce(x)) - exact) > 0.05 * exact or dtype_name == "float16"
    assert abs(float(gl.ops.reduce.sum(x)) - exact) <= 0.01 * exact
    # traced too: the sum inside a gradient is the same primitive
    v, g = gl.value_and_grad(lambda y: np.sum(y))(x)
    assert abs(float(v) - exact) <= 0.01 * exact and g.dtype == x.dtype


def test_bfloat16_running_sum_is_what_numpy_loses():
    x = np.full(4096, 0.01, ml_dtypes.bfloat16)
    assert float(np.sum(x)) == 4.0  # numpy + ml_dtypes: the running sum stalls at 4
    assert float(gl.grad(lambda y: np.sum(y) ** 2)(x)[0]) == pytest.approx(82.0, rel=0.01)


def test_float16_einsum_accumulates_in_float32():
    a = np.full((2, 4096), 0.01, np.float16)
    b = np.ones((4096, 3), np.float16)
    exact = 4096 * float(a[0, 0])
    assert float(np.einsum("ij,jk->ik", a, b)[0, 0]) == 32.0  # numpy's float16 running sum
    e = gl.ops.contract.einsum_p(a, b, subscripts="ij,jk->ik")
    assert e.dtype == np.float16 and float(e[1, 2]) == pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize("dtype_name", LOW)
def test_matmul_keeps_the_low_precision_dtype_and_sums_in_float32(dtype_name):
    dtype = resolve_dtype(dtype_name)
    a, b = np.full((2, 4096), 0.01, dtype), np.ones((4096, 3), dtype)
    exact = np.float32(4096 * float(a[0, 0])).astype(dtype)
    out = gl.ops.linalg.matmul(a, b)  # ml_dtypes' own matmul returns float32
    assert out.dtype == dtype and out[0, 0] == exact
    ga, gb = gl.grad(lambda x, y: np.sum(x @ y), argnum=(0, 1))(a, b)
    assert ga.dtype == gb.dtype == dtype and float(ga[0, 0]) == 3.0


@pytest.mark.parametrize("dtype_name", ["bfloat16", "float8_e5m2"])
def test_softmax_logsumexp_norm_compute_in_float32(dtype_name):
    dtype = resolve_dtype(dtype_name)
    x = np.zeros(4096, dtype)
    p = gl.nn.softmax(x)
    assert p.dtype == dtype and float(np.sum(p.astype(np.float64))) == pytest.approx(1, rel=0.02)
    rel = float(gl.precision.dtypes.finfo(dtype).eps)  # one rounding of the result
    assert float(gl.nn.logsumexp(x)) == pytest.approx(np.log(4096), rel=rel)
    ones = np.ones(4096, dtype)
    assert float(np.linalg.norm(ones)) == 64.0
    g = gl.grad(lambda y: np.linalg.norm(y))(ones)
    assert g.dtype == dtype and float(g[0]) == pytest.approx(1 / 64, rel=rel)


def test_float64_results_are_unchanged_by_the_low_precision_paths():
    rng = np.random.default_rng(3)
    x, a = rng.normal(size=(5, 7)), rng.normal(size=(7, 3))
    assert gl.ops.reduce.sum(x, axis=1).tolist() == np.add.reduce(x, axis=1).tolist()
    assert gl.ops.linalg.matmul(x, a).tolist() == np.matmul(x, a).tolist()
    assert gl.ops.linalg.matmul(x, a).dtype == np.float64


def test_linalg_in_bfloat16_computes_in_float32_and_rounds_back():
    a = (np.eye(3) * 2 + 0.1).astype(ml_dtypes.bfloat16)
    inv = np.linalg.inv(a.astype(np.float32)).astype(ml_dtypes.bfloat16)
    out = gl.ops.linalg_solve.inv_p(a)
    assert out.dtype == ml_dtypes.bfloat16 and out.tolist() == inv.tolist()
    g = gl.grad(lambda m: np.sum(np.linalg.inv(m)))(a)
    ref = gl.grad(lambda m: np.sum(np.linalg.inv(m)))(a.astype(np.float64))
    assert g.dtype == ml_dtypes.bfloat16
    np.testing.assert_allclose(g.astype(np.float64), ref, atol=3e-2 * np.abs(ref).max())


# --- mixed precision: policies and loss scaling ------------------------------------


def test_policy_wraps_a_loss_in_compute_dtype_and_returns_output_dtype():
    seen = []

    def loss(w, x, labels):
        seen.append((w.dtype, x.dtype, labels.dtype))
        return np.sum((x @ w) ** 2)

    pol = gl.precision.policy(compute="bfloat16", params="float32", output="float32")
    w = pol.cast_to_params(np.ones(3))
    value, g = gl.value_and_grad(pol.wrap(loss))(w, np.eye(3), np.arange(3))
    assert seen[-1] == (np.dtype(ml_dtypes.bfloat16), np.dtype(ml_dtypes.bfloat16),
                        np.arange(3).dtype)  # integer labels are left alone
    assert value.dtype == np.float32 and float(value) == 3.0
    assert g.dtype == np.float32 and g.tolist() == [2.0, 2.0, 2.0]
    assert repr(pol) == "Policy(compute='bfloat16', params='float32', output='float32')"


def test_policy_context_is_current_and_nests():
    outer = gl.precision.policy(compute="float16")
    assert gl.precision.current_policy() is None
    with outer:
        with gl.precision.policy(compute="bfloat16") as inner:
            assert gl.precision.current_policy() is inner
        assert gl.precision.current_policy() is outer
    assert gl.precision.current_policy() is None


def test_policy_rejects_a_non_float_dtype_by_role():
    with pytest.raises(TypeError, match=r"policy: compute=int8 is not a real float dtype"):
        gl.precision.policy(compute="int8")


def test_loss_scaler_halves_on_overflow_and_grows_after_an_interval():
    scaler = gl.precision.LossScaler(init_scale=8.0, growth_interval=2, min_scale=1.0)
    assert scaler.update({"w": np.array([np.nan, 1.0], np.float32)}) is False
    assert (scaler.scale, scaler.skipped) == (4.0, 1)
    assert scaler.update({"w": np.ones(2)}) and scaler.scale == 4.0
    assert scaler.update({"w": np.ones(2)}) and scaler.scale == 8.0  # two good steps: grow
    assert scaler.update(np.array([np.inf], ml_dtypes.bfloat16)) is False
    assert scaler.state_dict() == {"scale": 4.0, "good_steps": 0, "skipped": 2}
    with pytest.raises(ValueError, match="growth_factor > 1"):
        gl.precision.LossScaler(growth_factor=0.5)


def test_loss_scaling_keeps_small_float16_gradients_from_underflowing():
    pol = gl.precision.policy(compute="float16", params="float32")
    x = np.full(8, 1e-4, np.float32)
    # d/dy = 2e-4 * y = 2e-8: below float16's smallest subnormal (6e-8) in the backward pass
    loss = pol.wrap(lambda y: 1e-4 * np.sum(y * y))
    assert not gl.grad(loss)(x).any()
    scaler = gl.precision.LossScaler(init_scale=2.0 ** 12)
    g = scaler.unscale(gl.grad(lambda y: scaler.scale_loss(loss(y)))(x))
    assert g.dtype == np.float32 and g == pytest.approx(2e-8, rel=0.01)


def test_train_skips_overflowing_steps_and_records_them_in_history():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5], np.float32)

    def loss(p, X, y):
        return np.mean((X @ p["w"] - y) ** 2)

    pol = gl.precision.policy(compute="bfloat16", params="float32", output="float32")
    scaler = gl.precision.LossScaler(init_scale=2.0 ** 140, growth_interval=1000)
    result = gl.train(loss, {"w": np.zeros(3)}, (X, y), steps=200,
                      optimizer=gl.optim.Adam(0.05), progress=False, precision=pol,
                      loss_scale=scaler)
    skipped = result.history["skipped"]
    # 2**140 overflows bfloat16's backward pass (max ~3e38 = 2**128) until halved enough
    assert skipped[:4] == [1.0] * 4 and sum(skipped) == scaler.skipped >= 4
    assert skipped[-1] == 0.0 and result.history["loss_scale"][0] == 2.0 ** 140
    assert result.params["w"].dtype == np.float32 and result.stopped_early is None
    assert result.opt_state["step"] == 200 - scaler.skipped  # skipped steps do not update
    np.testing.assert_allclose(result.params["w"], [1.0, -2.0, 0.5], atol=0.05)


def test_train_uses_the_policy_of_an_enclosing_context():
    dtypes = []

    def loss(p, x):
        dtypes.append(p["w"].dtype)
        return np.sum((p["w"] - x) ** 2)

    with gl.precision.policy(compute="float16", params="float32"):
        result = gl.train(loss, {"w": np.zeros(2)}, (np.ones(2),), steps=3,
                          optimizer=gl.optim.SGD(0.1), progress=False)
    assert set(dtypes) == {np.dtype(np.float16)}
    assert result.params["w"].dtype == np.float32


@pytest.mark.slow
def test_digits_mlp_in_bfloat16_is_within_one_point_of_float32():
    from gradlab.examples import mlp_bf16

    metrics = mlp_bf16.train(quick=True)
    assert metrics["test_acc"] > 0.9
    assert abs(metrics["test_acc"] - metrics["float32_acc"]) <= 0.01
