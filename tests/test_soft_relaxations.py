"""gradlab.soft relaxations: second-order finite differences of the soft functions, the
hard limits as the temperature goes to 0, vmap against a Python loop, and the
straight-through gradient contracts."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
import gradlab.soft as soft
from gradlab.nn import sigmoid, softmax

X = np.array([0.3, -1.2, 2.0, 0.5])
W = np.arange(4.0)


def _grow(s):
    return s * 1.5 + 0.1


def _room(s):
    return 2.0 - s


# name -> a scalar function of a float vector, built from one relaxation
SMOOTH = {
    "soft_if": lambda x: np.sum(soft.soft_if(x, x ** 2, -x, beta=2.0)),
    "soft_if_callables": lambda x: np.sum(soft.soft_if(x[0] - x[1], lambda: x ** 2,
                                                       lambda: np.sin(x), beta=1.5)),
    "diff_if_soft": lambda x: np.sum(soft.diff_if(x, lambda: x ** 2, lambda: -x, beta=2.0)),
    "soft_argmax": lambda x: np.sum(soft.soft_argmax(x, 0.7) * W),
    "soft_select": lambda x: soft.soft_select(x ** 2, x, 0.5),
    "soft_select_gumbel": lambda x: soft.soft_select(x ** 2, x, 0.5, mode="gumbel", key=3),
    "soft_max": lambda x: soft.soft_max(x, 0.5),
    "soft_min": lambda x: soft.soft_min(x, 0.5),
    "soft_sort": lambda x: np.sum(soft.soft_sort(x, 0.5) ** 2 * W),
    "soft_sort_desc": lambda x: np.sum(soft.soft_sort(x, 0.5, descending=True) * W),
    "soft_permutation": lambda x: np.sum(soft.soft_permutation(x, 0.5) @ W * W),
    "soft_rank": lambda x: np.sum(soft.soft_rank(x, 0.5) * x),
    "soft_topk": lambda x: np.sum(soft.soft_topk(x, 2, 0.5) * x),
    "gumbel_softmax": lambda x: np.sum(soft.gumbel_softmax(x, 0.5, key=1) * W),
    "loop_survival": lambda x: soft.bounded_loop(x[0], 4, _grow, _room, beta=3.0),
    "loop_exit": lambda x: soft.bounded_loop(x[0], 4, _grow, _room, beta=3.0,
                                             mode="exit_distribution"),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_soft_relaxation_matches_finite_differences_to_second_order(name):
    gl.check_grads(SMOOTH[name], X, modes=("fwd", "rev"), order=2)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_soft_relaxation_vmap_matches_python_loop(name):
    batch = np.stack([X * (1.0 + 0.1 * b) for b in range(3)])
    got = gl.vmap(SMOOTH[name])(batch)
    want = np.array([SMOOTH[name](row) for row in batch])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # and per-example gradients
    got_g = gl.vmap(gl.grad(SMOOTH[name]))(batch)
    want_g = np.stack([gl.grad(SMOOTH[name])(row) for row in batch])
    np.testing.assert_allclose(got_g, want_g, rtol=1e-10, atol=1e-12)


def test_soft_if_gradient_in_threshold_closed_form():
    t, beta = 0.5, 4.0
    g = gl.grad(lambda t: soft.soft_if(np.array(1.0) - t, 2.0, 5.0, beta=beta))(t)
    s = 1.0 / (1.0 + np.exp(-beta * 0.5))
    assert g == pytest.approx(-beta * s * (1 - s) * (2.0 - 5.0))


def test_soft_relaxations_recover_hard_ops_as_temperature_falls():
    x = np.array([0.3, -1.2, 2.0, 0.5, 1.1])
    onehot = np.eye(5)[np.argmax(x)]
    np.testing.assert_allclose(soft.soft_if(x, 1.0, -1.0, beta=1e5), np.where(x > 0, 1.0, -1.0),
                               atol=1e-12)
    np.testing.assert_allclose(soft.soft_argmax(x, 1e-4), onehot, atol=1e-12)
    assert float(soft.soft_select(x ** 2, x, 1e-4)) == pytest.approx(4.0)
    assert float(soft.soft_max(x, 1e-4)) == pytest.approx(2.0, abs=1e-9)
    assert float(soft.soft_min(x, 1e-4)) == pytest.approx(-1.2, abs=1e-9)
    np.testing.assert_allclose(soft.soft_sort(x, 1e-4), np.sort(x), atol=1e-9)
    np.testing.assert_allclose(soft.soft_sort(x, 1e-4, descending=True), np.sort(x)[::-1],
                               atol=1e-9)
    np.testing.assert_allclose(soft.soft_permutation(x, 1e-4), np.eye(5)[np.argsort(x)],
                               atol=1e-9)
    np.testing.assert_allclose(soft.soft_rank(x, 1e-4), np.argsort(np.argsort(x)) + 1.0,
                               atol=1e-9)
    np.testing.assert_allclose(soft.soft_topk(x, 2, 1e-4), [0, 0, 1, 0, 1], atol=1e-9)
    # a Gumbel-softmax sample approaches the one-hot of the same perturbed argmax
    np.testing.assert_allclose(soft.gumbel_softmax(x, 1e-4, key=7),
                               soft.gumbel_softmax(x, 1.0, key=7, hard=True), atol=1e-9)
    # and the gap shrinks monotonically on the way
    gaps = [abs(float(soft.soft_max(x, t)) - 2.0) for t in (1.0, 0.1, 0.01)]
    assert gaps[0] > gaps[1] > gaps[2]


def test_soft_sort_batches_over_leading_axes():
    x = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    np.testing.assert_allclose(soft.soft_sort(x, 1e-4), np.sort(x, -1), atol=1e-9)


@pytest.mark.parametrize("mode", ["survival", "exit_distribution"])
@pytest.mark.parametrize("init,exit_step", [(2.5, 0), (1.0, 2), (-50.0, 4)])
def test_bounded_loop_recovers_hard_loop_first_middle_last_step(mode, init, exit_step):
    def hard(s):
        for i in range(4):
            if not _room(s) > 0:
                return s, i
            s = _grow(s)
        return s, 4

    want, steps = hard(init)
    assert steps == exit_step
    got = soft.bounded_loop(np.array(init), 4, _grow, _room, beta=200.0, mode=mode)
    assert float(got) == pytest.approx(want, abs=1e-9)


def test_bounded_loop_refuses_unknown_mode():
    with pytest.raises(ValueError, match="mode must be 'survival' or 'exit_distribution'"):
        soft.bounded_loop(np.array(0.0), 2, _grow, _room, mode="forever")


def test_diff_if_pathwise_is_the_taken_branch_exactly():
    def f(x):
        return soft.diff_if(x - 1.0, lambda: x ** 3, lambda: np.sin(x), mode="pathwise")

    assert float(f(np.array(2.0))) == 8.0
    assert float(gl.grad(f)(np.array(2.0))) == pytest.approx(12.0)
    assert float(gl.grad(f)(np.array(0.5))) == pytest.approx(np.cos(0.5))
    gl.check_grads(f, np.array(2.0), order=2)
    # an array score selects per element, under vmap too
    xs = np.array([0.5, 2.0])
    np.testing.assert_allclose(gl.vmap(f)(xs), [np.sin(0.5), 8.0])


def test_diff_if_straight_through_is_hard_forward_soft_backward():
    beta = 1.5

    def st(s):
        return soft.diff_if(s, lambda: 2.0 * s, lambda: -s, mode="straight_through", beta=beta)

    s0 = np.array(0.4)
    assert float(st(s0)) == pytest.approx(0.8)  # the hard branch's value
    gate = float(sigmoid(beta * s0))
    # backward: the gate's derivative times the branch difference, plus the hard gate
    want = beta * gate * (1 - gate) * (2.0 * 0.4 + 0.4) + 1.0 * 2.0
    assert float(gl.grad(st)(s0)) == pytest.approx(want)
    # higher derivatives are defined, and are again the soft gate's: with T - F = 3s,
    # d2/ds2 = beta^2 g (1 - g)(1 - 2g) 3s + 6 beta g (1 - g)
    want2 = beta ** 2 * gate * (1 - gate) * (1 - 2 * gate) * 1.2 + 6 * beta * gate * (1 - gate)
    assert float(gl.grad(gl.grad(st))(s0)) == pytest.approx(want2)
    _, second_fwd = gl.jvp(gl.grad(st), (s0,), (np.array(1.0),))
    assert float(second_fwd) == pytest.approx(want2)


def test_straight_through_step_derivatives_are_the_sigmoids():
    s = np.array([-0.7, 0.2, 1.3])
    beta = 2.0
    np.testing.assert_array_equal(soft.straight_through_step(s, beta), [0.0, 1.0, 1.0])
    got = gl.elementwise_grad(lambda v: soft.straight_through_step(v, beta))(s)
    want = gl.elementwise_grad(lambda v: sigmoid(beta * v))(s)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    step_grad = gl.elementwise_grad(lambda v: soft.straight_through_step(v, beta))
    got2 = gl.elementwise_grad(step_grad)(s)
    want2 = gl.elementwise_grad(gl.elementwise_grad(lambda v: sigmoid(beta * v)))(s)
    np.testing.assert_allclose(got2, want2, rtol=1e-10)
    # forward mode agrees with reverse mode
    _, tangent = gl.jvp(lambda v: soft.straight_through_step(v, beta), (s,), (np.ones(3),))
    np.testing.assert_allclose(tangent, want, rtol=1e-12)


def test_straight_through_onehot_has_softmax_vjp_and_jvp():
    z = np.array([[0.1, 2.0, -1.0], [1.0, 0.0, 0.5]])
    u = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]])
    np.testing.assert_array_equal(soft.straight_through_onehot(z), np.eye(3)[[1, 0]])
    _, back = gl.vjp(soft.straight_through_onehot, z)
    _, back_soft = gl.vjp(lambda v: softmax(v, axis=-1), z)
    np.testing.assert_allclose(back(u)[0], back_soft(u)[0], rtol=1e-12)
    _, t = gl.jvp(soft.straight_through_onehot, (z,), (u,))
    _, t_soft = gl.jvp(lambda v: softmax(v, axis=-1), (z,), (u,))
    np.testing.assert_allclose(t, t_soft, rtol=1e-12)
    got = gl.vmap(gl.grad(lambda v: np.sum(soft.straight_through_onehot(v) * W[:3])))(z)
    want = np.stack([gl.grad(lambda v: np.sum(softmax(v) * W[:3]))(row) for row in z])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_gumbel_st_select_forward_is_one_value_and_backward_is_softmax():
    values, scores = np.array([10.0, 20.0, 30.0]), np.array([0.0, 5.0, 0.0])
    out = soft.soft_select(values, scores, 0.5, mode="gumbel_st", key=11)
    assert float(out) in (10.0, 20.0, 30.0)
    g = gl.grad(lambda s: soft.soft_select(values, s, 0.5, mode="gumbel_st", key=11))(scores)
    assert abs(float(np.sum(g))) < 1e-12  # a softmax derivative: rows sum to zero


def test_relaxations_refuse_bad_modes_and_missing_keys():
    with pytest.raises(ValueError, match="mode must be 'soft', 'pathwise' or 'straight_through'"):
        soft.diff_if(np.array(1.0), lambda: 1.0, lambda: 0.0, mode="hard")
    with pytest.raises(ValueError, match="mode must be 'softmax', 'gumbel' or 'gumbel_st'"):
        soft.soft_select(X, X, mode="argmax")
    with pytest.raises(ValueError, match="gumbel noise needs a key"):
        soft.gumbel_softmax(X)
    with pytest.raises(ValueError, match="perturbed needs a key"):
        soft.perturbed(np.sign)(X)


def _onehot_argmax(v):
    out = np.zeros_like(v)
    out[np.argmax(v)] = 1.0
    return out


def test_perturbed_argmax_with_gumbel_noise_is_softmax_in_expectation():
    # Gumbel-max: E[onehot(argmax(theta + sigma G))] = softmax(theta / sigma), so both the
    # smoothed value and its Monte-Carlo Jacobian approach softmax's.
    theta, sigma = np.array([0.2, 1.0, -0.5]), 0.7
    smooth = soft.perturbed(_onehot_argmax, sigma, 4000, noise="gumbel", key=5)
    np.testing.assert_allclose(smooth(theta), softmax(theta / sigma), atol=0.03)
    got = gl.jacobian(smooth)(theta)
    want = gl.jacobian(lambda t: softmax(t / sigma))(theta)
    np.testing.assert_allclose(got, want, atol=0.08)


def test_perturbed_vjp_and_jvp_are_adjoint_and_vmap_matches_loop():
    theta = np.array([0.2, 1.0, -0.5, 0.3])
    smooth = soft.perturbed(_onehot_argmax, 0.5, 200, noise="normal", key=2)
    u, v = np.array([1.0, -0.5, 0.3, 2.0]), np.array([0.2, 0.1, -1.0, 0.4])
    _, back = gl.vjp(smooth, theta)
    _, tangent = gl.jvp(smooth, (theta,), (v,))
    assert float(u @ tangent) == pytest.approx(float(back(u)[0] @ v), rel=1e-10)
    batch = np.stack([theta, theta[::-1], theta * 2])
    np.testing.assert_allclose(gl.vmap(smooth)(batch), np.stack([smooth(t) for t in batch]))

    def score(t):
        return np.sum(smooth(t) * np.arange(4.0))

    np.testing.assert_allclose(gl.vmap(gl.grad(score))(batch),
                               np.stack([gl.grad(score)(t) for t in batch]), rtol=1e-12)


def test_perturbed_recovers_the_solver_as_sigma_falls():
    theta = np.array([0.2, 1.0, -0.5, 0.3])
    for noise in ("normal", "gumbel"):
        smooth = soft.perturbed(_onehot_argmax, 1e-6, 50, noise=noise, key=4)
        np.testing.assert_array_equal(smooth(theta), _onehot_argmax(theta))
    wide = soft.perturbed(_onehot_argmax, 5.0, 200, key=4)(theta)
    assert wide.max() < 0.6 and abs(wide.sum() - 1.0) < 1e-12  # smoothed: no longer one-hot
