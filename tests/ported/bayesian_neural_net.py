"""A Bayesian neural net by BBVI: a flat weight vector unpacked into layers by shape."""

import numpy as np
from scipy.stats import norm


def make_nn_funs(layer_sizes, noise_variance=0.1):
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    num_weights = sum((m + 1) * n for m, n in shapes)

    def unpack_layers(weights):
        num_samples = len(weights)
        for m, n in shapes:
            yield (weights[:, :m * n].reshape((num_samples, m, n)),
                   weights[:, m * n:m * n + n].reshape((num_samples, 1, n)))
            weights = weights[:, (m + 1) * n:]

    def predictions(weights, inputs):
        inputs = np.expand_dims(inputs, 0)
        for W, b in unpack_layers(weights):
            outputs = np.einsum('mnd,mdo->mno', inputs, W) + b
            inputs = np.maximum(outputs, 0.0) + 0.1 * np.minimum(outputs, 0.0)
        return outputs

    def logprob(weights, inputs, targets):
        log_prior = -np.sum(weights ** 2, axis=1) / 2.0
        preds = predictions(weights, inputs)
        log_lik = -np.sum((preds - targets) ** 2, axis=1)[:, 0] / noise_variance
        return log_prior + log_lik

    return num_weights, logprob


def loss(params, inputs, targets, noise):
    D, logprob = make_nn_funs([1, 4, 1])
    mean, log_std = params[:D], params[D:]
    samples = noise[:, :D] * np.exp(log_std) + mean
    entropy = np.sum(norm.logpdf(noise[:, :D])) / len(noise)
    return -(np.sum(log_std) - entropy + np.mean(logprob(samples, inputs, targets)))


def setup():
    rs = np.random.RandomState(3)
    D = 2 * 4 + 5 * 1
    inputs = np.linspace(-1, 1, 6).reshape(-1, 1)
    targets = np.cos(3 * inputs)
    params = np.concatenate([0.5 * rs.randn(D), -2 * np.ones(D)])
    return params, (inputs, targets, rs.randn(5, D))
