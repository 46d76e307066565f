"""A whole autograd training script: ``autograd.misc.optimizers.adam`` over a pytree of
params with an ``objective(params, iter)`` and a callback, imports changed to gradlab's."""

import numpy as np
from scipy.special import logsumexp

from gradlab import grad
from gradlab.misc.optimizers import adam


def init_random_params(scale, layer_sizes, rs):
    return [(scale * rs.randn(m, n), scale * rs.randn(n))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]


def neural_net_predict(params, inputs):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1, keepdims=True)


def train(num_iters=30, batch_size=4):
    rs = np.random.RandomState(25)
    inputs = rs.randn(12, 3)
    targets = np.eye(2)[(inputs[:, 0] * inputs[:, 1] > 0).astype(int)]
    num_batches = len(inputs) // batch_size

    def objective(params, iter):
        idx = slice((iter % num_batches) * batch_size, (iter % num_batches + 1) * batch_size)
        return -np.sum(neural_net_predict(params, inputs[idx]) * targets[idx])

    losses = []

    def print_perf(params, iter, gradient):
        losses.append(-np.sum(neural_net_predict(params, inputs) * targets))

    init_params = init_random_params(0.3, [3, 8, 2], rs)
    adam(grad(objective), init_params, step_size=0.05, num_iters=num_iters, callback=print_perf)
    return losses
