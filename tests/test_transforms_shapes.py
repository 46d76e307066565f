"""eval_shape and summary: shapes from shape rules, never from computation."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.primitive import PRIMITIVES

S = gl.ShapeDtypeStruct


@pytest.fixture
def no_impl_runs(monkeypatch):
    """Make every primitive's impl fail on real data (family dtype probes use 1-element arrays)."""

    def guard(impl):
        def checked(*args, **kwargs):
            if any(np.size(a) > 1 for a in args):
                raise AssertionError("a primitive's impl ran on data during abstract evaluation")
            return impl(*args, **kwargs)

        return checked

    for prim in list(PRIMITIVES.values()):
        monkeypatch.setattr(prim, "impl", guard(prim.impl))


def test_eval_shape_of_huge_matmul_computes_nothing(no_impl_runs):
    big = S((100_000, 100_000), np.float64)
    out = gl.eval_shape(lambda a, b: np.sum(np.tanh(a @ b.T), axis=0).reshape(1000, -1), big, big)
    assert out == S((1000, 100), np.dtype(np.float64))


def test_eval_shape_of_huge_indexing_computes_nothing(no_impl_runs):
    big = S((100_000, 100_000), np.float64)
    rows = np.array([3, 1, 4])
    out = gl.eval_shape(lambda a: (a[:, 5], a[rows, 2:6], a.at[0].set(1.0), a[..., None, 1]), big)
    assert [o.shape for o in out] == [(100_000,), (3, 4), (100_000, 100_000), (100_000, 1)]
    with pytest.raises(gl.ShapeError, match="cannot put values of shape"):
        gl.eval_shape(lambda a: a.at[rows].set(np.ones(5)), big)


def test_eval_shape_through_checkpoint_and_custom_rules(no_impl_runs):
    big = S((100_000, 100_000), np.float64)
    block = gl.checkpoint(lambda a, b: np.tanh(a @ b))
    clip = gl.custom_vjp(lambda a: a[:, :10])
    clip.defvjp(lambda a: (a[:, :10], None), lambda res, g: (None,))
    out = gl.eval_shape(lambda a, b: clip(block(a, b)).sum(axis=1), big, big)
    assert out == S((100_000,), np.dtype(np.float64))


def test_eval_shape_follows_numpy_shapes_and_dtypes():
    x32 = S((8, 3), np.dtype(np.float32))
    cases = [
        (lambda x: np.sin(x) * 2, x32, S((8, 3), np.float32)),
        (lambda x: x.T @ x, x32, S((3, 3), np.float32)),
        (lambda x: np.mean(x, axis=0, keepdims=True), x32, S((1, 3), np.float32)),
        (lambda x: np.concatenate([x, x[:2]]).reshape(2, -1), x32, S((2, 15), np.float32)),
        (lambda x: np.expand_dims(x, 1) + np.ones(3), x32, S((8, 1, 3), np.float64)),
        (lambda x: x > 0, x32, S((8, 3), np.bool_)),
    ]
    for fn, arg, expected in cases:
        out = gl.eval_shape(fn, arg)
        assert (out.shape, np.dtype(out.dtype)) == (expected.shape, np.dtype(expected.dtype))
        real = fn(np.ones(arg.shape, arg.dtype))
        assert out.shape == real.shape and out.dtype == real.dtype


def test_eval_shape_pytrees_and_transforms():
    params = {"w": S((3, 2), np.float64), "b": S((2,), np.float64)}
    x = S((5, 3), np.float64)

    def loss(p, x):
        return np.sum(np.tanh(x @ p["w"] + p["b"]) ** 2)

    out = gl.eval_shape(gl.grad(loss), params, x)
    assert out == {"w": S((3, 2), np.float64), "b": S((2,), np.float64)}
    per_example = gl.eval_shape(gl.vmap(gl.grad(loss), in_axes=(None, 0)), params, x)
    assert per_example["w"].shape == (5, 3, 2)
    assert gl.eval_shape(lambda a: (a, a.shape[0]), np.zeros((2, 2)))[1] == S((), np.int64)


