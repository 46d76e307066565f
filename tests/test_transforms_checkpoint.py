"""checkpoint (recompute, do not store), no_grad, and the tape freed after backward."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.tape import ReverseTrace
from gradlab.core.trace import live_levels

RNG = np.random.default_rng(3)
W = RNG.normal(size=(3, 3)) / 2
X = RNG.normal(size=(4, 3))


def two_layers(w, x):
    return np.tanh(np.tanh(x @ w) @ w)


def loss_of(block):
    return lambda w: np.sum(block(w, X) ** 2)


def current_tape():
    return next(t for t in reversed(live_levels()) if isinstance(t, ReverseTrace)).tape


def test_checkpoint_gradients_identical_and_recomputed():
    calls = []

    def counted(w, x):
        calls.append(1)
        return two_layers(w, x)

    g = gl.grad(loss_of(gl.checkpoint(counted)))(W)
    assert len(calls) == 2  # once forward, once recomputed by the backward pass
    np.testing.assert_array_equal(g, gl.grad(loss_of(two_layers))(W))


def test_checkpoint_tape_holds_one_node_and_no_inner_activations():
    inner = []

    def block(w, x):
        h = np.tanh(x @ w)
        inner.append(weakref.ref(h))
        return np.tanh(h @ w)

    sizes = {}

    def loss(w, name, fn):
        out = fn(w, X)
        sizes[name] = len(current_tape())
        if name == "checkpointed":
            gc.collect()
            sizes["alive"] = [r() is not None for r in inner]
        return np.sum(out)

    gl.grad(loss)(W, "plain", two_layers)
    gl.grad(loss)(W, "checkpointed", gl.checkpoint(block))
    assert sizes["plain"] == 4 and sizes["checkpointed"] == 1
    assert sizes["alive"] == [False]  # the forward pass's activation is already gone


def test_checkpoint_composes_with_vmap_and_higher_order():
    block = gl.checkpoint(two_layers)
    ws = np.stack([W, 2 * W, -W])
    np.testing.assert_allclose(gl.vmap(gl.grad(loss_of(block)))(ws),
                               [gl.grad(loss_of(two_layers))(w) for w in ws], rtol=1e-12)
    np.testing.assert_allclose(gl.grad(lambda w: np.sum(gl.vmap(lambda x: block(w, x))(X)))(W),
                               gl.grad(lambda w: np.sum(two_layers(w, X)))(W), rtol=1e-12)
    h_ref = gl.hessian(loss_of(two_layers))(W)
    np.testing.assert_allclose(gl.hessian(loss_of(block))(W), h_ref, rtol=1e-10)
    np.testing.assert_allclose(gl.jacrev(gl.grad(loss_of(block)))(W), h_ref, rtol=1e-10)
    gl.check_grads(loss_of(block), W, order=2)


def test_checkpoint_static_args_and_integer_leaves():
    def pick(w, x, idx, scale):
        return scale * np.tanh(x @ w)[idx]

    block = gl.checkpoint(pick, static_argnums=(3,))
    idx = np.array([0, 2])
    g = gl.grad(lambda w: np.sum(block(w, X, idx, 2.0)))(W)
    np.testing.assert_allclose(g, gl.grad(lambda w: np.sum(pick(w, X, idx, 2.0)))(W), rtol=1e-12)


def test_checkpoint_policy_keeps_chosen_results():
    calls = []
    counted = gl.Primitive("test_ckpt_counted_tanh", lambda x: (calls.append(1), np.tanh(x))[1],
                           vjp=lambda g, ans, x: g * (1 - ans * ans))

    def block(w, x):
        return counted(np.sin(counted(x @ w)) @ w)

    keep = lambda prim: prim is counted  # noqa: E731
    for policy, expected_calls in [(None, 4), (keep, 2)]:
        calls.clear()
        g = gl.grad(loss_of(gl.checkpoint(block, policy=policy)))(W)
        assert len(calls) == expected_calls
        calls.clear()
        np.testing.assert_allclose(g, gl.grad(loss_of(block))(W), rtol=1e-12)
    g = gl.grad(loss_of(gl.checkpoint(two_layers, gl.checkpoint_policies.dots_saveable)))(W)
    np.testing.assert_allclose(g, gl.grad(loss_of(two_layers))(W), rtol=1e-12)


def test_no_grad_records_nothing_for_live_levels_only():
    tape_lengths = []

    def f(x):
        with gl.no_grad():
            scale = np.sin(x) * 3.0
            tape_lengths.append(len(current_tape()))
            inner = gl.grad(lambda z: z ** 3)(x)  # a transform started inside still works
        return x * scale + inner

    x = 0.5
    assert gl.grad(f)(x) == pytest.approx(3 * np.sin(x))
    assert tape_lengths == [0]
    value, _ = gl.value_and_grad(f)(x)
    assert value == pytest.approx(x * 3 * np.sin(x) + 3 * x ** 2)
    assert gl.grad(lambda x: x * np.sin(x))(x) == pytest.approx(np.sin(x) + x * np.cos(x))


def test_tape_is_freed_after_backward():
    refs = []

    def f(x):
        h = np.tanh(x) * 2.0
        refs.append(weakref.ref(h))  # a Var: the tape's node for the product
        return np.sum(h ** 2)

    gl.grad(f)(np.ones(3))
    gc.collect()
    assert refs[0]() is None


def test_backward_frees_visited_activations_while_the_output_is_held():
    probe = {}

    def spy_vjp(g, ans, x):
        gc.collect()
        probe["alive"] = [r() is not None for r in probe["refs"]]
        return g

    spy = gl.Primitive("test_ckpt_spy", lambda x: x, vjp=spy_vjp)

    def f(x):
        h = np.tanh(spy(x) * 2.0)
        k = np.sin(h) * h
        probe["refs"] = [weakref.ref(h.value), weakref.ref(k.value)]
        return np.sum(k)

    gl.grad(f)(np.ones(1000))  # spy's rule runs last: every later node was visited
    assert probe["alive"] == [False, False]


def test_transforms_per_call_helpers_are_not_cached():
    import importlib

    resolve_module = importlib.import_module("gradlab.intercept.resolve")

    refs = []

    def f(x):
        refs.append(weakref.ref(np.tanh(x)))
        return np.sum(np.tanh(x) ** 3)

    x = np.ones(3)
    gl.hessian(f)(x)
    size = len(resolve_module._CACHE)
    for _ in range(3):
        gl.hessian(f)(x)
        gl.jacrev(f)(x)
        gl.linearize(f, x)[1](x)
    assert len(resolve_module._CACHE) == size
    gc.collect()
    assert all(r() is None for r in refs)


def test_backward_computes_only_the_cotangents_that_are_needed():
    calls = {"x": 0, "w": 0, "forward": 0}

    def vjp_x(g, ans, x, w):
        calls["x"] += 1
        return g * w

    def vjp_w(g, ans, x, w):
        calls["w"] += 1
        return g * x

    scale = gl.primitive("scale_for_checkpoint_test", lambda x, w: x * w, vjp=(vjp_x, vjp_w))

    def block(x, w):
        calls["forward"] += 1
        return np.tanh(scale(x, w))

    ckpt = gl.checkpoint(block)
    x, w = np.array([0.3, -0.2]), np.array([1.5, 0.5])
    gx = gl.grad(lambda x: np.sum(ckpt(x, w)))(x)  # the weight is a constant here
    np.testing.assert_allclose(gx, w * (1 - np.tanh(x * w) ** 2), rtol=1e-12)
    assert calls == {"x": 1, "w": 0, "forward": 2}  # forward + one recomputation
    gx, gw = gl.grad(lambda x, w: np.sum(ckpt(x, w)), argnum=(0, 1))(x, w)
    np.testing.assert_allclose(gw, x * (1 - np.tanh(x * w) ** 2), rtol=1e-12)
    assert calls == {"x": 2, "w": 1, "forward": 4}  # still one recomputation for both
