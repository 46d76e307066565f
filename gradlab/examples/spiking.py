"""A spiking network on digits: leaky integrate-and-fire neurons trained through a
surrogate gradient (``fast_sigmoid``), written in plain numpy.

Each digit drives 128 LIF neurons with a constant current for ``STEPS`` time steps:
``v <- BETA * v + I - spikes * THRESHOLD`` (reset by subtraction), and a neuron spikes
when ``v`` crosses ``THRESHOLD``: ``spikes = np.heaviside(v - THRESHOLD, 0.0)``. The
readout is linear in the spike counts. The step has derivative zero almost everywhere,
so the network learns only because ``gl.rules.use("fast_sigmoid", ...)`` replaces that
derivative with ``g / (1 + SLOPE * |v - THRESHOLD|)^2`` for the ops recorded inside it.

Expected: 0.96 held-out accuracy in the full run (30 epochs), 0.935 with
``--quick`` (3 epochs: 66 steps, a few seconds).
"""

from __future__ import annotations

import time

import numpy as np

import gradlab as gl
from gradlab.examples.common import (
    Config,
    accuracy,
    count_params,
    load_digits_split,
    softmax_cross_entropy,
)

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True

NAME = "spiking (LIF)"
EXPECTED = (0.93, 0.99)  # measured 0.962 (full), 0.935 (quick)
EXPECTED_QUICK = (0.9, 0.98)
HIDDEN = 128
STEPS = 8
BETA = 0.8         # membrane leak per step
THRESHOLD = 1.0
SLOPE = 5.0        # the surrogate's sharpness
CONFIG = Config(epochs=30, quick_epochs=3, lr=0.05, log_every=25)


def spike_counts(params, X, spike=None):
    """Mean firing rate of each hidden neuron over ``STEPS`` steps of constant input.

    ``spike(u)`` is the firing function of ``u = v - THRESHOLD`` (the step by default).
    """
    spike = spike or (lambda u: np.heaviside(u, 0.0))
    current = X @ params["W1"] + params["b1"]
    v = np.zeros_like(current)
    total = np.zeros_like(current)
    for _ in range(STEPS):
        v = BETA * v + current
        s = spike(v - THRESHOLD)
        v = v - s * THRESHOLD
        total = total + s
    return total / STEPS


def predict(params, X, spike=None):
    return spike_counts(params, X, spike) @ params["W2"] + params["b2"]


def loss(params, X, Y):
    # The surrogate is in force for the spikes recorded here, in the forward pass.
    with gl.rules.use("fast_sigmoid", scope=["heaviside"], slope=SLOPE):
        logits = predict(params, X)
    return softmax_cross_entropy(logits, Y)


def smooth_loss(params, X, Y):
    """The same network with the step replaced by the sigmoid whose derivative the
    surrogate is, ``0.5 + u / (1 + SLOPE |u|)``: its gradient is a
    true one, checked against finite differences."""
    return softmax_cross_entropy(
        predict(params, X, lambda u: 0.5 + u / (1.0 + SLOPE * np.abs(u))), Y)


def check_gradients(params, split, n=8):
    """Finite differences on the smooth twin, and the surrogate against its formula."""
    X, Y = split.X_train[:n], split.Y_train[:n]
    gl.check_grads(lambda p: smooth_loss(p, X, Y), params, modes=("rev",), order=1)
    u = np.linspace(-1.0, 1.0, 5)
    with gl.rules.use("fast_sigmoid", scope=["heaviside"], slope=SLOPE):
        surrogate = gl.grad(lambda u: np.sum(np.heaviside(u, 0.0)))(u)
    np.testing.assert_allclose(surrogate, 1.0 / (1.0 + SLOPE * np.abs(u)) ** 2, rtol=1e-12)
    print(f"[{NAME}] gradient check passed ({count_params(params)} parameters)", flush=True)


def init_params(rng, n_in, n_hidden, n_out):
    return {
        "W1": rng.normal(0.0, 1.5 / np.sqrt(n_in), (n_in, n_hidden)),
        "b1": np.full(n_hidden, 0.5),
        "W2": rng.normal(0.0, 1.0 / np.sqrt(n_hidden), (n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def train(quick: bool = False) -> dict:
    start = time.perf_counter()
    split = load_digits_split()
    rng = np.random.default_rng(0)
    params = init_params(rng, split.X_train.shape[1], HIDDEN, split.n_classes)
    check_gradients(params, split)
    value_and_grad = gl.value_and_grad(loss)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    n, step, window = len(split.X_train), 0, []
    for _ in range(CONFIG.quick_epochs if quick else CONFIG.epochs):
        order = rng.permutation(n)
        for lo in range(0, n, CONFIG.batch_size):
            batch = order[lo:lo + CONFIG.batch_size]
            value, grads = value_and_grad(params, split.X_train[batch], split.Y_train[batch])
            for k in params:
                velocity[k] = CONFIG.momentum * velocity[k] - CONFIG.lr * grads[k]
                params[k] = params[k] + velocity[k]
            step += 1
            window.append(float(value))
            if step % CONFIG.log_every == 0:
                print(f"[{NAME}] step {step:5d}  loss {np.mean(window):.4f}", flush=True)
                window = []
    train_acc = accuracy(predict(params, split.X_train), split.y_train)
    test_acc = accuracy(predict(params, split.X_test), split.y_test)
    print(f"[{NAME}] train accuracy: {train_acc:.4f}", flush=True)
    print(f"[{NAME}] test accuracy: {test_acc:.4f}", flush=True)
    return {"params": count_params(params), "steps": step,
            "final_loss": float(loss(params, split.X_train, split.Y_train)),
            "train_acc": train_acc, "test_acc": test_acc,
            "seconds": time.perf_counter() - start}
