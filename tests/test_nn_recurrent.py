"""gradlab.nn recurrent cells against direct numpy formulas; gradients through time."""

from __future__ import annotations

import numpy as np

import gradlab as gl
from gradlab import nn

RNG = np.random.default_rng(5)


def _sig(z):
    return 1 / (1 + np.exp(-z))


def test_gru_cell_matches_pytorch_equations():
    p = nn.init_gru(gl.random.key(0), 3, 4)
    p = {k: v + RNG.normal(size=v.shape) * 0.3 for k, v in p.items()}
    x, h = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 4))
    a, b = x @ p["wx"] + p["bx"], h @ p["wh"] + p["bh"]
    r = _sig(a[:, :4] + b[:, :4])
    z = _sig(a[:, 4:8] + b[:, 4:8])
    n = np.tanh(a[:, 8:] + r * b[:, 8:])
    np.testing.assert_allclose(nn.gru_cell(x, h, p), (1 - z) * n + z * h, atol=1e-14)
    gl.check_grads(nn.gru_cell, x, h, p)


def test_lstm_cell_matches_equations_and_forget_bias():
    p = nn.init_lstm(gl.random.key(0), 3, 2, forget_bias=1.0)
    assert p["b"].tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    x, h, c = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 2)), RNG.normal(size=(5, 2))
    z = x @ p["wx"] + h @ p["wh"] + p["b"]
    i, f, g, o = _sig(z[:, :2]), _sig(z[:, 2:4]), np.tanh(z[:, 4:6]), _sig(z[:, 6:])
    c2 = f * c + i * g
    h2, c2_got = nn.lstm_cell(x, (h, c), p)
    np.testing.assert_allclose(c2_got, c2, atol=1e-14)
    np.testing.assert_allclose(h2, o * np.tanh(c2), atol=1e-14)
    gl.check_grads(lambda a, hh, cc, prm: nn.lstm_cell(a, (hh, cc), prm), x, h, c, p)


def test_gradient_through_an_unrolled_gru_matches_finite_differences():
    p = nn.init_gru(gl.random.key(1), 2, 3)
    xs = RNG.normal(size=(6, 4, 2))  # time, batch, features

    def final_state_norm(prm):
        h = np.zeros((4, 3))
        for x in xs:
            h = nn.gru_cell(x, h, prm)
        return np.sum(h**2)

    gl.check_grads(final_state_norm, p, modes=("rev",), order=1)
