"""Multinomial logistic regression on digits, written in plain numpy."""

from __future__ import annotations

import numpy as np

from gradlab.examples.common import Config, fit_classifier, load_digits_split, softmax_cross_entropy

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True

NAME = "logistic regression"
# Held-out accuracy of a full run and of --quick (the demo prints it next to the result).
EXPECTED = (0.93, 0.98)
EXPECTED_QUICK = (0.93, 0.98)
CONFIG = Config(epochs=20, quick_epochs=6, lr=0.05, log_every=25)
WEIGHT_DECAY = 1e-4


def predict(params, X):
    return X @ params["W"] + params["b"]


def loss(params, X, Y):
    data_term = softmax_cross_entropy(predict(params, X), Y)
    return data_term + WEIGHT_DECAY * np.sum(params["W"] ** 2)


def train(quick: bool = False) -> dict:
    split = load_digits_split()
    rng = np.random.default_rng(1)
    n_in, n_out = split.X_train.shape[1], split.n_classes
    params = {"W": 0.01 * rng.normal(size=(n_in, n_out)), "b": np.zeros(n_out)}
    return fit_classifier(NAME, params, loss, predict, split, CONFIG, quick)
