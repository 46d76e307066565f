"""autograd's ``misc.optimizers``: ``sgd``, ``rmsprop`` and ``adam`` as loops over a
gradient function ``grad(params, i)`` of any pytree of parameters.

>>> import numpy as np, gradlab as gl
>>> from gradlab.misc.optimizers import adam
>>> objective = lambda p, i: np.sum((p["w"] - 3.0) ** 2)
>>> best = adam(gl.grad(objective), {"w": np.zeros(2)}, step_size=0.1, num_iters=500)
>>> np.round(best["w"], 3).tolist()
[3.0, 3.0]

Each runs on the flattened parameter vector (``gradlab.misc.flatten``) and returns the
parameters in their own structure; ``callback(params, i, gradient)`` is called before
each step, as in autograd. For new code, ``gl.train`` with ``gl.optim`` optimizers gives
schedules, clipping, a history and progress bars.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..transforms.flatten import flatten

__all__ = ["sgd", "rmsprop", "adam"]


def _on_flat_parameters(step: Callable) -> Callable:
    """``step(flat_grad, x, flat_callback, ...)`` over a vector, run on any pytree."""

    @functools.wraps(step)
    def run(grad: Callable, x0: Any, callback: Callable | None = None, *args: Any,
            **kwargs: Any) -> Any:
        x, unflatten = flatten(x0)

        def flat_grad(vector, i):
            return flatten(grad(unflatten(vector), i))[0]

        flat_callback = None if callback is None else (
            lambda vector, i, g: callback(unflatten(vector), i, unflatten(g)))
        return unflatten(step(flat_grad, x, flat_callback, *args, **kwargs))

    return run


@_on_flat_parameters
def sgd(grad: Callable, x: np.ndarray, callback: Callable | None = None, num_iters: int = 200,
        step_size: float = 0.1, mass: float = 0.9) -> np.ndarray:
    """Stochastic gradient descent with momentum ``mass`` (autograd's form)."""
    velocity = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback is not None:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@_on_flat_parameters
def rmsprop(grad: Callable, x: np.ndarray, callback: Callable | None = None,
            num_iters: int = 100, step_size: float = 0.1, gamma: float = 0.9,
            eps: float = 1e-8) -> np.ndarray:
    """RMSProp: steps scaled by a running root mean square of the gradient."""
    mean_square = np.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback is not None:
            callback(x, i, g)
        mean_square = gamma * mean_square + (1.0 - gamma) * g ** 2
        x = x - step_size * g / (np.sqrt(mean_square) + eps)
    return x


@_on_flat_parameters
def adam(grad: Callable, x: np.ndarray, callback: Callable | None = None, num_iters: int = 100,
         step_size: float = 0.001, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8) -> np.ndarray:
    """Adam (Kingma and Ba), with bias-corrected first and second moments."""
    m, v = np.zeros(len(x)), np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback is not None:
            callback(x, i, g)
        m = (1.0 - b1) * g + b1 * m
        v = (1.0 - b2) * g ** 2 + b2 * v
        m_hat, v_hat = m / (1.0 - b1 ** (i + 1)), v / (1.0 - b2 ** (i + 1))
        x = x - step_size * m_hat / (np.sqrt(v_hat) + eps)
    return x