def test_shape_error_names_op_shapes_and_line():
    with pytest.raises(gl.ShapeError) as info:
        gl.eval_shape(lambda a, b: a @ b, S((3, 4), np.float64), S((5, 2), np.float64))
    message = str(info.value)
    assert "matmul(float64[3,4], float64[5,2])" in message
    assert "contracted dimensions differ (4 != 5)" in message
    assert "test_transforms_shapes.py" in message and "a @ b" in message
    with pytest.raises(gl.ShapeError, match=r"(?s)add\(float64\[3\], float64\[4\]\).*:\d+"):
        gl.eval_shape(lambda a, b: a + b, S((3,), np.float64), S((4,), np.float64))


def test_eval_shape_refuses_control_flow_on_values():
    def f(x):
        if np.sum(x) > 0:
            return x
        return -x

    with pytest.raises(gl.ConcretizationError, match=r"(?s)only by its shape.*if np.sum"):
        gl.eval_shape(f, S((3,), np.float64))


def test_summary_prints_parameter_table():
    params = {"layer1": {"w": np.zeros((4, 8)), "b": np.zeros(8)}, "out": (np.zeros((8, 1)),)}

    def model(p, x):
        h = np.tanh(x @ p["layer1"]["w"] + p["layer1"]["b"])
        return h @ p["out"][0]

    printed = []
    table = gl.summary(model, params, S((32, 4), np.float64), print_fn=printed.append)
    assert printed == [table]
    lines = table.splitlines()
    assert lines[0].split() == ["parameter", "shape", "dtype", "count"]
    assert lines[1].split() == ["layer1.b", "(8,)", "float64", "8"]
    assert lines[2].split() == ["layer1.w", "(4,", "8)", "float64", "32"]
    assert lines[3].split() == ["out[0]", "(8,", "1)", "float64", "8"]
    assert lines[4].split() == ["total", "48"]
    assert lines[5] == "output: float64[32,1]"


def test_every_structural_primitive_states_its_shape_rule():
    """The family default runs ``impl`` on full-size stand-ins: fine for maps, not for these."""
    missing = sorted(name for name, prim in PRIMITIVES.items()
                     if prim.family.name not in ("elementwise", "reduction")
                     and prim.shape_rule is None)
    assert missing == [], f"declare shape=... for {missing} (eval_shape would compute them)"


DATA_DEPENDENT = {
    "boolean mask": lambda a: a[a > 0],
    "mask of a computed value": lambda a: np.sum(a[np.abs(a) > 1.0] * 2),
    "nonzero": lambda a: np.nonzero(a),
    "method nonzero": lambda a: a.nonzero(),
    "flatnonzero": lambda a: np.flatnonzero(a),
    "argwhere": lambda a: np.argwhere(a > 0),
    "extract": lambda a: np.extract(a > 0, a),
    "compress": lambda a: np.compress(a > 0, a),
    "one-argument where": lambda a: np.where(a > 0),
}


@pytest.mark.parametrize("name", sorted(DATA_DEPENDENT))
def test_data_dependent_shapes_refuse_naming_the_users_line(name):
    with pytest.raises(gl.ConcretizationError) as info:
        gl.eval_shape(DATA_DEPENDENT[name], S((5,), np.float64))
    assert "test_transforms_shapes.py" in str(info.value)
    assert "DATA_DEPENDENT" not in str(info.value)  # the lambda's own line is quoted
    assert "depend" in str(info.value)


def test_summary_refuses_a_data_dependent_shape():
    with pytest.raises(gl.ConcretizationError, match=r"(?s)boolean mask at .*x\[x > 0\]"):
        gl.summary(lambda p, x: np.sum(x[x > 0] * p["w"]), {"w": np.zeros(())}, (5,),
                   print_fn=None)


def test_shapes_that_do_not_depend_on_the_data_still_evaluate():
    mask = np.array([True, False, True, False, True])
    assert gl.eval_shape(lambda a: a[mask], S((5,), np.float64)).shape == (3,)
    assert gl.eval_shape(lambda a: a.at[a > 0].set(0.0), S((5,), np.float32)) == S(
        (5,), np.float32)
    assert gl.eval_shape(lambda a: np.where(a > 0, a, 0.0), S((5,), np.float64)).shape == (5,)
