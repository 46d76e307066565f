"""An MLP with LayerNorm and Dropout on the digits, built from ``gradlab.nn``.

dense 128 -> layer norm -> gelu -> dropout 0.2 -> dense 10, trained with AdamW. The
dropout mask comes from a key folded in with the step number, so a run is exactly
reproducible and the gradient check (one fixed key) is deterministic.
"""

from __future__ import annotations

import gradlab as gl
from gradlab import nn
from gradlab.examples.common import load_digits_split
from gradlab.examples.training import fit, with_step_keys
from gradlab.training import minibatches

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True

NAME = "mlp + layernorm + dropout"
# Held-out accuracy of a full run and of --quick (the demo prints it next to the result).
EXPECTED = (0.95, 0.99)
EXPECTED_QUICK = (0.93, 0.99)
HIDDEN, DROPOUT = 128, 0.2
EPOCHS, QUICK_EPOCHS = 30, 10
BATCH = 64


def init_params(key, n_in, n_out):
    k1, k2 = gl.random.split(key)
    return {"hidden": nn.init_linear(k1, n_in, HIDDEN), "norm": nn.init_layer_norm(HIDDEN),
            "out": nn.init_linear(k2, HIDDEN, n_out)}


def predict(p, X, key=None):
    h = nn.linear(X, p["hidden"]["w"], p["hidden"]["b"])
    h = nn.gelu(nn.layer_norm(h, p["norm"]["gamma"], p["norm"]["beta"]))
    h = nn.dropout(h, key, DROPOUT, training=key is not None)
    return nn.linear(h, p["out"]["w"], p["out"]["b"])


def loss(p, X, y, key):
    return nn.cross_entropy(predict(p, X, key), y)


def train(quick: bool = False) -> dict:
    split = load_digits_split()
    key = gl.random.key(1)
    data = minibatches(gl.random.fold_in(key, 1), (split.X_train, split.y_train), BATCH)
    per_epoch: int = data.steps_per_epoch  # type: ignore[attr-defined]
    steps = (QUICK_EPOCHS if quick else EPOCHS) * per_epoch
    opt = gl.optim.AdamW(gl.optim.cosine_decay(3e-3, steps), weight_decay=1e-3)

    def evaluate(p):
        return (nn.accuracy(predict(p, split.X_train), split.y_train),
                nn.accuracy(predict(p, split.X_test), split.y_test))

    params = init_params(gl.random.fold_in(key, 0), split.X_train.shape[1], split.n_classes)
    check = (split.X_train[:8], split.y_train[:8], gl.random.key(2))
    return fit(NAME, loss, params, with_step_keys(data, gl.random.fold_in(key, 2)), steps, opt,
               check, evaluate, log_every=50)
