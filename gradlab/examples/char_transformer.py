"""A one-block Transformer character model on the Zen of Python, built from ``gradlab.nn``.

token + position embeddings -> [pre-norm causal multi-head attention, pre-norm GELU
MLP] with residuals -> layer norm -> logits through the token embedding itself (a
``tied`` parameter: one array, two uses, gradients from both). Trained on the first
85% of the text; reports next-character accuracy on the held-out rest.
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

NAME = "transformer (chars)"
# Held-out accuracy of a full run and of --quick (the demo prints it next to the result).
EXPECTED = (0.38, 0.50)
EXPECTED_QUICK = (0.30, 0.45)
CONTEXT, DIM, HEADS = 32, 64, 4
STEPS, QUICK_STEPS = 500, 150
BATCH = 32


def init_params(key, vocab):
    ks = gl.random.split(key, 5)
    k_fc1, k_fc2 = gl.random.split(ks[3])
    return {
        "emb": nn.init_embedding(ks[0], vocab, DIM, std=0.1),
        "pos": nn.normal(ks[1], (CONTEXT, DIM), std=0.1),
        "ln1": nn.init_layer_norm(DIM),
        "attn": nn.init_mha(ks[2], DIM),
        "ln2": nn.init_layer_norm(DIM),
        "fc1": nn.init_linear(k_fc1, DIM, 4 * DIM),
        "fc2": nn.init_linear(k_fc2, 4 * DIM, DIM),
        "ln_f": nn.init_layer_norm(DIM),
        "head": nn.tied("emb"),  # the output projection is the embedding, transposed
    }


def _ln(x, p):
    return nn.layer_norm(x, p["gamma"], p["beta"])


def logits(p, ids):
    t = ids.shape[-1]
    x = nn.embedding(ids, p["emb"]) + p["pos"][:t]
    x = x + nn.multi_head_attention(_ln(x, p["ln1"]), p["attn"], HEADS, causal=True)
    h = nn.gelu(nn.linear(_ln(x, p["ln2"]), p["fc1"]["w"], p["fc1"]["b"]), approximate=True)
    x = x + nn.linear(h, p["fc2"]["w"], p["fc2"]["b"])
    return _ln(x, p["ln_f"]) @ p["head"].T


def loss(p, ids, targets):
    return nn.cross_entropy(logits(p, ids), targets)


def generate(p, data, prompt: str, n: int, key) -> str:
    """Sample ``n`` characters after ``prompt`` (every character in the model's alphabet)."""
    p = nn.resolve(p)
    ids = [data.chars.index(c) for c in prompt]
    for i in range(n):
        out = logits(p, np.array(ids[-CONTEXT:]))[-1]
        ids.append(int(gl.random.categorical(gl.random.fold_in(key, i), out * 2.0)))
    return data.decode(ids)


def train(quick: bool = False) -> dict:
    data = load_text()
    key = gl.random.key(3)
    batches = data.train_batches(gl.random.fold_in(key, 1), CONTEXT, BATCH)
    steps = QUICK_STEPS if quick else STEPS
    opt = gl.optim.AdamW(gl.optim.warmup(gl.optim.cosine_decay(6e-3, steps - 20), 20),
                         weight_decay=1e-2, clip_norm=1.0)
    params = init_params(gl.random.fold_in(key, 0), data.vocab_size)

    def evaluate(p):
        p = nn.resolve(p)
        fn = lambda x: logits(p, x)[:, -1]  # noqa: E731
        return (next_char_accuracy(fn, data, CONTEXT, CONTEXT, data.split),
                next_char_accuracy(fn, data, CONTEXT, data.split, len(data.ids)))

    def show(p):
        sample = generate(p, data, "Beautiful ", 60, gl.random.fold_in(key, 2))
        print(f"[{NAME}] sample: {sample!r}", flush=True)

    check = tuple(a[:2, :8] for a in batches(0))
    return fit(NAME, loss, params, batches, steps, opt, check, evaluate, log_every=50,
               show=show)
