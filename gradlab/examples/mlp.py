"""A 64-64-10 tanh multilayer perceptron on digits, written in plain numpy."""

from __future__ import annotations

import numpy as np

from gradlab.examples.common import Config, fit_classifier, load_digits_split, softmax_cross_entropy

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True

NAME = "mlp"
# Held-out accuracy of a full run and of --quick (the demo prints it next to the result).
EXPECTED = (0.94, 0.99)
EXPECTED_QUICK = (0.93, 0.99)
HIDDEN = 64
CONFIG = Config(epochs=30, quick_epochs=10, lr=0.05, log_every=50)
WEIGHT_DECAY = 3e-3


def predict(params, X):
    h = np.tanh(X @ params["W1"] + params["b1"])
    return h @ params["W2"] + params["b2"]


def loss(params, X, Y):
    data_term = softmax_cross_entropy(predict(params, X), Y)
    penalty = np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2)
    return data_term + WEIGHT_DECAY * penalty


def init_params(rng, n_in: int, n_hidden: int, n_out: int) -> dict:
    """Glorot-uniform weights, zero biases."""

    def glorot(fan_in, fan_out):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=(fan_in, fan_out))

    return {
        "W1": glorot(n_in, n_hidden),
        "b1": np.zeros(n_hidden),
        "W2": glorot(n_hidden, n_out),
        "b2": np.zeros(n_out),
    }


def train(quick: bool = False) -> dict:
    split = load_digits_split()
    params = init_params(np.random.default_rng(2), split.X_train.shape[1], HIDDEN, split.n_classes)
    return fit_classifier(NAME, params, loss, predict, split, CONFIG, quick)
