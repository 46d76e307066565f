"""Parameters flattened into one vector with a hand-written unflatten (autograd.misc.flatten)."""

import numpy as np


def flatten(params):
    shapes = [np.shape(p) for p in params]
    sizes = [int(np.prod(s)) for s in shapes]

    def unflatten(vector):
        out, start = [], 0
        for shape, size in zip(shapes, sizes):
            out.append(np.reshape(vector[start:start + size], shape))
            start += size
        return out

    return np.concatenate([np.ravel(p) for p in params]), unflatten


SHAPES = [(3, 4), (4,), (4, 1), (1,)]


def loss(flat_params, X, y):
    _, unflatten = flatten([np.zeros(s) for s in SHAPES])
    W1, b1, W2, b2 = unflatten(flat_params)
    hidden = np.log1p(np.exp(X @ W1 + b1))
    pred = (hidden @ W2 + b2)[:, 0]
    return np.mean((pred - y) ** 2)


def setup():
    rs = np.random.RandomState(18)
    flat, _ = flatten([0.5 * rs.randn(*s) for s in SHAPES])
    X = rs.randn(8, 3)
    return flat, (X, np.sin(X[:, 0]))
