"""A GAN's generator and discriminator objectives: leaky ReLU by np.where, log-sigmoids."""

import numpy as np


def relu(x):
    return np.where(x > 0, x, 0.2 * x)


def sigmoid(x):
    return 0.5 * (np.tanh(x) + 1.0)


def logsigmoid(x):
    return x - np.logaddexp(0, x)


def neural_net_predict(params, inputs):
    inpts = inputs
    for W, b in params:
        outputs = np.dot(inpts, W) + b
        inpts = relu(outputs)
    return outputs


def gan_objective(gen_params, dsc_params, real_data, noise):
    fake_data = neural_net_predict(gen_params, noise)
    logprobs_fake = logsigmoid(neural_net_predict(dsc_params, fake_data))
    logprobs_real = logsigmoid(neural_net_predict(dsc_params, real_data))
    return np.mean(logprobs_real) - np.mean(logprobs_fake)


def loss(params, real_data, noise):
    gen_params, dsc_params = params
    return gan_objective(gen_params, dsc_params, real_data, noise)


def setup():
    rs = np.random.RandomState(10)

    def init(sizes):
        return [(0.4 * rs.randn(m, n), 0.1 * rs.randn(n)) for m, n in zip(sizes[:-1], sizes[1:])]

    return (init([2, 5, 3]), init([3, 4, 1])), (rs.randn(8, 3), rs.randn(8, 2))
