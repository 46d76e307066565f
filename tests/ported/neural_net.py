"""A classifier MLP: params a list of (W, b) tuples, log-softmax by scipy's logsumexp."""

import numpy as np
from scipy.special import logsumexp


def init_random_params(scale, layer_sizes, rs):
    return [(scale * rs.randn(m, n), scale * rs.randn(n))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]


def neural_net_predict(params, inputs):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1, keepdims=True)


def l2_norm(params):
    return sum(np.sum(W ** 2) + np.sum(b ** 2) for W, b in params)


def log_posterior(params, inputs, targets, L2_reg):
    log_prior = -L2_reg * l2_norm(params)
    log_lik = np.sum(neural_net_predict(params, inputs) * targets)
    return log_prior + log_lik


def loss(params, inputs, targets):
    return -log_posterior(params, inputs, targets, 0.1)


def setup():
    rs = np.random.RandomState(0)
    params = init_random_params(0.5, [4, 6, 3], rs)
    inputs = rs.randn(10, 4)
    targets = np.eye(3)[rs.randint(0, 3, size=10)]
    return params, (inputs, targets)
