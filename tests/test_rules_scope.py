"""Rule scopes: selection, forward-snapshot semantics, nesting, and behaviour under vmap,
jvp and second derivatives; gl.nn.Activation."""

from __future__ import annotations

import textwrap
import threading

import numpy as np
import pytest

import gradlab as gl
from gradlab import rules
from gradlab.core.tape import ReverseTrace
from gradlab.ops.families import Elementwise, Reduction

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
W = np.array([[0.2, -0.4], [0.7, 0.1], [-0.3, 0.5]])
B = np.array([0.1, -0.2])


def layer_loss(w, b, scope=None, rule="scale", **params):
    def body():
        return np.sum(np.tanh(X @ w + b)) + np.sum(w ** 2)
    if scope is None:
        return body()
    with rules.use(rule, scope=scope, **params):
        return body()


def true_parts(w, b):
    """(d tanh-term / dw, d tanh-term / db, d w**2-term / dw) by hand."""
    d = 1.0 - np.tanh(X @ w + b) ** 2
    return X.T @ d, d.sum(axis=0), 2.0 * w


def test_params_scope_acts_on_cotangents_sent_to_differentiated_inputs():
    gw, gb = gl.grad(lambda w, b: layer_loss(w, b, "params", s=10.0), argnum=(0, 1))(W, B)
    tw, tb, sq = true_parts(W, B)
    np.testing.assert_allclose(gw, 10.0 * (tw + sq), rtol=1e-12)  # matmul and power read w
    np.testing.assert_allclose(gb, 10.0 * tb, rtol=1e-12)


def test_activations_scope_acts_on_the_nonlinearity_only():
    gw, gb = gl.grad(lambda w, b: layer_loss(w, b, "activations", s=10.0), argnum=(0, 1))(W, B)
    tw, tb, sq = true_parts(W, B)
    np.testing.assert_allclose(gw, 10.0 * tw + sq, rtol=1e-12)  # w**2 is not an activation
    np.testing.assert_allclose(gb, 10.0 * tb, rtol=1e-12)


@pytest.mark.parametrize("scope, factor", [
    ("reduction", 2.0), (Reduction, 2.0),
    ("structural", 1.0), (Elementwise, 4.0), ("elementwise", 4.0),
    (["tanh"], 2.0), (lambda op: op.name == "multiply", 2.0), ("all", 8.0),
])
def test_family_names_and_predicate_select_their_ops(scope, factor):
    def f(x):  # three ops: tanh, multiply (elementwise), sum (reduction)
        with rules.use("scale", scope=scope, s=2.0):
            return np.sum(np.tanh(x) * 3.0)
    x = np.array([0.2, -0.9])
    np.testing.assert_allclose(gl.grad(f)(x), factor * 3.0 * (1 - np.tanh(x) ** 2))


