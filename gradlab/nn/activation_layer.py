"""``Activation``: an activation function whose backward pass can be replaced.

>>> import numpy as np, gradlab as gl
>>> spike = gl.nn.Activation("heaviside")      # a step, differentiable via a surrogate
>>> spike
Activation(forward='heaviside', backward=fast_sigmoid(slope=25.0))
>>> gl.grad(lambda v: np.sum(spike(v)))(np.array([0.0, 0.2])).tolist()   # 1/(1+25|v|)^2
[1.0, 0.027777777777777776]
"""

from __future__ import annotations

from ..ops import elementwise as E
from . import activations as A


def _heaviside(x):
    return E.heaviside(x, 0.0)


def _relu6(x):
    return E.minimum(E.maximum(x, 0.0), 6.0)


def _identity(x):
    return x


FORWARDS = {
    "relu": A.relu, "leaky_relu": A.leaky_relu, "elu": A.elu, "gelu": A.gelu,
    "silu": A.silu, "softplus": A.softplus, "sigmoid": A.sigmoid, "tanh": E.tanh,
    "identity": _identity, "heaviside": _heaviside, "relu6": _relu6,
}


def default_heaviside_surrogate():
    """The surrogate a ``heaviside`` activation uses unless told otherwise: SuperSpike's
    fast sigmoid, ``g / (1 + 25 |x|)^2``."""
    from .. import rules

    return rules.fast_sigmoid(slope=25.0)


class Activation:
    """An activation ``forward`` (one of ``FORWARDS``) with a replaceable backward pass.

    ``backward=None`` keeps the exact derivative, except for ``"heaviside"`` (a step,
    whose derivative is zero almost everywhere), which is differentiable through the
    fast-sigmoid surrogate ``g / (1 + 25 |x|)^2`` by default. Otherwise ``backward`` is a
    rule: a name (``"atan"``), a bound rule (``gl.rules.triangular(width=0.5)``), or a
    function ``rule(g, x)``; it replaces the derivative (``g'`` is the input's
    cotangent). A scope selecting the activation (``gl.rules.use(..., scope=
    "activations")``) overrides it, like any op's derivative.

    >>> import numpy as np, gradlab as gl
    >>> ste = gl.nn.Activation("relu", backward="d_linear")   # straight-through relu
    >>> gl.grad(lambda x: np.sum(ste(x)))(np.array([-1.0, 2.0])).tolist()
    [1.0, 1.0]
    """

    def __init__(self, forward: str = "relu", backward=None):
        if forward not in FORWARDS:
            raise ValueError(f"Activation(forward={forward!r}): choose one of "
                             f"{', '.join(FORWARDS)}")
        if backward is None and forward == "heaviside":
            backward = default_heaviside_surrogate()
        self.forward, self._function = forward, FORWARDS[forward]
        self.backward = None
        self._primitive = None
        if backward is not None:
            from ..rules.registry import as_bound
            from ..rules.scope import primitive_with_rule

            self.backward = as_bound(backward)
            _refuse_traced_parameters(self.backward)
            self._primitive = primitive_with_rule(
                f"activation:{forward}", self._function, self.backward)

    def __repr__(self):
        backward = "exact" if self.backward is None else repr(self.backward)
        return f"Activation(forward={self.forward!r}, backward={backward})"

    def __call__(self, x):
        if self._primitive is None:
            return self._function(x)
        return self._primitive(x)


def _refuse_traced_parameters(rule):
    from ..core.trace import Tracer

    for name, value in rule.params.items():
        if isinstance(value, Tracer):
            raise TypeError(
                f"Activation(backward={rule.name}(...)): parameter {name!r} is a traced "
                "value; an Activation's rule takes constants. For a learnable parameter, "
                f"wrap the call in gl.rules.use({rule.name!r}, scope='activations', "
                f"{name}=...), which differentiates it through the backward pass.")
