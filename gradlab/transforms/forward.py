"""Forward mode: a ``JVPTracer`` carries a primal and its tangent through every primitive.

>>> import numpy as np, gradlab as gl
>>> out, tangent = gl.jvp(np.sin, (0.5,), (1.0,))
>>> bool(np.isclose(tangent, np.cos(0.5)))
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.rules import PerOperand
from ..core.trace import Trace, Tracer, bind, new_trace
from ..core.tree import tree_flatten, tree_map, tree_unflatten
from ..intercept import instrument
from ..ops.elementwise import add
from .argnums import accepts_argnums
from .dtypes import cast_like


class JVPTracer(Tracer):
    """A primal value with its tangent (``None`` tangents never exist: those are constants)."""

    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        return self.primal

    def concrete_value(self, what):
        return self.primal

    def __bool__(self):
        return bool(self.primal)

    def __repr__(self):
        return f"JVPTracer({self.primal!r}, tangent={self.tangent!r})"


class JVPTrace(Trace):
    """The forward-mode level."""

    def lower(self, x):
        return x.primal if isinstance(x, JVPTracer) and x._trace is self else x

    def tangent_of(self, x):
        return x.tangent if isinstance(x, JVPTracer) and x._trace is self else None

    def process(self, prim, args, params):
        primals = [self.lower(a) for a in args]
        tangents = [self.tangent_of(a) for a in args]
        out = bind(prim, *primals, **params)
        rules = prim.jvps if prim.jvps is not None else prim.jvp_rules()
        if rules is None or not prim.differentiable:
            return out
        if type(rules) is PerOperand and rules.joint is not None:
            tangent = rules.joint(tangents, out, *primals, **params)  # one call, O(n)
            return out if tangent is None else JVPTracer(self, out, tangent)
        tangent = None
        for i, t in enumerate(tangents):
            if t is None or rules[i] is None:  # None: no derivative in this operand
                continue
            contribution = rules[i](t, out, *primals, **params)
            tangent = contribution if tangent is None else add(tangent, contribution)
        if tangent is None:
            return out
        return JVPTracer(self, out, tangent)


def jvp(fun: Callable[..., Any], primals: tuple, tangents: tuple, has_aux: bool = False) -> Any:
    """``(fun(*primals), J @ tangents)`` by forward mode; primals/tangents are tuples.

    >>> import numpy as np, gradlab as gl
    >>> gl.jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))[1]
    3.0
    """
    primals, tangents = tuple(primals), tuple(tangents)
    p_leaves, p_tree = tree_flatten(primals)
    t_leaves, t_tree = tree_flatten(tangents)
    if p_tree != t_tree:
        raise ValueError(f"jvp: primals {p_tree} and tangents {t_tree} differ in structure")
    for p, t in zip(p_leaves, t_leaves):
        if np.shape(p) != np.shape(t):
            raise ValueError(f"jvp: tangent shape {np.shape(t)} != primal shape {np.shape(p)}")
    f = instrument(fun)
    with new_trace(JVPTrace) as trace:
        boxed = [JVPTracer(trace, p, cast_like(t, p)) for p, t in zip(p_leaves, t_leaves)]
        result = f(*tree_unflatten(p_tree, boxed))
        out, aux = result if has_aux else (result, None)
        out_leaves, out_tree = tree_flatten(out)
        primal_out = [trace.lower(o) for o in out_leaves]
        tangent_out = [cast_like(_tangent_or_zeros(trace, o), p)
                       for o, p in zip(out_leaves, primal_out)]
    out_p, out_t = tree_unflatten(out_tree, primal_out), tree_unflatten(out_tree, tangent_out)
    if has_aux:
        return out_p, out_t, tree_map(trace.lower, aux)
    return out_p, out_t


def _tangent_or_zeros(trace, o):
    t = trace.tangent_of(o)
    if t is not None:
        return t
    p = trace.lower(o)
    return np.zeros(np.shape(p), p.dtype if hasattr(p, "dtype") else np.result_type(p))


@accepts_argnums
def make_jvp(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """autograd's spelling: ``make_jvp(f)(*args)(v) -> (out, J v)`` for argument ``argnum``."""

    def at(*args):
        f = instrument(fun)  # here, not in jvp: of_arg below is gradlab's code, not the user's

        def push(v):
            def of_arg(x):
                return f(*args[:argnum], x, *args[argnum + 1:])

            return jvp(of_arg, (args[argnum],), (v,))

        return push

    return at


@accepts_argnums
def deriv(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The derivative of a function of one scalar (forward mode)."""

    @functools.wraps(fun)
    def d(*args):
        x = args[argnum]
        ones = np.ones(np.shape(x), np.result_type(x, np.float64)
                       if not isinstance(x, Tracer) else x.dtype)
        return make_jvp(fun, argnum)(*args)(ones)[1]

    return d
