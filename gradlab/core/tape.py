"""Reverse mode: a tape of ``Var`` nodes over numpy arrays, walked backward iteratively.

``ReverseTrace`` is one interpreter level. Each primitive applied to its ``Var``s
appends one node to the trace's tape (a Wengert list in creation order, so the
backward walk is a plain reversed loop: a 100,000-op chain needs no recursion).
The operand values saved on a node are those of the level below, possibly tracers
of an enclosing transform, so the VJP rules that run during the backward walk are
themselves recorded by the enclosing level: that is all higher order needs.
"""

from __future__ import annotations

from .trace import Trace, Tracer, bind, shape_error


class Var(Tracer):
    """A value on a reverse-mode tape: ``value`` plus how it was computed.

    ``node`` is ``(prim, operand values, params, parent Vars)``, or ``None`` for an
    input (and for a node the backward walk has visited and released).
    """

    __slots__ = ("value", "node", "__weakref__")

    def __init__(self, trace, value, node=None):
        self._trace = trace
        self.value = value
        self.node = node

    @property
    def aval(self):
        return self.value

    def concrete_value(self, what):
        return self.value

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
        if len(args) == 2:  # binary ops dominate every tape: unrolled
            a, b = args
            pa = a if type(a) is Var and a._trace is self else None
            pb = b if type(b) is Var and b._trace is self else None
            parents = [pa, pb]
            vals = [a if pa is None else pa.value, b if pb is None else pb.value]
            traced = pa is not None or pb is not None
        else:
            parents = []
            vals = []
            traced = False
            for a in args:
                if type(a) is Var and a._trace is self:
                    parents.append(a)
                    vals.append(a.value)
                    traced = True
                else:
                    parents.append(None)
                    vals.append(a)
        if self.level == 0:
            # No level below this one: the operands are plain values (skip bind's scan).
            try:
                out = prim.impl(*vals, **params)
            except ValueError as exc:
                raise shape_error(prim, vals, params, exc) from exc
        else:
            out = bind(prim, *vals, **params)
        if not traced:
            return out
        return self.record(prim, vals, params, parents, out)

    def record(self, prim, vals, params, parents, out):
        """Append the node that made ``out`` to the tape (if a derivative flows through)."""
        vjps = prim.vjps if prim.vjps is not None else prim.vjp_rules()
        if vjps is None:
            return out  # no derivative flows through (e.g. comparisons, argmax)
        var = Var(self, out, (prim, vals, params, parents))
        self.tape.append(var)
        return var

    def backward(self, outputs, cotangents, inputs, retain=False):
        """Cotangents of ``inputs`` given those of ``outputs`` (``None`` = zero).

        Walks the tape newest first. Unless ``retain``, each node is dropped from the
        tape once visited, so activations are freed as the walk passes them.
        Cotangents accumulate with ``+``, which is numpy's own add for plain arrays
        and gradlab's for the tracers of an enclosing transform.
        """
        grads: dict[int, object] = {}
        for out, ct in zip(outputs, cotangents):
            if isinstance(out, Var) and out._trace is self and ct is not None:
                prev = grads.get(id(out))
                grads[id(out)] = ct if prev is None else prev + ct
        tape = self.tape
        get = grads.get
        take = get if retain else grads.pop
        for n in range(len(tape) - 1, -1, -1):
            var = tape[n]
            node = var.node
            if not retain:
                # The output Vars the caller holds reach every node through its parents:
                # release a visited node so its activations really are freed now.
                tape[n] = None
                var.node = None
            g = take(id(var), None)
            if g is None:
                continue
            prim, args, params, parents = node
            value = var.value
            vjps = prim.vjps
            dtype = getattr(value, "dtype", None)  # inline: this loop runs once per node
            complex_out = dtype.kind == "c" if dtype is not None else isinstance(value, complex)
            for i, parent in enumerate(parents):
                if parent is None:
                    continue
                rule = vjps[i]
                if rule is None:
                    continue
                ct = rule(g, value, *args, **params) if params else rule(g, value, *args)
                if complex_out and not _is_complex(parent.value):
                    ct = _real_part(ct)  # a real value's cotangent is real (docs/complex.md)
                key = id(parent)
                prev = get(key)
                grads[key] = ct if prev is None else prev + ct
        if not retain:
            tape.clear()
        return [grads.get(id(x)) for x in inputs]


def _is_complex(x) -> bool:
    dt = getattr(x, "dtype", None)
    return isinstance(x, complex) if dt is None else dt.kind == "c"


def _real_part(ct):
    from ..ops.complex import real

    return real(ct)
