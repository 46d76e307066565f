"""Workloads A (tiny MLP) and B (medium MLP, softmax cross-entropy).

Both time ``value_and_grad`` with respect to the two weight matrices.
"""

from __future__ import annotations

import numpy as np

from ..harness import Timed
from ..peers import value_and_grad_builders

# --- A: tiny MLP, squared error ------------------------------------------------

def mse_loss(W1, W2, x, y):
    """The user's function, plain numpy, as gradlab sees it."""
    h = np.tanh(x @ W1)
    r = h @ W2 - y
    return np.mean(r * r)


def mse_loss_xp(xp, W1, W2, x, y):
    h = xp.tanh(x @ W1)
    r = h @ W2 - y
    return xp.mean(r * r)


def mse_floor(W1, W2, x, y):
    """Hand-written forward and backward of :func:`mse_loss`."""
    h = np.tanh(x @ W1)
    r = h @ W2 - y
    loss = np.mean(r * r)
    d_out = (2.0 / r.size) * r
    dW2 = h.T @ d_out
    d_pre = (d_out @ W2.T) * (1.0 - h * h)
    dW1 = x.T @ d_pre
    return loss, (dW1, dW2)


def tiny_mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 16))
    W1 = rng.standard_normal((16, 16)) / 4.0
    W2 = rng.standard_normal((16, 1)) / 4.0
    y = rng.standard_normal((8, 1))
    return W1, W2, x, y


# --- B: medium MLP, softmax cross-entropy ---------------------------------------

def softmax_ce(W1, W2, x, onehot):
    """The user's function, plain numpy: mean cross-entropy of a softmax."""
    h = np.tanh(x @ W1)
    z = h @ W2
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return -np.mean(np.sum(onehot * (z - lse), axis=1))


def softmax_ce_xp(xp, W1, W2, x, onehot):
    h = xp.tanh(x @ W1)
    z = h @ W2
    m = xp.max(z, axis=1, keepdims=True)
    lse = m + xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True))
    return -xp.mean(xp.sum(onehot * (z - lse), axis=1))


def softmax_ce_torch(W1, W2, x, onehot):
    import torch

    h = torch.tanh(x @ W1)
    z = h @ W2
    m = torch.amax(z, dim=1, keepdim=True)
    lse = m + torch.log(torch.sum(torch.exp(z - m), dim=1, keepdim=True))
    return -torch.mean(torch.sum(onehot * (z - lse), dim=1))


def softmax_ce_floor(W1, W2, x, onehot):
    """Hand-written forward and backward of :func:`softmax_ce`."""
    h = np.tanh(x @ W1)
    z = h @ W2
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    s = np.sum(e, axis=1, keepdims=True)
    lse = m + np.log(s)
    loss = -np.mean(np.sum(onehot * (z - lse), axis=1))
    dz = (e / s - onehot) / z.shape[0]
    dW2 = h.T @ dz
    d_pre = (dz @ W2.T) * (1.0 - h * h)
    dW1 = x.T @ d_pre
    return loss, (dW1, dW2)


def medium_mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((256, 512))
    W1 = rng.standard_normal((512, 512)) / np.sqrt(512)
    W2 = rng.standard_normal((512, 10)) / np.sqrt(512)
    onehot = np.eye(10)[rng.integers(0, 10, size=256)]
    return W1, W2, x, onehot


def workloads():
    return [
        Timed(
            "A",
            "tiny MLP value_and_grad (x 8x16, W1 16x16, W2 16x1), squared error",
            target=5.0,
            jit_target=2.0,
            builders=lambda: value_and_grad_builders(
                mse_loss, mse_loss_xp, tiny_mlp_data(), (0, 1), mse_floor
            ),
        ),
        Timed(
            "B",
            "medium MLP softmax cross-entropy (x 256x512, W1 512x512, W2 512x10)",
            target=1.10,
            builders=lambda: value_and_grad_builders(
                softmax_ce, softmax_ce_xp, medium_mlp_data(), (0, 1), softmax_ce_floor,
                torch_fn=softmax_ce_torch,
            ),
        ),
    ]
