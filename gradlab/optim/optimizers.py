"""Optimizers as pure functions: ``state = opt.init(params)``, then per step
``params, state = opt.update(grads, state, params)``.

The state is a plain dict (a step count and one tree of slot arrays per moment), so it
can be saved with ``gradlab.nn.save`` and restored exactly. Entries of ``params`` that
are ``None``, ``frozen`` or ``tied`` are passed through untouched and get no slots.
Updates use numpy operators only, so they also run on traced values.

>>> import numpy as np, gradlab as gl
>>> opt = gl.optim.Adam(lr=0.1)
>>> params = {"w": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> for _ in range(200):
...     grads = gl.grad(lambda p: np.sum(p["w"] ** 2))(params)
...     params, state = opt.update(grads, state, params)
>>> bool(np.abs(params["w"]).max() < 1e-2), state["step"]
(True, 200)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .._types import Array, PyTree
from ..core.tree import tree_flatten, tree_unflatten
from ..nn.params import Frozen, Tied, is_trainable
from .schedules import as_schedule

if TYPE_CHECKING:
    from ..optim.schedules import Schedule


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSProp", "global_norm",
           "clip_by_global_norm"]


def _is_slot_leaf(x):
    return x is None or isinstance(x, (Frozen, Tied))


def _flatten(tree):
    return tree_flatten(tree, is_leaf=_is_slot_leaf)


def global_norm(tree: PyTree) -> float:
    """``sqrt(sum of squares)`` over every trainable leaf of ``tree``.

    >>> import numpy as np
    >>> global_norm({"a": np.array([3.0]), "b": np.array([4.0])})
    5.0
    """
    leaves, _ = _flatten(tree)
    return math.sqrt(sum(float(np.sum(np.square(np.abs(g)))) for g in leaves
                         if is_trainable(g)))


def clip_by_global_norm(grads: PyTree, max_norm: float) -> PyTree:
    """``(grads scaled so their global norm is at most max_norm, the norm before)``.

    >>> import numpy as np
    >>> g, n = clip_by_global_norm({"a": np.array([3.0, 4.0])}, 1.0)
    >>> g["a"].round(6).tolist(), n
    ([0.6, 0.8], 5.0)
    """
    norm = global_norm(grads)
    if not norm > max_norm:  # also leaves NaN norms alone: train() reports those
        return grads, norm
    scale = max_norm / norm
    leaves, treedef = _flatten(grads)
    return tree_unflatten(treedef, [g * scale if is_trainable(g) else g for g in leaves]), norm



def _zeros_like(p):
    """Zeros shaped like ``p``, on ``p``'s device (``np.zeros_like`` dispatches to CuPy)."""
    return np.zeros_like(p if hasattr(p, "__array_function__") else np.asarray(p))

