"""gradlab.optim: each optimizer against hand-computed steps; clipping; schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradlab as gl
from gradlab import nn, optim

P = {"w": np.array([1.0, -2.0])}
G1 = {"w": np.array([0.5, 1.0])}
G2 = {"w": np.array([-1.0, 2.0])}


def two_steps(opt, params=P):
    state = opt.init(params)
    p1, state = opt.update(G1, state, params)
    p2, state = opt.update(G2, state, p1)
    return p1["w"], p2["w"], state


def test_sgd_plain_momentum_nesterov_and_weight_decay_by_hand():
    p1, p2, s = two_steps(optim.SGD(lr=0.1))
    np.testing.assert_allclose(p2, P["w"] - 0.1 * (G1["w"] + G2["w"]))
    assert s == {"step": 2}
    _, p2, s = two_steps(optim.SGD(lr=0.1, momentum=0.9))
    v1 = G1["w"]
    v2 = 0.9 * v1 + G2["w"]
    np.testing.assert_allclose(p2, P["w"] - 0.1 * v1 - 0.1 * v2)
    np.testing.assert_allclose(s["velocity"]["w"], v2)
    _, p2, _ = two_steps(optim.SGD(lr=0.1, momentum=0.9, nesterov=True))
    np.testing.assert_allclose(p2, P["w"] - 0.1 * (G1["w"] + 0.9 * v1) - 0.1 * (G2["w"] + 0.9 * v2))
    p1, _, _ = two_steps(optim.SGD(lr=0.1, weight_decay=0.5))
    np.testing.assert_allclose(p1, P["w"] - 0.1 * (G1["w"] + 0.5 * P["w"]))
    with pytest.raises(ValueError, match="nesterov=True needs a non-zero momentum"):
        optim.SGD(0.1, nesterov=True)


def _adam_reference(grads, p, lr, b1, b2, eps, wd=0.0, decoupled=False):
    m = v = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        if wd and not decoupled:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        p = p - lr * (step + (wd * p if decoupled else 0))
    return p


def test_adam_and_adamw_match_the_paper_equations():
    _, p2, s = two_steps(optim.Adam(lr=0.01, b1=0.8, b2=0.9, eps=1e-6))
    np.testing.assert_allclose(p2, _adam_reference([G1["w"], G2["w"]], P["w"], 0.01, 0.8, 0.9,
                                                   1e-6), rtol=1e-14)
    assert s["step"] == 2 and set(s) == {"step", "mu", "nu"}
    _, p2, _ = two_steps(optim.Adam(lr=0.01, weight_decay=0.1))
    np.testing.assert_allclose(p2, _adam_reference([G1["w"], G2["w"]], P["w"], 0.01, 0.9,
                                                   0.999, 1e-8, wd=0.1), rtol=1e-14)
    _, p2, _ = two_steps(optim.AdamW(lr=0.01, weight_decay=0.1))
    np.testing.assert_allclose(p2, _adam_reference([G1["w"], G2["w"]], P["w"], 0.01, 0.9,
                                                   0.999, 1e-8, wd=0.1, decoupled=True),
                               rtol=1e-14)


def test_rmsprop_with_and_without_momentum_by_hand():
    _, p2, _ = two_steps(optim.RMSProp(lr=0.01, decay=0.9, eps=1e-8))
    nu1 = 0.1 * G1["w"] ** 2
    nu2 = 0.9 * nu1 + 0.1 * G2["w"] ** 2
    s1, s2 = G1["w"] / (np.sqrt(nu1) + 1e-8), G2["w"] / (np.sqrt(nu2) + 1e-8)
    np.testing.assert_allclose(p2, P["w"] - 0.01 * s1 - 0.01 * s2, rtol=1e-14)
    _, p2, s = two_steps(optim.RMSProp(lr=0.01, decay=0.9, momentum=0.5))
    np.testing.assert_allclose(p2, P["w"] - 0.01 * s1 - 0.01 * (0.5 * s1 + s2), rtol=1e-12)
    assert set(s) == {"step", "nu", "velocity"}


def test_clip_by_global_norm_scales_all_leaves_together():
    grads = {"a": np.array([3.0]), "b": {"c": np.array([4.0])}}
    clipped, norm = optim.clip_by_global_norm(grads, 2.5)
    assert norm == 5.0
    assert clipped["a"].tolist() == [1.5] and clipped["b"]["c"].tolist() == [2.0]
    same, _ = optim.clip_by_global_norm(grads, 10.0)
    assert same is grads
    opt = optim.SGD(lr=1.0, clip_norm=1.0)
    p, _ = opt.update({"w": np.array([30.0, 40.0])}, opt.init({"w": np.zeros(2)}),
                      {"w": np.zeros(2)})
    np.testing.assert_allclose(p["w"], [-0.6, -0.8])


def test_frozen_tied_and_none_entries_are_untouched_and_have_no_slots():
    params = {"w": np.ones(2), "f": nn.frozen(np.ones(3)), "t": nn.tied("w"), "n": None}
    opt = optim.Adam(lr=0.1)
    state = opt.init(params)
    assert state["mu"]["f"] is None and state["mu"]["t"] is None
    grads = gl.grad(lambda p: np.sum(nn.resolve(p)["w"] * nn.resolve(p)["t"]))(params)
    new, state = opt.update(grads, state, params)
    assert new["f"] is params["f"] and new["t"] is params["t"] and new["n"] is None
    assert np.all(new["w"] < 1.0)


def test_update_is_pure_and_preserves_float32():
    params = {"w": np.ones(3, np.float32)}
    opt = optim.Adam(lr=0.1)
    state = opt.init(params)
    new, new_state = opt.update({"w": np.ones(3, np.float32)}, state, params)
    assert params["w"].tolist() == [1.0, 1.0, 1.0] and state["step"] == 0
    assert new["w"].dtype == np.float32 and new_state["mu"]["w"].dtype == np.float32


def test_structure_mismatch_errors():
    opt = optim.SGD(lr=0.1, momentum=0.9)
    state = opt.init({"w": np.ones(2)})
    with pytest.raises(ValueError, match="SGD.update: the gradient's structure"):
        opt.update({"v": np.ones(2)}, state, {"w": np.ones(2)})
    with pytest.raises(ValueError, match=r"state\['velocity'\] does not match the parameters"):
        opt.update({"w": np.ones(2), "b": np.ones(1)}, state, {"w": np.ones(2), "b": np.ones(1)})


def test_schedules_known_values():
    assert optim.constant(0.3)(10**6) == 0.3
    cos = optim.cosine_decay(1.0, 100, final=0.1)
    assert cos(0) == 1.0 and cos(100) == pytest.approx(0.1) and cos(500) == pytest.approx(0.1)
    assert cos(50) == pytest.approx(0.55)
    lin = optim.linear_decay(2.0, 10)
    assert [lin(s) for s in (0, 5, 10, 20)] == [2.0, 1.0, 0.0, 0.0]
    st = optim.step_decay(1.0, every=3, factor=0.5)
    assert [st(s) for s in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert optim.schedules.step is optim.step_decay
    wu = optim.warmup(optim.cosine_decay(1.0, 10), 5)
    assert [wu(s) for s in range(6)] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert wu(10) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))
    with pytest.raises(ValueError, match="decay_steps must be positive, got 0"):
        optim.cosine_decay(1.0, 0)


def test_schedule_drives_the_step_size():
    opt = optim.SGD(lr=optim.step_decay(1.0, every=1, factor=0.5))
    p, s = {"w": np.zeros(1)}, opt.init({"w": np.zeros(1)})
    for _ in range(3):
        p, s = opt.update({"w": np.ones(1)}, s, p)
    assert p["w"].tolist() == [-1.75]  # 1 + 0.5 + 0.25


def test_optimizers_minimise_a_quadratic():
    target = np.array([3.0, -1.0])
    for opt in (optim.SGD(0.1, momentum=0.9), optim.Adam(0.1), optim.AdamW(0.1, weight_decay=0),
                optim.RMSProp(0.05)):
        p, s = {"w": np.zeros(2)}, opt.init({"w": np.zeros(2)})
        for _ in range(300):
            g = gl.grad(lambda q: np.sum((q["w"] - target) ** 2))(p)
            p, s = opt.update(g, s, p)
        np.testing.assert_allclose(p["w"], target, atol=0.05, err_msg=repr(opt))


def test_repr_shows_the_hyperparameters():
    assert repr(optim.SGD(0.1, momentum=0.9)) == (
        "SGD(lr=0.1, clip_norm=None, momentum=0.9, nesterov=False, weight_decay=0.0)")
