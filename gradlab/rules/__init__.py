"""``gradlab.rules``: custom backward rules, declared once and applied by scope.

Surrogate gradients for step functions and spiking networks, per-layer clipping or
scaling, gradient noise and centralisation, "jamming" rules that make the backward pass
lie on purpose: each is a rule ``rule(g, x, **params) -> g'`` (see ``registry``), and
``with rules.use(rule, scope=..., **params):`` applies it to the ops recorded inside
the block that ``scope`` selects (see ``scope``). The rule in force is the one live when
an op is recorded in the forward pass.

>>> import numpy as np, gradlab as gl
>>> from gradlab import rules
>>> def loss(w):
...     with rules.use("scale", scope="params", s=0.5):
...         y = np.tanh(w * 2.0)
...     return np.sum(y)
>>> w = np.array([0.1, -0.3])
>>> np.allclose(gl.grad(loss)(w), 0.5 * 2.0 * (1 - np.tanh(2.0 * w) ** 2))
True
"""

from .builtin import (
    atan,
    centralize,
    clip_norm,
    clip_value,
    d_linear,
    d_relu,
    fast_sigmoid,
    full_jam,
    noise,
    positive_jam,
    rectangular,
    rectangular_jam,
    scale,
    sigmoid_prime,
    triangular,
)
from .registry import BoundRule, Rule, RuleError, available, compose, get, register, unregister
from .scope import ACTIVATION_PRIMITIVES, RecordedOp, RuledPrimitive, use

__all__ = [
    "ACTIVATION_PRIMITIVES", "BoundRule", "RecordedOp", "Rule", "RuleError", "RuledPrimitive",
    "atan", "available", "centralize", "clip_norm", "clip_value", "compose", "d_linear",
    "d_relu", "fast_sigmoid", "full_jam", "get", "noise", "positive_jam", "rectangular",
    "rectangular_jam", "register", "scale", "sigmoid_prime", "triangular", "unregister", "use",
]
