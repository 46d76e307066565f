"""gradlab.nn layers: linear, embedding, norms, batch norm state, dropout."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab import nn

RNG = np.random.default_rng(2)


def test_linear_value_and_finite_differences():
    x, w, b = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2)), RNG.normal(size=2)
    np.testing.assert_allclose(nn.linear(x, w, b), x @ w + b)
    np.testing.assert_allclose(nn.linear(x, w), x @ w)
    gl.check_grads(nn.linear, x, w, b)


def test_embedding_gathers_rows_and_scatter_adds_repeated_ids():
    table = RNG.normal(size=(4, 3))
    ids = np.array([[1, 3], [1, 1]])
    np.testing.assert_array_equal(nn.embedding(ids, table), table[ids])
    g = gl.grad(lambda t: np.sum(nn.embedding(ids, t)))(table)
    assert g[:, 0].tolist() == [0.0, 3.0, 0.0, 1.0]
    gl.check_grads(lambda t: nn.embedding(ids, t), table)
    with pytest.raises(TypeError, match="embedding needs integer ids, got dtype float64"):
        nn.embedding(np.array([0.0]), table)


def test_layer_norm_matches_formula_and_finite_differences():
    x, g, b = RNG.normal(size=(3, 5)), RNG.normal(size=5), RNG.normal(size=5)
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(nn.layer_norm(x, g, b), (x - mu) / np.sqrt(var + 1e-5) * g + b)
    gl.check_grads(nn.layer_norm, x, g, b)
    gl.check_grads(lambda a: nn.layer_norm(a, axis=(0, 1)), x)


def test_rms_norm_matches_formula_and_finite_differences():
    x, g = RNG.normal(size=(3, 5)), RNG.normal(size=5)
    expected = x / np.sqrt(np.mean(x**2, -1, keepdims=True) + 1e-6) * g
    np.testing.assert_allclose(nn.rms_norm(x, g), expected)
    gl.check_grads(nn.rms_norm, x, g)


def test_group_norm_normalises_each_group_and_matches_finite_differences():
    x, g, b = RNG.normal(size=(2, 6, 3, 2)), RNG.normal(size=6), RNG.normal(size=6)
    grouped = x.reshape(2, 3, 2, 3, 2)
    mu = grouped.mean(axis=(2, 3, 4), keepdims=True)
    var = grouped.var(axis=(2, 3, 4), keepdims=True)
    ref = ((grouped - mu) / np.sqrt(var + 1e-5)).reshape(x.shape) * g[:, None, None] + b[
        :, None, None]
    np.testing.assert_allclose(nn.group_norm(x, 3, g, b), ref, atol=1e-12)
    gl.check_grads(lambda a, c, d: nn.group_norm(a, 3, c, d), x, g, b)
    with pytest.raises(ValueError, match="6 channels do not split into 4 groups"):
        nn.group_norm(x, 4)


def test_batch_norm_training_uses_batch_statistics_and_updates_running_stats():
    x = RNG.normal(3.0, 2.0, size=(8, 3, 2, 2))
    g, b = RNG.normal(size=3), RNG.normal(size=3)
    state = nn.batch_norm_state(3)
    y, new = nn.batch_norm(x, g, b, state, momentum=0.25)
    mu = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    ref = (x - mu[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    np.testing.assert_allclose(y, ref * g[:, None, None] + b[:, None, None], atol=1e-12)
    np.testing.assert_allclose(new["mean"], 0.25 * mu)
    np.testing.assert_allclose(new["var"], 0.75 + 0.25 * var * 32 / 31)  # unbiased
    assert state["mean"].tolist() == [0.0, 0.0, 0.0]  # the input state is not modified


def test_batch_norm_eval_uses_running_stats_and_returns_them_unchanged():
    x = RNG.normal(size=(4, 3))
    state = {"mean": np.array([1.0, 2.0, 3.0]), "var": np.array([4.0, 1.0, 0.25])}
    y, new = nn.batch_norm(x, None, None, state, training=False, eps=0.0)
    np.testing.assert_allclose(y, (x - state["mean"]) / np.sqrt(state["var"]))
    assert new is state


def test_batch_norm_gradients_match_finite_differences_and_skip_the_statistics():
    x = RNG.normal(size=(6, 3, 2))
    g, b = RNG.normal(size=3), RNG.normal(size=3)
    state = nn.batch_norm_state(3)
    gl.check_grads(lambda a, c, d: nn.batch_norm(a, c, d, state)[0], x, g, b)
    eval_state = {"mean": RNG.normal(size=3), "var": RNG.uniform(0.5, 2, size=3)}
    gl.check_grads(lambda a, c, d: nn.batch_norm(a, c, d, eval_state, training=False)[0],
                   x, g, b)

    def loss(p):
        y, new = nn.batch_norm(x * p, None, None, state)
        return np.sum(y**2), new

    _, new_state = gl.grad(loss, has_aux=True)(np.float64(2.0))
    assert type(new_state["mean"]) is np.ndarray  # statistics carry no gradient


def test_dropout_is_deterministic_per_key_scales_and_is_identity_in_eval():
    x = np.ones((200, 50))
    k1, k2 = gl.random.split(gl.random.key(3))
    a, b, c = nn.dropout(x, k1, 0.2), nn.dropout(x, k1, 0.2), nn.dropout(x, k2, 0.2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(np.unique(a).tolist()) == {0.0, 1.25}
    assert abs(np.mean(a == 0) - 0.2) < 0.01
    assert nn.dropout(x, k1, 0.2, training=False) is x
    assert nn.dropout(x, k1, 0.0) is x
    mask = a != 0
    g = gl.grad(lambda v: np.sum(nn.dropout(v, k1, 0.2)))(x)
    np.testing.assert_array_equal(g, np.where(mask, 1.25, 0.0))
    gl.check_grads(lambda v: nn.dropout(v, k1, 0.5), RNG.normal(size=(3, 4)))
    with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\), got 1.0"):
        nn.dropout(x, k1, 1.0)


def test_embedding_and_layer_norm_batch_under_vmap():
    table = RNG.normal(size=(5, 3))
    ids = np.array([[0, 1], [4, 4], [2, 3]])
    np.testing.assert_array_equal(gl.vmap(lambda i: nn.embedding(i, table))(ids), table[ids])
    x = RNG.normal(size=(4, 6))
    np.testing.assert_allclose(gl.vmap(nn.layer_norm)(x), nn.layer_norm(x), atol=1e-14)
