"""An ensemble's loss: np.mean / np.std / np.linalg.norm over Python lists of traced values."""

import numpy as np


def member_loss(w, X, y):
    return np.mean((X @ w - y) ** 2)


def loss(members, X, y):
    losses = [member_loss(w, X, y) for w in members]
    preds = [X @ w for w in members]
    spread = np.std(np.stack(preds), axis=0)
    return np.mean(losses) + 0.1 * np.std(losses) - 0.05 * np.mean(spread) \
        + 0.01 * np.linalg.norm([np.sum(w) for w in members])


def setup():
    rs = np.random.RandomState(22)
    X = rs.randn(8, 3)
    y = X @ np.array([1.0, 0.5, -0.3])
    return [rs.randn(3) for _ in range(3)], (X, y)
