"""vmap: vectorised batching against explicit Python loops, axes specs, composition, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab.ops.families import Structural
from gradlab.transforms.batching import BatchTracer

RNG = np.random.default_rng(0)
XS = RNG.normal(size=(4, 3))
W = RNG.normal(size=(3, 5))


def loop(f, *args, in_axes=0):
    """The reference: ``f`` applied example by example, stacked on axis 0."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    size = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    outs = [f(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes)])
            for i in range(size)]
    return np.stack(outs)


def mlp(x, w):
    return np.sum(np.tanh(x @ w) ** 2) + np.max(x) * np.mean(w)


@pytest.mark.parametrize("f", [
    lambda x: np.sin(x) * 2.0 + x ** 2,
    lambda x: np.sum(x, axis=0, keepdims=True) / (1.0 + np.exp(x)),
    lambda x: np.tanh(x @ W),
    lambda x: np.max(x) - np.min(x) + np.prod(x),
    lambda x: np.where(x > 0, x, 0.1 * x),
    lambda x: np.concatenate([x, 2 * x]).reshape(2, 3).T,
    lambda x: x[:, None] * x[None, :],
    lambda x: np.stack([x, x ** 2], axis=1).sum(axis=-1),
], ids=["map", "reduce-broadcast", "matmul", "extrema", "where", "shape", "outer", "stack"])
def test_vmap_matches_python_loop(f):
    np.testing.assert_allclose(gl.vmap(f)(XS), loop(f, XS), rtol=1e-12, atol=1e-12)


def test_vmap_tracer_shape_is_per_example():
    seen = []

    def f(x):
        seen.append((type(x), x.shape, x.ndim, x.dtype, len(x)))
        return x

    gl.vmap(f, in_axes=1)(np.zeros((2, 7, 3), np.float32))
    assert seen == [(BatchTracer, (2, 3), 2, np.float32, 2)]


def test_vmap_in_axes_none_negative_and_pytrees():
    b = RNG.normal(size=(5,))
    out = gl.vmap(lambda x, w, b: x @ w + b, in_axes=(-1, None, None))(XS.T, W, b)
    np.testing.assert_allclose(out, XS @ W + b, rtol=1e-12)
    params = {"w": W, "b": (b,)}
    batch = {"x": XS, "scale": np.arange(4.0)}
    out = gl.vmap(lambda p, d: d["scale"] * (d["x"] @ p["w"] + p["b"][0]),
                  in_axes=(None, {"x": 0, "scale": 0}))(params, batch)
    np.testing.assert_allclose(out, np.arange(4.0)[:, None] * (XS @ W + b), rtol=1e-12)


def test_vmap_out_axes_tuple_negative_and_none():
    f = gl.vmap(lambda x: (x * 2.0, np.sum(W)), out_axes=(-1, None))
    doubled, const = f(XS)
    np.testing.assert_allclose(doubled, 2.0 * XS.T)
    assert const == pytest.approx(np.sum(W))


def test_vmap_unbatched_output_is_broadcast_and_axis_size():
    out = gl.vmap(lambda x, y: y * 3.0, in_axes=(0, None))(XS, np.ones(2))
    np.testing.assert_array_equal(out, np.full((4, 2), 3.0))
    out = gl.vmap(lambda c: c + 1.0, in_axes=None, axis_size=3)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(out, [[2.0, 3.0]] * 3)


def test_vmap_nested_with_closed_over_batched_value():
    a, b = RNG.normal(size=(3,)), RNG.normal(size=(5, 2))
    out = gl.vmap(lambda x: gl.vmap(lambda y: x * np.sin(y) + y @ y)(b))(a)
    ref = np.array([[x * np.sin(y) + y @ y for y in b] for x in a])
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    # vmap of vmap over two axes of one array
    np.testing.assert_allclose(gl.vmap(gl.vmap(lambda v: v ** 3))(XS), XS ** 3)
    inner_over_cols = gl.vmap(gl.vmap(lambda v: v * 2.0), in_axes=1, out_axes=1)
    np.testing.assert_allclose(inner_over_cols(XS), 2 * XS)


def test_vmap_of_grad_is_per_example_gradient():
    ys = RNG.normal(size=(4,))

    def loss(w, x, y):
        return (np.tanh(x @ w) - y) ** 2

    w = RNG.normal(size=(3,))
    per_example = gl.vmap(gl.grad(loss), in_axes=(None, 0, 0))(w, XS, ys)
    ref = np.stack([gl.grad(loss)(w, x, y) for x, y in zip(XS, ys)])
    np.testing.assert_allclose(per_example, ref, rtol=1e-12)
    wrt_x = gl.vmap(gl.grad(loss, argnum=1), in_axes=(None, 0, 0))(w, XS, ys)
    np.testing.assert_allclose(wrt_x, np.stack([gl.grad(loss, 1)(w, x, y)
                                                for x, y in zip(XS, ys)]), rtol=1e-12)
    assert not np.allclose(wrt_x, per_example)


def test_grad_of_vmap_matches_finite_differences():
    def total(w):
        return np.sum(gl.vmap(lambda x: np.sin(x @ w) * np.sum(x))(XS))

    w = RNG.normal(size=(3,))
    expected = np.sum(np.cos(XS @ w)[:, None] * XS.sum(1)[:, None] * XS, axis=0)
    np.testing.assert_allclose(gl.grad(total)(w), expected, rtol=1e-12)
    gl.check_grads(total, w, order=2)