class Optimizer:
    """Base class: schedules, gradient clipping and frozen/tied bookkeeping.

    A subclass names its per-parameter ``slots`` and implements ``step_leaf(g, p, slots,
    lr, t) -> (new_p, new_slots)`` for one array (``t`` counts updates from 1).
    """

    slots: tuple = ()

    def __init__(self, lr: float | Schedule, clip_norm: float | None = None):
        self.lr = lr
        self.schedule = as_schedule(lr)
        self.clip_norm = clip_norm

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if k not in ("schedule", "slots"))
        return f"{type(self).__name__}({fields})"

    def init(self, params: PyTree) -> dict:
        """The optimizer state for ``params``: ``{"step": 0, slot: tree of zeros, ...}``."""
        leaves, treedef = _flatten(params)
        state = {"step": 0}
        for name in self.slots:
            state[name] = tree_unflatten(treedef, [
                _zeros_like(p) if is_trainable(p) else None for p in leaves])
        return state

    def update(self, grads: PyTree, state: dict, params: PyTree) -> tuple[PyTree, dict]:
        """One step: ``(new_params, new_state)``; the inputs are not modified."""
        p_leaves, treedef = _flatten(params)
        g_leaves, g_def = _flatten(grads)
        if g_def != treedef:
            raise ValueError(f"{type(self).__name__}.update: the gradient's structure "
                             f"{g_def} differs from the parameters' {treedef}")
        slot_leaves = {}
        for name in self.slots:
            leaves, s_def = _flatten(state[name])
            if s_def != treedef:
                raise ValueError(f"{type(self).__name__}.update: state[{name!r}] does not "
                                 "match the parameters (was it made by init(params)?)")
            slot_leaves[name] = leaves
        if self.clip_norm is not None:
            grads, _ = clip_by_global_norm(grads, self.clip_norm)
            g_leaves, _ = _flatten(grads)
        t = int(state["step"]) + 1
        lr = self.schedule(t - 1)
        new_p: list = []
        new_slots: dict[str, list] = {name: [] for name in self.slots}
        for i, (p, g) in enumerate(zip(p_leaves, g_leaves)):
            if not is_trainable(p):
                new_p.append(p)
                for name in self.slots:
                    new_slots[name].append(None)
                continue
            slots = {name: slot_leaves[name][i] for name in self.slots}
            p2, s2 = self.step_leaf(g, p, slots, lr, t)
            new_p.append(p2)
            for name in self.slots:
                new_slots[name].append(s2[name])
        new_state = dict(state, step=t)
        for name in self.slots:
            new_state[name] = tree_unflatten(treedef, new_slots[name])
        return tree_unflatten(treedef, new_p), new_state

    def step_leaf(self, g: Array, p: Array, slots: dict[str, Array], lr: float,
                  t: int) -> tuple[Array, dict[str, Array]]:  # pragma: no cover - interface
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    ``g += weight_decay * p; v = momentum * v + g``; the step is ``-lr * v``, or
    ``-lr * (g + momentum * v)`` with ``nesterov=True`` (PyTorch's convention).

    >>> import numpy as np
    >>> opt = SGD(lr=0.5)
    >>> p, s = opt.update({"w": np.array([2.0])}, opt.init({"w": np.zeros(1)}), {"w": np.zeros(1)})
    >>> p["w"].tolist()
    [-1.0]
    """

    def __init__(self, lr: float | Schedule, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, clip_norm: float | None = None):
        super().__init__(lr, clip_norm)
        if nesterov and not momentum:
            raise ValueError("SGD: nesterov=True needs a non-zero momentum")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay
        self.slots = ("velocity",) if momentum else ()

    def step_leaf(self, g: Array, p: Array, slots: dict[str, Array], lr: float,
                  t: int) -> tuple[Array, dict[str, Array]]:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if not self.momentum:
            return p - lr * g, {}
        v = self.momentum * slots["velocity"] + g
        direction = g + self.momentum * v if self.nesterov else v
        return p - lr * direction, {"velocity": v}


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` adds an L2 term to g.

    >>> import numpy as np
    >>> opt = Adam(lr=0.1)
    >>> p, s = opt.update({"w": np.array([5.0])}, opt.init({"w": np.zeros(1)}), {"w": np.zeros(1)})
    >>> np.round(p["w"], 6).tolist()  # the first Adam step has size lr
    [-0.1]
    """

    slots = ("mu", "nu")
    decoupled = False

    def __init__(self, lr: float | Schedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0, clip_norm: float | None = None):
        super().__init__(lr, clip_norm)
        self.b1, self.b2, self.eps, self.weight_decay = b1, b2, eps, weight_decay

    def step_leaf(self, g: Array, p: Array, slots: dict[str, Array], lr: float,
                  t: int) -> tuple[Array, dict[str, Array]]:
        if self.weight_decay and not self.decoupled:
            g = g + self.weight_decay * p
        mu = self.b1 * slots["mu"] + (1 - self.b1) * g
        nu = self.b2 * slots["nu"] + (1 - self.b2) * (g * g)
        mu_hat = mu / (1 - self.b1 ** t)
        nu_hat = nu / (1 - self.b2 ** t)
        direction = mu_hat / (np.sqrt(nu_hat) + self.eps)
        if self.weight_decay and self.decoupled:
            direction = direction + self.weight_decay * p
        return p - lr * direction, {"mu": mu, "nu": nu}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p -= lr * (adam_direction + weight_decay * p)``.

    >>> import numpy as np
    >>> opt = AdamW(lr=0.1, weight_decay=0.5)
    >>> p, s = opt.update({"w": np.zeros(1)}, opt.init({"w": np.ones(1)}), {"w": np.ones(1)})
    >>> p["w"].tolist()  # zero gradient: only the decay acts
    [0.95]
    """

    decoupled = True

    def __init__(self, lr: float | Schedule = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01, clip_norm: float | None = None):
        super().__init__(lr, b1, b2, eps, weight_decay, clip_norm)


class RMSProp(Optimizer):
    """RMSProp: ``nu = decay * nu + (1 - decay) * g**2``, step ``-lr * g / (sqrt(nu) + eps)``.

    With ``momentum`` the scaled steps are accumulated (as in PyTorch).

    >>> import numpy as np
    >>> opt = RMSProp(lr=0.01, decay=0.0)
    >>> p, _ = opt.update({"w": np.array([-3.0])}, opt.init({"w": np.zeros(1)}), {"w": np.zeros(1)})
    >>> np.round(p["w"], 6).tolist()
    [0.01]
    """

    def __init__(self, lr: float | Schedule = 1e-3, decay: float = 0.9, eps: float = 1e-8,
                 momentum: float = 0.0, weight_decay: float = 0.0, clip_norm: float | None = None):
        super().__init__(lr, clip_norm)
        self.decay, self.eps, self.momentum, self.weight_decay = decay, eps, momentum, weight_decay
        self.slots = ("nu", "velocity") if momentum else ("nu",)

    def step_leaf(self, g: Array, p: Array, slots: dict[str, Array], lr: float,
                  t: int) -> tuple[Array, dict[str, Array]]:
        if self.weight_decay:
            g = g + self.weight_decay * p
        nu = self.decay * slots["nu"] + (1 - self.decay) * (g * g)
        scaled = g / (np.sqrt(nu) + self.eps)
        if not self.momentum:
            return p - lr * scaled, {"nu": nu}
        v = self.momentum * slots["velocity"] + scaled
        return p - lr * v, {"nu": nu, "velocity": v}
