"""A JAX-style Elman RNN whose time loop is ``lax.scan`` over (carry, x_t) -> (carry, y_t)."""

import numpy as np

from gradlab import lax


def rnn_loss(params, xs, ys):
    W_h, W_x, W_y, b = params["W_h"], params["W_x"], params["W_y"], params["b"]

    def step(h, x):
        h = np.tanh(h @ W_h + x @ W_x + b)
        return h, h @ W_y

    h0 = np.zeros((xs.shape[1], W_h.shape[0]))
    _, preds = lax.scan(step, h0, xs)
    return np.mean((preds - ys) ** 2)


def loss(params, xs, ys):
    return rnn_loss(params, xs, ys)


def setup():
    rs = np.random.RandomState(28)
    params = {"W_h": 0.4 * rs.randn(4, 4), "W_x": 0.4 * rs.randn(2, 4),
              "W_y": 0.4 * rs.randn(4, 1), "b": 0.1 * rs.randn(4)}
    return params, (rs.randn(6, 3, 2), rs.randn(6, 3, 1))
