"""A small convolutional network on the 8x8 digits, built from ``gradlab.nn``.

conv 3x3 (16) -> relu -> conv 3x3 (32) -> relu -> max-pool 2 -> dense 64 -> relu ->
dense 10, trained with Adam on minibatches.
"""

from __future__ import annotations

import gradlab as gl
from gradlab import nn
from gradlab.examples.common import load_digits_split
from gradlab.examples.training import fit
from gradlab.training import minibatches

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True

NAME = "cnn"
# Held-out accuracy of a full run and of --quick (the demo prints it next to the result).
EXPECTED = (0.96, 1.00)
EXPECTED_QUICK = (0.95, 1.00)
EPOCHS, QUICK_EPOCHS = 25, 8
BATCH = 64


def init_params(key):
    k1, k2, k3, k4 = gl.random.split(key, 4)
    return {
        "conv1": nn.init_conv2d(k1, 1, 16, 3),
        "conv2": nn.init_conv2d(k2, 16, 32, 3),
        "dense": nn.init_linear(k3, 32 * 4 * 4, 64, init=nn.he),
        "out": nn.init_linear(k4, 64, 10),
    }


def predict(p, X):
    x = X.reshape(-1, 1, 8, 8)
    x = nn.relu(nn.conv2d(x, p["conv1"]["w"], p["conv1"]["b"], padding=1))
    x = nn.relu(nn.conv2d(x, p["conv2"]["w"], p["conv2"]["b"], padding=1))
    x = nn.max_pool2d(x, 2)
    x = x.reshape(x.shape[0], -1)  # methods work on arrays and traced values alike
    x = nn.relu(nn.linear(x, p["dense"]["w"], p["dense"]["b"]))
    return nn.linear(x, p["out"]["w"], p["out"]["b"])


def loss(p, X, y):
    return nn.cross_entropy(predict(p, X), y)


def train(quick: bool = False) -> dict:
    split = load_digits_split()
    key = gl.random.key(0)
    batches = minibatches(gl.random.fold_in(key, 1), (split.X_train, split.y_train), BATCH)
    per_epoch: int = batches.steps_per_epoch  # type: ignore[attr-defined]
    steps = (QUICK_EPOCHS if quick else EPOCHS) * per_epoch
    opt = gl.optim.Adam(gl.optim.cosine_decay(3e-3, steps, final=3e-4))

    def evaluate(p):
        return (nn.accuracy(predict(p, split.X_train), split.y_train),
                nn.accuracy(predict(p, split.X_test), split.y_test))

    check = (split.X_train[:8], split.y_train[:8])
    return fit(NAME, loss, init_params(key), batches, steps, opt, check, evaluate, log_every=50)
