"""A GRU character model on the Zen of Python, built from ``gradlab.nn``.

embedding -> GRU (unrolled over the window, one ``gru_cell`` per character) ->
dense logits at every step. Trained on the first 85% of the text; reports
next-character accuracy on the held-out rest.
"""

from __future__ import annotations

import numpy as np

import gradlab as gl
from gradlab import nn
from gradlab.examples.text import load_text, next_char_accuracy
from gradlab.examples.training import fit

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True

NAME = "gru (chars)"
# Held-out accuracy of a full run and of --quick (the demo prints it next to the result).
EXPECTED = (0.40, 0.55)
EXPECTED_QUICK = (0.36, 0.52)
CONTEXT, EMBED, HIDDEN = 24, 32, 128
STEPS, QUICK_STEPS = 500, 150
BATCH = 32


def init_params(key, vocab):
    k_emb, k_gru, k_out = gl.random.split(key, 3)
    return {"emb": nn.init_embedding(k_emb, vocab, EMBED),
            "gru": nn.init_gru(k_gru, EMBED, HIDDEN),
            "out": nn.init_linear(k_out, HIDDEN, vocab)}


def run(p, ids, targets=None):
    """Unroll the GRU over the window: the mean loss if ``targets`` is given, else the
    logits of the character after the window."""
    x = nn.embedding(ids, p["emb"])  # (batch, time, EMBED)
    h = np.zeros(ids.shape[:-1] + (HIDDEN,))
    total = 0.0
    for t in range(ids.shape[-1]):
        h = nn.gru_cell(x[:, t], h, p["gru"])
        if targets is not None:
            total = total + nn.cross_entropy(nn.linear(h, p["out"]["w"], p["out"]["b"]),
                                             targets[:, t])
    if targets is None:
        return nn.linear(h, p["out"]["w"], p["out"]["b"])
    return total / ids.shape[-1]


def loss(p, ids, targets):
    return run(p, ids, targets)


def train(quick: bool = False) -> dict:
    data = load_text()
    key = gl.random.key(4)
    batches = data.train_batches(gl.random.fold_in(key, 1), CONTEXT, BATCH)
    steps = QUICK_STEPS if quick else STEPS
    opt = gl.optim.Adam(gl.optim.cosine_decay(1e-2, steps, final=1e-3), clip_norm=1.0)
    params = init_params(gl.random.fold_in(key, 0), data.vocab_size)

    def evaluate(p):
        fn = lambda x: run(p, x)  # noqa: E731
        return (next_char_accuracy(fn, data, CONTEXT, CONTEXT, data.split),
                next_char_accuracy(fn, data, CONTEXT, data.split, len(data.ids)))

    check = tuple(a[:2, :6] for a in batches(0))
    return fit(NAME, loss, params, batches, steps, opt, check, evaluate, log_every=50)
