"""Reverse mode: a tape of ``Var`` nodes over numpy arrays, walked backward iteratively.

``ReverseTrace`` is one interpreter level. Each primitive applied to its ``Var``s
appends one node to the trace's tape (a Wengert list in creation order, so the
backward walk is a plain reversed loop: a 100,000-op chain needs no recursion).
The operand values saved on a node are those of the level below, possibly tracers
of an enclosing transform, so the VJP rules that run during the backward walk are
themselves recorded by the enclosing level: that is all higher order needs.
"""

from __future__ import annotations

import numpy as np

from .trace import Trace, Tracer, bind


class Var(Tracer):
    """A value on a reverse-mode tape: ``value`` plus how it was computed."""

    __slots__ = ("value", "prim", "args", "params", "parents", "__weakref__")

    def __init__(self, trace, value, prim=None, args=(), params=None, parents=()):
        self._trace = trace
        self.value = value
        self.prim = prim
        self.args = args
        self.params = params
        self.parents = parents

    @property
    def aval(self):
        return self.value

    @property
    def shape(self):
        return np.shape(self.value)

    @property
    def dtype(self):
        return np.result_type(self.value)

    @property
    def ndim(self):
        return np.ndim(self.value)

    @property
    def size(self):
        return np.size(self.value)

    def __bool__(self):
        # Reverse mode sees concrete values, so Python control flow on them is fine
        # (the gradient is that of the branch taken, as in autograd and PyTorch).
        return bool(self.value)

    def __repr__(self):
        return f"Var({self.value!r})"


class ReverseTrace(Trace):
    """The reverse-mode level: records a tape; ``backward`` walks it."""

    def __init__(self):
        super().__init__()
        self.tape: list[Var] = []

    def new_input(self, value) -> Var:
        return Var(self, value)

    def lower(self, x):
        return x.value if isinstance(x, Var) and x._trace is self else x

    def process(self, prim, args, params):
        vals = []
        parents = []
        traced = False
        for a in args:
            if isinstance(a, Var) and a._trace is self:
                vals.append(a.value)
                parents.append(a)
                traced = True
            else:
                vals.append(a)
                parents.append(None)
        out = bind(prim, *vals, **params)
        vjps = prim.vjps if prim.vjps is not None else prim.vjp_rules()
        if not traced or vjps is None:
            return out  # no derivative flows through (e.g. comparisons, argmax)
        var = Var(self, out, prim, tuple(vals), params, tuple(parents))
        self.tape.append(var)
        return var

    def backward(self, outputs, cotangents, inputs, retain=False):
        """Cotangents of ``inputs`` given those of ``outputs`` (``None`` = zero)."""
        from ..ops.elementwise import add

        grads: dict[int, object] = {}
        for out, ct in zip(outputs, cotangents):
            if isinstance(out, Var) and out._trace is self and ct is not None:
                prev = grads.get(id(out))
                grads[id(out)] = ct if prev is None else add(prev, ct)
        tape = self.tape
        nodes = reversed(tape) if retain else _consume(tape)
        for var in nodes:
            g = grads.pop(id(var), None) if not retain else grads.get(id(var))
            if g is None:
                continue
            prim, args, params = var.prim, var.args, var.params
            vjps = prim.vjps
            for i, parent in enumerate(var.parents):
                if parent is None:
                    continue
                rule = vjps[i]
                if rule is None:
                    continue
                ct = rule(g, var.value, *args, **params)
                key = id(parent)
                prev = grads.get(key)
                grads[key] = ct if prev is None else add(prev, ct)
        return [grads.get(id(x)) for x in inputs]


def _consume(tape):
    """Yield the tape's nodes newest first, freeing each one as the walk passes it."""
    while tape:
        yield tape.pop()
