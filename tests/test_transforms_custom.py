"""custom_vjp and custom_jvp: user rules under grad, jvp, vmap and higher order."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(2)
XS = np.array([0.4, 1.4, 2.6, -0.7])


def make_ste():
    """A straight-through rounding: forward rounds, backward passes the cotangent through."""
    calls = {"fwd": [], "bwd": []}

    @gl.custom_vjp
    def ste(x):
        return np.round(x)

    def fwd(x):
        calls["fwd"].append(np.shape(x))
        return np.round(x), None

    def bwd(res, g):
        calls["bwd"].append(np.shape(g))
        return (g,)

    ste.defvjp(fwd, bwd)
    return ste, calls


def test_custom_vjp_rule_replaces_derivative():
    ste, calls = make_ste()
    f = lambda x: ste(x) * x ** 2  # noqa: E731
    assert f(1.4) == pytest.approx(1.96)
    # d/dx = ste'(x) x^2 + round(x) 2x with ste' = 1 (the rule), not 0 (round's derivative)
    assert gl.grad(f)(1.4) == pytest.approx(1.4 ** 2 + 2 * 1.4)
    assert calls["fwd"] == [()] and calls["bwd"] == [()]


def test_straight_through_estimator_second_derivative():
    ste, _ = make_ste()
    f = lambda x: ste(x) * x ** 2  # noqa: E731
    # f'' = 2x (from ste' x^2) + 2x (from round(x) 2x via ste') + 2 round(x)
    assert gl.grad(gl.grad(f))(1.4) == pytest.approx(4 * 1.4 + 2 * 1.0)
    assert gl.grad(gl.grad(f))(2.6) == pytest.approx(4 * 2.6 + 2 * 3.0)


def test_custom_vjp_is_batched_by_vmap_in_one_call():
    ste, calls = make_ste()
    f = lambda x: ste(x) * x ** 2  # noqa: E731
    got = gl.vmap(gl.grad(f))(XS)
    np.testing.assert_allclose(got, [gl.grad(f)(x) for x in XS], rtol=1e-12)
    calls["fwd"].clear()
    calls["bwd"].clear()
    gl.grad(lambda x: np.sum(gl.vmap(f)(x)))(XS)  # the batched twin runs vmapped rules
    assert calls["fwd"] == [()] and calls["bwd"] == [()]  # traced once, per example shape
    np.testing.assert_allclose(gl.vmap(f)(XS), np.round(XS) * XS ** 2)


def test_grad_of_vmap_uses_the_custom_rule():
    @gl.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1.0, 1.0),))
    total = lambda x: np.sum(gl.vmap(lambda x: 5.0 * clip_gradient(x))(x))  # noqa: E731
    np.testing.assert_allclose(gl.grad(total)(XS), np.ones(4))
    np.testing.assert_allclose(gl.vmap(gl.grad(lambda x: -3.0 * clip_gradient(x)))(XS),
                               -np.ones(4))


def test_custom_vjp_nondiff_argnums_and_pytrees():
    @gl.custom_vjp
    def scaled_dot(params, k, x):
        return k * np.sum(params["w"] * x) + params["b"]

    def fwd(params, k, x):
        return scaled_dot(params, k, x), (params, x)

    def bwd(k, res, g):
        params, x = res
        return ({"w": g * k * x, "b": g}, None)  # None: zero cotangent for x

    scaled_dot = gl.custom_vjp(scaled_dot.fun, nondiff_argnums=(1,))
    scaled_dot.defvjp(fwd, bwd)
    p = {"w": RNG.normal(size=3), "b": np.array(0.5)}
    x = RNG.normal(size=3)
    g = gl.grad(lambda p: scaled_dot(p, 3.0, x))(p)
    np.testing.assert_allclose(g["w"], 3.0 * x)
    assert g["b"] == 1.0
    np.testing.assert_array_equal(gl.grad(lambda x: scaled_dot(p, 3.0, x))(x), np.zeros(3))


def test_custom_vjp_higher_order_matches_finite_differences():
    @gl.custom_vjp
    def softplus(x):
        return np.log1p(np.exp(x))

    softplus.defvjp(lambda x: (softplus(x), x), lambda x, g: (g / (1.0 + np.exp(-x)),))
    gl.check_grads(lambda x: softplus(x) * np.sin(x), XS, modes=("rev",), order=3)


def test_custom_vjp_under_forward_mode_points_to_custom_jvp():
    ste, _ = make_ste()
    with pytest.raises(TypeError, match=r"(?s)custom_vjp:.*forward mode.*custom_jvp"):
        gl.jvp(lambda x: ste(x) * x, (1.4,), (1.0,))
    with pytest.raises(TypeError, match="custom_jvp"):
        gl.hessian(lambda x: np.sum(ste(x) * x))(XS)


def test_custom_vjp_rule_errors_are_clear():
    @gl.custom_vjp
    def f(x, y):
        return x * y

    with pytest.raises(TypeError, match=r"no rule yet: call f\.defvjp"):
        f(1.0, 2.0)
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1],))
    with pytest.raises(TypeError, match=r"one cotangent per differentiable argument \(2\)"):
        gl.grad(f)(1.0, 2.0)
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (np.ones(2), g))
    with pytest.raises(ValueError, match=r"cotangent of argument 0 has shape \(2,\)"):
        gl.grad(f)(1.0, 2.0)


def make_softplus():
    calls = []

    @gl.custom_jvp
    def softplus(x):
        return np.log1p(np.exp(x))

    def rule(primals, tangents):
        calls.append(1)
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1.0 + np.exp(-x))

    softplus.defjvp(rule)
    return softplus, calls


def test_custom_jvp_rule_is_used_in_both_modes():
    softplus, calls = make_softplus()
    sig = 1.0 / (1.0 + np.exp(-XS))
    out, tan = gl.jvp(softplus, (XS,), (2 * np.ones(4),))
    np.testing.assert_allclose(out, np.log1p(np.exp(XS)))
    np.testing.assert_allclose(tan, 2 * sig, rtol=1e-12)
    assert calls == [1]
    np.testing.assert_allclose(gl.grad(lambda x: np.sum(softplus(x)))(XS), sig, rtol=1e-12)
    np.testing.assert_allclose(gl.hessian(lambda x: np.sum(softplus(x)))(XS),
                               np.diag(sig * (1 - sig)), rtol=1e-12)
    gl.check_grads(lambda x: softplus(x) * x, XS, order=2)


def test_custom_jvp_with_vmap_and_nondiff_args():
    softplus, _ = make_softplus()
    sig = 1.0 / (1.0 + np.exp(-XS))
    np.testing.assert_allclose(gl.vmap(gl.grad(softplus))(XS), sig, rtol=1e-12)
    np.testing.assert_allclose(gl.grad(lambda x: np.sum(gl.vmap(softplus)(x)))(XS), sig,
                               rtol=1e-12)

    def power(n, x):
        return x ** n

    power = gl.custom_jvp(power, nondiff_argnums=(0,))
    power.defjvp(lambda n, p, t: (p[0] ** n, n * p[0] ** (n - 1) * t[0]))
    assert gl.grad(lambda x: power(3, x))(2.0) == pytest.approx(12.0)
    assert gl.grad(gl.grad(lambda x: power(3, x)))(2.0) == pytest.approx(12.0)


def test_custom_rules_are_not_library_primitives():
    softplus, _ = make_softplus()
    from gradlab.core.primitive import PRIMITIVES

    assert not any(name.startswith("custom_") for name in PRIMITIVES)
    assert softplus.__name__ == "softplus"


@pytest.mark.parametrize("policy", [None, gl.checkpoint_policies.dots_saveable])
def test_checkpointed_function_with_a_pytree_output(policy):
    w = np.array([[0.5, -1.0], [2.0, 0.3]])

    def block(x):
        h = np.tanh(x @ w)
        return {"h": h, "pair": (np.sin(h), h.sum())}

    ckpt = gl.checkpoint(block, policy=policy)

    def loss(x, fn):
        out = fn(x)
        return np.sum(out["h"] ** 2) + np.sum(out["pair"][0]) * out["pair"][1]

    x = np.array([0.3, -0.8])
    np.testing.assert_allclose(gl.grad(loss)(x, ckpt), gl.grad(loss)(x, block), rtol=1e-12)
    gl.check_grads(lambda x: loss(x, ckpt), x, modes=("fwd", "rev"), order=2)
    X = np.stack([x, 2 * x, -x])
    np.testing.assert_allclose(gl.vmap(gl.grad(lambda x: loss(x, ckpt)))(X),
                               np.stack([gl.grad(loss)(xi, block) for xi in X]), rtol=1e-12)


def test_a_function_returning_no_array_is_refused():
    empty = gl.checkpoint(lambda x: ())
    with pytest.raises(TypeError, match="at least one array"):
        gl.grad(lambda x: x * len(empty(x)))(1.0)


def _with_pytree_output():
    @gl.custom_vjp
    def f(x, y):
        return np.sin(x) * y, {"s": x + y}

    def f_fwd(x, y):
        return f(x, y), (x, y)

    def f_bwd(res, g):
        (x, y), (g_prod, g_dict) = res, g
        return (g_prod * np.cos(x) * y + g_dict["s"], g_prod * np.sin(x) + g_dict["s"])

    f.defvjp(f_fwd, f_bwd)
    return f


def test_custom_vjp_with_a_pytree_output_matches_plain_code():
    f = _with_pytree_output()

    def loss(x, y, fn):
        prod, d = fn(x, y)
        return np.sum(prod ** 2) + np.sum(d["s"] * 3.0)

    def plain(x, y):
        return np.sin(x) * y, {"s": x + y}

    x, y = np.array([0.3, 1.2]), np.array([2.0, -1.0])
    got = gl.grad(loss, argnum=(0, 1))(x, y, f)
    want = gl.grad(loss, argnum=(0, 1))(x, y, plain)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    gl.check_grads(lambda x, y: loss(x, y, f), x, y, modes=("rev",), order=2)
    X, Y = np.stack([x, 2 * x]), np.stack([y, y])
    per_example = gl.vmap(gl.grad(lambda x, y: loss(x, y, f)))(X, Y)
    loop = np.stack([gl.grad(lambda x, y: loss(x, y, plain))(a, b) for a, b in zip(X, Y)])
    np.testing.assert_allclose(per_example, loop, rtol=1e-12)
    shapes = gl.eval_shape(f, gl.ShapeDtypeStruct((2,), np.float64),
                           gl.ShapeDtypeStruct((2,), np.float64))
    assert shapes[0].shape == (2,) and shapes[1]["s"].shape == (2,)


def test_custom_jvp_with_a_tuple_output_in_both_modes():
    @gl.custom_jvp
    def exp_and_sin(x):
        return np.exp(x), np.sin(x)

    exp_and_sin.defjvp(lambda p, t: (exp_and_sin(p[0]),
                                     (np.exp(p[0]) * t[0], np.cos(p[0]) * t[0])))

    def k(x):
        e, s = exp_and_sin(x)
        return np.sum(e * s)

    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(gl.grad(k)(x), np.exp(x) * (np.sin(x) + np.cos(x)), rtol=1e-12)
    gl.check_grads(k, x, modes=("fwd", "rev"), order=2)