def test_vmap_of_function_that_calls_grad_inside():
    def newton_step(x):
        f = lambda z: np.sum(z ** 3 - 2.0 * z)  # noqa: E731
        return x - gl.grad(f)(x) / (6.0 * x)

    xs = RNG.uniform(1.0, 2.0, size=(5, 2))
    np.testing.assert_allclose(gl.vmap(newton_step)(xs), loop(newton_step, xs), rtol=1e-12)


def test_vmap_and_jvp_compose_both_ways():
    f = lambda x: np.sin(x) * np.sum(x ** 2)  # noqa: E731
    vs = RNG.normal(size=XS.shape)
    outs, tans = gl.vmap(lambda x, v: gl.jvp(f, (x,), (v,)))(XS, vs)
    ref = [gl.jvp(f, (x,), (v,)) for x, v in zip(XS, vs)]
    np.testing.assert_allclose(outs, [r[0] for r in ref], rtol=1e-12)
    np.testing.assert_allclose(tans, [r[1] for r in ref], rtol=1e-12)
    out, tan = gl.jvp(gl.vmap(f), (XS,), (vs,))
    np.testing.assert_allclose(out, gl.vmap(f)(XS), rtol=1e-12)
    np.testing.assert_allclose(tan, [r[1] for r in ref], rtol=1e-12)


def test_vmap_is_one_numpy_call_per_primitive():
    calls = []

    def impl(x, y):
        calls.append(np.shape(x))
        return x * y

    counted = gl.Primitive("test_vmap_counted_mul", impl, nin=2,
                           vjp=(lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x))
    out = gl.vmap(lambda x: counted(x, 2.0))(np.arange(100.0))
    np.testing.assert_array_equal(out, 2.0 * np.arange(100.0))
    assert calls == [(100,)]


def test_vmap_generic_fallback_for_primitive_without_batch_rule():
    flip = gl.Primitive("test_vmap_flip", lambda x: x[::-1].copy(), family=Structural,
                        vjp=lambda g, ans, x: flip(g))
    np.testing.assert_array_equal(gl.vmap(flip)(XS), XS[:, ::-1])


def test_vmap_python_control_flow_raises_naming_line():
    def relu(x):
        if x > 0:  # the offending line
            return x
        return 0.0 * x

    with pytest.raises(gl.ConcretizationError, match=r"(?s)test_vmap\.py:\d+: if x > 0.*np\.where"):
        gl.vmap(relu)(np.arange(-2.0, 2.0))


def test_vmap_inconsistent_sizes_and_bad_axes_raise():
    with pytest.raises(ValueError, match="inconsistent batch sizes: size 4.*size 5"):
        gl.vmap(lambda a, b: a + b)(XS, np.ones((5, 3)))
    with pytest.raises(ValueError, match="in_axes=2 is out of range .* shape \\(4, 3\\)"):
        gl.vmap(lambda a: a, in_axes=2)(XS)
    with pytest.raises(ValueError, match="in_axes has 1 entries but .* 2 positional"):
        gl.vmap(lambda a, b: a, in_axes=(0,))(XS, XS)
    with pytest.raises(ValueError, match="needs at least one batched input"):
        gl.vmap(lambda a: a, in_axes=None)(XS)
    with pytest.raises(ValueError, match="out_axes=None for an output that depends"):
        gl.vmap(lambda a: a, out_axes=None)(XS)
    with pytest.raises(ValueError, match="does not match the structure"):
        gl.vmap(lambda d: d, in_axes=({"a": 0},))({"b": XS})


def test_vmap_elementwise_keeps_batch_axis_and_aligns_when_needed():
    a = RNG.normal(size=(3, 4))  # batched on axis 1: per-example shape (3,)
    np.testing.assert_allclose(gl.vmap(lambda x: x * np.ones(3), in_axes=1)(a), a.T)
    np.testing.assert_allclose(gl.vmap(lambda x, y: x + y, in_axes=(1, 0))(a, a.T), 2 * a.T)
    m = RNG.normal(size=(2, 3))  # unbatched and of higher rank than the batched operand
    np.testing.assert_allclose(gl.vmap(lambda x: x * m, in_axes=1)(a),
                               np.stack([a[:, i] * m for i in range(4)]))


@pytest.mark.parametrize("a_shape,b_shape", [
    ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((2, 3), (3, 4)), ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)), ((2, 1), (1, 4)), ((1,), (1, 4)), ((2, 1), (1,))])
@pytest.mark.parametrize("batched", ["a", "b", "both"])
def test_vmap_matmul_every_operand_layout(a_shape, b_shape, batched):
    a = RNG.normal(size=(4,) + a_shape) if batched != "b" else RNG.normal(size=a_shape)
    b = RNG.normal(size=(4,) + b_shape) if batched != "a" else RNG.normal(size=b_shape)
    axes = (0 if batched != "b" else None, 0 if batched != "a" else None)
    got = gl.vmap(lambda x, y: x @ y, in_axes=axes)(a, b)
    want = loop(lambda x, y: x @ y, a, b, in_axes=axes)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
