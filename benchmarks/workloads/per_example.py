"""Workloads D1 and D2: per-example gradients, ``vmap(grad(loss))``.

The floor is the hand-vectorised formula a numpy user would derive. Engines
with ``vmap`` batch the per-example gradient; autograd has none, and torch
eager's per-example idiom without ``torch.func`` is a loop, so those two run a
Python loop over the 256 examples (shown for scale).
"""

from __future__ import annotations

import numpy as np

from ..harness import Timed
from ..peers import FLOOR, load_autograd, load_gradlab, load_jax, load_torch

BATCH, FEATURES, HIDDEN = 256, 64, 32


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- D1: logistic regression -----------------------------------------------------

def logistic_loss(w, x, y):
    """One example's loss, plain numpy: softplus(z) - y z with z = x . w."""
    z = x @ w
    return np.log(1.0 + np.exp(z)) - y * z


def logistic_loss_xp(xp, w, x, y):
    z = x @ w
    return xp.log(1.0 + xp.exp(z)) - y * z


def logistic_floor(w, X, y):
    """Every example's gradient at once: (sigmoid(x . w) - y) x."""
    return ((sigmoid(X @ w) - y)[:, None] * X,)


def logistic_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((BATCH, FEATURES))
    w = rng.standard_normal(FEATURES) / np.sqrt(FEATURES)
    y = (rng.random(BATCH) < 0.5).astype(np.float64)
    return (w,), X, y


# --- D2: small MLP -------------------------------------------------------------

def mlp_loss(W1, W2, x, y):
    """One example's loss, plain numpy: a tanh layer, then logistic loss."""
    h = np.tanh(x @ W1)
    z = h @ W2
    return np.log(1.0 + np.exp(z)) - y * z


def mlp_loss_xp(xp, W1, W2, x, y):
    h = xp.tanh(x @ W1)
    z = h @ W2
    return xp.log(1.0 + xp.exp(z)) - y * z


def mlp_floor(W1, W2, X, y):
    """Every example's gradients at once, by the chain rule written out."""
    H = np.tanh(X @ W1)
    dz = sigmoid(H @ W2) - y
    dW2 = dz[:, None] * H
    d_pre = dz[:, None] * W2[None, :] * (1.0 - H * H)
    dW1 = X[:, :, None] * d_pre[:, None, :]
    return dW1, dW2


def mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((BATCH, FEATURES))
    W1 = rng.standard_normal((FEATURES, HIDDEN)) / np.sqrt(FEATURES)
    W2 = rng.standard_normal(HIDDEN) / np.sqrt(HIDDEN)
    y = (rng.random(BATCH) < 0.5).astype(np.float64)
    return (W1, W2), X, y


def per_example_builders(plain, generic, floor, data):
    """Builders for per-example gradients of ``loss(*params, x, y)``.

    Each step returns one array per parameter, with a leading batch axis.
    """
    params, X, y = data
    argnums = tuple(range(len(params)))
    in_axes = (None,) * len(params) + (0, 0)

    def gradlab_():
        vmap, grad = load_gradlab("vmap", "grad")
        per_example = vmap(grad(plain, argnum=argnums), in_axes=in_axes)
        return lambda: per_example(*params, X, y)

    def gradlab_jit():
        vmap, grad, jit = load_gradlab("vmap", "grad", "jit")
        per_example = jit(vmap(grad(plain, argnum=argnums), in_axes=in_axes))
        return lambda: per_example(*params, X, y)

    def autograd_loop():
        autograd, anp = load_autograd()
        g = autograd.grad(lambda *a: generic(anp, *a), argnum=argnums)

        def step():
            grads = [g(*params, X[i], y[i]) for i in range(len(X))]
            return tuple(np.stack(parts) for parts in zip(*grads))

        return step

    def torch_loop():
        torch = load_torch()
        tparams = [torch.tensor(p, requires_grad=True) for p in params]
        tX, ty = torch.tensor(X), torch.tensor(y)

        def step():
            grads = [torch.autograd.grad(generic(torch, *tparams, tX[i], ty[i]), tparams)
                     for i in range(len(X))]
            return tuple(torch.stack(parts) for parts in zip(*grads))

        return step

    def torch_func():
        torch = load_torch()
        fn = torch.func.vmap(torch.func.grad(lambda *a: generic(torch, *a), argnums=argnums),
                             in_dims=in_axes)
        targs = [torch.tensor(a) for a in (*params, X, y)]
        return lambda: fn(*targs)

    def jax_(jit):
        def build():
            jax, jnp = load_jax()
            fn = jax.vmap(jax.grad(lambda *a: generic(jnp, *a), argnums=argnums), in_axes=in_axes)
            if jit:
                fn = jax.jit(fn)
            jargs = [jnp.asarray(a) for a in (*params, X, y)]
            return lambda: jax.block_until_ready(fn(*jargs))

        return build

    return {
        FLOOR: lambda: lambda: floor(*params, X, y),
        "gradlab": gradlab_,
        "gradlab.jit": gradlab_jit,
        "autograd (loop)": autograd_loop,
        "torch (loop)": torch_loop,
        "torch.func": torch_func,
        "jax": jax_(jit=False),
        "jax.jit": jax_(jit=True),
    }


def workloads():
    return [
        Timed(
            "D1",
            f"per-example grads, logistic regression, batch {BATCH}, {FEATURES} features",
            target=8.0,
            jit_target=4.0,
            builders=lambda: per_example_builders(
                logistic_loss, logistic_loss_xp, logistic_floor, logistic_data()),
        ),
        Timed(
            "D2",
            f"per-example grads, MLP {FEATURES}-{HIDDEN}-1 (tanh, logistic loss), batch {BATCH}",
            target=1.5,
            builders=lambda: per_example_builders(mlp_loss, mlp_loss_xp, mlp_floor, mlp_data()),
        ),
    ]
