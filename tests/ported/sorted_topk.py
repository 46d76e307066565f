"""A trimmed loss: per-example losses in a list, sorted by value, the worst ones dropped."""

import numpy as np


def per_example_losses(w, X, y):
    return list(map(lambda xy: (np.dot(xy[0], w) - xy[1]) ** 2, zip(X, y)))


def loss(w, X, y):
    losses = sorted(per_example_losses(w, X, y))
    kept = losses[:len(losses) - 2]
    return sum(kept) / len(kept) + 0.01 * max(np.abs(w))


def setup():
    rs = np.random.RandomState(14)
    X = rs.randn(9, 3)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rs.randn(9)
    y[2] += 10.0
    y[6] -= 7.0
    return np.array([0.3, -0.1, 0.2]), (X, y)
