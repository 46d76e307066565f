"""A neural ODE fitted by integrating with fixed-step RK4 in a Python loop."""

import numpy as np


def nn_dynamics(state, t, params):
    W1, b1, W2, b2 = params
    hidden = np.tanh(np.dot(np.append(state, t), W1) + b1)
    return np.dot(hidden, W2) + b2


def rk4(f, y0, ts, params):
    ys = [y0]
    y = y0
    for t0, t1 in zip(ts[:-1], ts[1:]):
        h = t1 - t0
        k1 = f(y, t0, params)
        k2 = f(y + h * k1 / 2, t0 + h / 2, params)
        k3 = f(y + h * k2 / 2, t0 + h / 2, params)
        k4 = f(y + h * k3, t1, params)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ys.append(y)
    return np.stack(ys)


def loss(params, y0, ts, targets):
    pred = rk4(nn_dynamics, y0, ts, params)
    return np.mean(np.sum((pred - targets) ** 2, axis=1))


def setup():
    rs = np.random.RandomState(5)
    params = [0.5 * rs.randn(3, 6), 0.1 * rs.randn(6), 0.5 * rs.randn(6, 2), 0.1 * rs.randn(2)]
    ts = np.linspace(0.0, 1.0, 6)
    targets = np.stack([np.cos(2 * ts), np.sin(2 * ts)], axis=1)
    return params, (np.array([1.0, 0.0]), ts, targets)