def test_module_path_scope_selects_ops_recorded_by_that_module(tmp_path, monkeypatch):
    (tmp_path / "rules_scope_demo").mkdir()
    (tmp_path / "rules_scope_demo" / "__init__.py").write_text("")
    (tmp_path / "rules_scope_demo" / "encoder.py").write_text(textwrap.dedent("""
        import numpy as np

        def encode(x):
            return np.tanh(x)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    from rules_scope_demo.encoder import encode

    def f(x):
        with rules.use("scale", scope="rules_scope_demo", s=5.0):
            return np.sum(encode(x)) + np.sum(np.tanh(x))  # the second tanh is ours
    x = np.array([0.4, -0.2])
    np.testing.assert_allclose(gl.grad(f)(x), 6.0 * (1 - np.tanh(x) ** 2))


def test_a_predicate_sees_the_recorded_op():
    seen = []

    def spy(op):
        seen.append((op.name, op.family, op.traced, op.is_param))
        return False
    with rules.use("scale", scope=spy):
        gl.grad(lambda w: np.sum(X @ w))(W)
    assert seen == [("matmul", "structural", (False, True), (False, True)),
                    ("sum", "reduction", (True,), (False,))]


def test_derivative_rule_replaces_a_step_derivative():
    def f(v):
        with rules.use("fast_sigmoid", scope="activations", slope=2.0):
            return np.sum(np.heaviside(v, 0.0) * np.array([1.0, 2.0, 3.0]))
    v = np.array([0.0, 0.5, -1.5])
    np.testing.assert_allclose(gl.grad(f)(v), [1.0, 2 * 0.25, 3 / 16])


def test_rule_is_the_one_in_force_when_the_op_is_recorded():
    def f(v):
        with rules.use("fast_sigmoid", scope=["heaviside"], slope=1.0):
            a = np.heaviside(v, 0.0)
        with rules.use("fast_sigmoid", scope=["heaviside"], slope=4.0):
            b = np.heaviside(v, 0.0)
        return np.sum(a + b)  # the backward pass runs after both blocks have exited
    v = np.array([0.5, -1.0])
    np.testing.assert_allclose(gl.grad(f)(v), 1 / (1 + np.abs(v)) ** 2
                               + 1 / (1 + 4 * np.abs(v)) ** 2)
    # an op recorded outside any scope keeps its own derivative, even if the backward
    # pass runs inside one
    out, vjp_fn = gl.vjp(lambda x: np.tanh(x), v)
    with rules.use("scale", scope="all", s=100.0):
        (ct,) = vjp_fn(np.ones(2))
    np.testing.assert_allclose(ct, 1 - np.tanh(v) ** 2)


def test_a_scope_around_the_transform_applies_too():
    with rules.use("d_linear", scope=["heaviside"]):
        g = gl.grad(lambda v: np.sum(np.heaviside(v, 0.0)))(np.array([-3.0, 2.0]))
    assert g.tolist() == [1.0, 1.0]
    assert "process" in ReverseTrace.__dict__ and not hasattr(ReverseTrace.process,
                                                              "__wrapped__")


def test_innermost_scope_wins_and_compose_runs_inner_then_outer():
    def f(x, compose):
        with rules.use("scale", scope="all", s=10.0):
            with rules.use("clip_value", scope=["tanh"], compose=compose, lo=-1.0, hi=1.0):
                return np.sum(5.0 * np.tanh(x))
    x = np.array([0.0])
    # tanh's operand receives 5 * 1 = 5 at x = 0. Innermost only: clip -> 1, and the
    # multiply and sum (outer scope) scale by 10 each before it: clip(500) = 1.
    assert gl.grad(lambda x: f(x, False))(x).tolist() == [1.0]
    # compose: clip(500) = 1, then the outer scale: 10.
    assert gl.grad(lambda x: f(x, True))(x).tolist() == [10.0]


def test_vmap_of_a_rule_matches_a_loop():
    key = gl.random.key(1)

    def per_example(w, x):
        with rules.use("clip_norm", scope="params", max_norm=0.5):
            with rules.use("noise", scope=["tanh"], compose=True, sigma=0.1, key=key):
                return np.sum(np.tanh(x @ w) ** 2)
    batched = gl.vmap(gl.grad(per_example), in_axes=(None, 0))(W, X)
    looped = np.stack([gl.grad(per_example)(W, x) for x in X])
    np.testing.assert_allclose(batched, looped, rtol=1e-12)
    assert np.allclose(np.linalg.norm(looped, axis=(1, 2)), 0.5)  # each example clipped


def test_random_rules_draw_per_op_and_reproduce_per_key():
    def f(v, seed):
        with rules.use("full_jam", scope=["heaviside"], key=gl.random.key(seed)):
            return np.sum(np.heaviside(v, 0.0) + np.heaviside(v, 0.0))
    v = np.zeros(3)
    g1, g1_again, g2 = gl.grad(f)(v, 0), gl.grad(f)(v, 0), gl.grad(f)(v, 1)
    np.testing.assert_array_equal(g1, g1_again)
    assert not np.allclose(g1, g2)
    first = gl.random.uniform(gl.random.fold_in(gl.random.key(0), 0), (3,))
    second = gl.random.uniform(gl.random.fold_in(gl.random.key(0), 1), (3,))
    np.testing.assert_allclose(g1, first + second)  # two ops, two independent draws


def test_a_linear_rule_under_jvp_matches_reverse_mode():
    def f(v):
        with rules.use("atan", scope="activations", alpha=2.0):
            return np.heaviside(v, 0.0) * np.array([1.0, 2.0])
    v = np.array([1 / np.pi, 0.0])
    _, tangent = gl.jvp(f, (v,), (np.array([1.0, 1.0]),))
    np.testing.assert_allclose(tangent, [0.5, 2.0])
    np.testing.assert_allclose(gl.jacfwd(f)(v), gl.jacrev(f)(v))


def test_a_nonlinear_rule_under_jvp_is_refused_by_name():
    def f(x):
        with rules.use("clip_norm", scope=["tanh"], max_norm=1.0):
            return np.sum(np.tanh(x))
    with pytest.raises(rules.RuleError, match=r"rule clip_norm\(max_norm=1.0, axis=None\) "
                                              r"\(op 'tanh', .*\) is not linear .* jvp"):
        gl.jvp(f, (np.ones(2),), (np.ones(2),))
    with pytest.raises(rules.RuleError, match="scope='params' selects the inputs a "
                                              "reverse-mode transform"):
        with rules.use("scale", scope="params"):
            gl.jvp(lambda x: np.sum(x * 2.0), (np.ones(2),), (np.ones(2),))


def test_second_derivative_differentiates_the_surrogate():
    slope = 2.0

    def f(v):
        with rules.use("fast_sigmoid", scope=["heaviside"], slope=slope):
            return np.sum(np.heaviside(v, 0.0))
    v = np.array([0.5, -1.0])
    hand = -2.0 * slope * np.sign(v) / (1 + slope * np.abs(v)) ** 3
    np.testing.assert_allclose(gl.grad(lambda v: np.sum(gl.grad(f)(v)))(v), hand)
    np.testing.assert_allclose(gl.hessian(f)(v), np.diag(hand), rtol=1e-12)
    gl.check_grads(gl.grad(f), v, modes=("rev", "fwd"), order=1)


def test_a_rule_without_higher_order_refuses_grad_of_grad():
    rule = rules.Rule("first_order_only", lambda g, x: g * x, linear=True, higher_order=False)

    def f(x):
        with rules.use(rule, scope=["tanh"]):
            return np.sum(np.tanh(x))
    assert gl.grad(f)(np.array([2.0])).tolist() == [2.0]
    with pytest.raises(rules.RuleError, match="rule first_order_only\\(\\) does not support "
                                              "second derivatives.*grad\\(grad\\)"):
        gl.grad(lambda x: np.sum(gl.grad(f)(x)))(np.array([2.0]))


def test_a_learnable_surrogate_slope_gets_a_meta_gradient():
    x, y = X[:, :2], np.array([1.0, 0.0])
    w0 = np.array([0.3, -0.2])

    def inner_loss(w, slope):
        with rules.use("fast_sigmoid", scope=["heaviside"], slope=slope):
            spikes = np.heaviside(x @ w, 0.0)
        return np.sum((spikes - y) ** 2)

    def after_one_step(slope):  # the slope reaches the loss only through the gradient
        w1 = w0 - 0.5 * gl.grad(inner_loss)(w0, slope)
        return np.sum((np.tanh(x @ w1) - y) ** 2)
    s, eps = 1.5, 1e-6
    fd = (after_one_step(s + eps) - after_one_step(s - eps)) / (2 * eps)
    meta = gl.grad(after_one_step)(s)
    assert abs(meta) > 1e-3
    np.testing.assert_allclose(meta, fd, rtol=1e-6)
    # differentiated by the same grad the rule serves, the slope is a constant there
    gw, gs = gl.grad(inner_loss, argnum=(0, 1))(w0, s)
    assert gs == 0.0 and np.abs(gw).sum() > 0


def test_bad_scope_is_refused_with_the_choices():
    with pytest.raises(TypeError, match="scope= must be 'activations', 'params', 'all', a "
                                        "family, a list of primitive names"):
        rules.use("scale", scope=3)


@pytest.mark.parametrize("forward", ["relu", "leaky_relu", "elu", "gelu", "silu", "softplus",
                                     "sigmoid", "tanh", "identity", "relu6"])
def test_activation_forwards_with_exact_and_replaced_backward(forward):
    x = np.array([-7.0, -0.5, 0.25, 3.0, 8.0])
    exact = gl.nn.Activation(forward)
    replaced = gl.nn.Activation(forward, backward="d_linear")
    np.testing.assert_allclose(replaced(x), exact(x))
    gl.check_grads(lambda v: np.sum(exact(v) ** 2), x, modes=("rev",), order=1)
    np.testing.assert_allclose(gl.grad(lambda v: np.sum(replaced(v)))(x), np.ones(5))


def test_heaviside_activation_uses_a_stated_surrogate_and_scopes_override_it():
    spike = gl.nn.Activation("heaviside")
    assert repr(spike) == "Activation(forward='heaviside', backward=fast_sigmoid(slope=25.0))"
    v = np.array([0.0, 0.2])
    assert spike(v).tolist() == [0.0, 1.0]
    np.testing.assert_allclose(gl.grad(lambda v: np.sum(spike(v)))(v), [1.0, 1 / 36])
    with rules.use("rectangular", scope="activations", a=-0.1, b=0.1):
        g = gl.grad(lambda v: np.sum(spike(v)))(v)
    np.testing.assert_allclose(g, [5.0, 0.0])
    triangle = gl.nn.Activation("heaviside", backward=rules.triangular(width=0.5))
    np.testing.assert_allclose(gl.grad(lambda v: np.sum(triangle(v)))(v), [2.0, 1.2])
    with pytest.raises(ValueError, match="Activation\\(forward='step'\\): choose one of relu"):
        gl.nn.Activation("step")


def test_checkpoint_blocks_take_the_scope_inside_and_refuse_it_around():
    def block(x):
        with rules.use("d_linear", scope=["heaviside"]):
            return np.heaviside(x, 0.0) * 2.0
    inside = gl.checkpoint(block)
    assert gl.grad(lambda x: np.sum(inside(x)))(np.array([-1.0, 1.0])).tolist() == [2.0, 2.0]
    around = gl.checkpoint(lambda x: np.heaviside(x, 0.0))
    with pytest.raises(rules.RuleError, match="a checkpointed block is recomputed in the "
                                              "backward pass, after the scope has exited"):
        with rules.use("d_linear", scope=["heaviside"]):
            gl.grad(lambda x: np.sum(around(x)))(np.array([1.0]))


def test_activation_batches_and_runs_forward_mode():
    spike = gl.nn.Activation("heaviside", backward=rules.fast_sigmoid(slope=1.0))
    v = np.array([[0.0, 1.0], [3.0, -1.0]])
    batched = gl.vmap(gl.grad(lambda r: np.sum(spike(r))))(v)
    np.testing.assert_allclose(batched, 1.0 / (1.0 + np.abs(v)) ** 2)
    _, tangent = gl.jvp(spike, (v[0],), (np.array([2.0, 2.0]),))
    np.testing.assert_allclose(tangent, [2.0, 0.5])


def test_activation_refuses_a_traced_rule_parameter():
    def f(slope):
        act = gl.nn.Activation("heaviside", backward=rules.fast_sigmoid(slope=slope))
        return np.sum(act(np.ones(2)))
    with pytest.raises(TypeError, match="parameter 'slope' is a traced value; an Activation's "
                                        "rule takes constants"):
        gl.grad(f)(2.0)


def test_linear_cotangent_rules_agree_between_forward_and_reverse_mode():
    c = np.array([[1.0, -2.0], [0.5, 3.0]])

    def f(w, scoped=True):
        if not scoped:
            return np.tanh(X @ w) * c
        with rules.use("centralize", scope=["matmul"]):
            with rules.use("scale", scope=["multiply"], s=3.0):
                return np.tanh(X @ w) * c
    rev, fwd = gl.jacrev(f)(W), gl.jacfwd(f)(W)
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-14)
    # by hand: the cotangent reaching tanh is tripled, the one sent to w centred
    plain = gl.jacrev(lambda w: f(w, False))(W)
    np.testing.assert_allclose(rev, 3.0 * (plain - plain.mean(axis=(2, 3), keepdims=True)),
                               rtol=1e-12, atol=1e-14)


def test_a_rule_on_a_variadic_op():
    def f(x):  # np.stack is reshapes and a concatenate (a variadic primitive)
        with rules.use("scale", scope=["concatenate"], s=3.0):
            return np.sum(np.stack([x, 2.0 * x]) ** 2)
    x = np.array([1.0, -2.0])
    np.testing.assert_allclose(gl.grad(f)(x), 3.0 * (2 * x + 8 * x))


def test_a_scope_is_local_to_its_thread():
    entered, done, result = threading.Event(), threading.Event(), {}
    v = np.array([0.5])

    def other_thread():
        entered.wait(10)
        result["g"] = gl.grad(lambda v: np.sum(np.tanh(v)))(v)
        done.set()
    worker = threading.Thread(target=other_thread)
    worker.start()
    with rules.use("scale", scope="all", s=10.0):
        entered.set()
        done.wait(10)
        inside = gl.grad(lambda v: np.sum(np.tanh(v)))(v)
    worker.join()
    np.testing.assert_allclose(result["g"], 1 - np.tanh(v) ** 2)  # the scope is not its
    np.testing.assert_allclose(inside, 100.0 * (1 - np.tanh(v) ** 2))  # tanh and sum


def test_ops_computing_derivatives_are_never_ruled():
    from gradlab.core.primitive import PRIMITIVES

    cube = gl.primitive("cube_jvp_only_rules_test", lambda x: x ** 3,
                        jvp=lambda t, ans, x: 3.0 * x * x * t)  # its VJP is a transposition
    del PRIMITIVES["cube_jvp_only_rules_test"]
    x = np.array([0.5, -2.0])
    with rules.use("scale", scope="all", s=2.0):  # cube and sum ruled; the transposition not
        g = gl.grad(lambda x: np.sum(cube(x)))(x)
    np.testing.assert_allclose(g, 4.0 * 3.0 * x ** 2)
    # grad(grad) entirely inside a scope: the surrogate's own formula (a tanh, itself an
    # activation) is differentiated as it is, not through the surrogate
    slope = 2.0
    with rules.use("sigmoid_prime", scope=["heaviside", "tanh"], slope=slope):
        second = gl.grad(lambda v: np.sum(gl.grad(lambda u: np.sum(np.heaviside(u, 0.0)))(v)))(x)
    s = 1.0 / (1.0 + np.exp(-slope * x))
    np.testing.assert_allclose(second, slope ** 2 * s * (1 - s) * (1 - 2 * s), rtol=1e-12)
