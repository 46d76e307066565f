"""Reverse mode: a tape of ``Var`` nodes over numpy arrays, walked backward iteratively.

``ReverseTrace`` is one interpreter level. Each primitive applied to its ``Var``s
appends one node to the trace's tape (a Wengert list in creation order, so the
backward walk is a plain reversed loop: a 100,000-op chain needs no recursion).
The operand values saved on a node are those of the level below, possibly tracers
of an enclosing transform, so the VJP rules that run during the backward walk are
themselves recorded by the enclosing level: that is all higher order needs.
"""

from __future__ import annotations

from .rules import PerOperand
from .sparse import CotangentSum, IndexedCotangent
from .threads import Lock
from .trace import Trace, Tracer, bind, restore_warnings, shape_error, warnings_at_user_line

# A node is a list ``[prim, args, params, ans, is_complex, ct, *parents]``: how a value
# was computed, holding only what the backward walk needs of it. ``args`` are the
# operands (values of the level below) and ``ans`` the result, each kept only where the
# primitive's VJP rules read it (``Primitive.saves``); the parents, from index 6 on, are
# the operands' nodes (``None`` for constants). ``ct`` is the cotangent a backward walk
# accumulates for the node (``None`` outside a walk): a slot in the node itself, so the
# walk needs no dictionary keyed by node. The value itself lives on the ``Var``: once
# user code drops an intermediate that no rule reads, it is freed, as in PyTorch.
# The parents sit in the node itself, not in a tuple of their own, and ``args`` is a
# tuple (a tuple of arrays leaves the garbage collector's lists after its first
# collection): a long tape is then one collected object per op, and the collector's full
# passes over it cost half what they did. The backward walk empties a node once it is
# visited (``args`` becomes ``()`` and ``ans`` ``None``), releasing the arrays it holds.
PRIM, ARGS, PARAMS, ANS, IS_COMPLEX, CT, PARENTS = range(7)  # parents: node[PARENTS:]


def input_node(is_complex: bool) -> list:
    return [None, None, None, None, is_complex, None]


_new = object.__new__
_NO_PARAMS: dict = {}  # the parameters of a parameterless op's node; never mutated


class Var(Tracer):
    """A value on a reverse-mode tape: ``value`` and the ``node`` that made it (an
    input's node has no primitive)."""

    __slots__ = ("value", "node", "__weakref__")

    def __init__(self, trace, value, node):
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


def _var(trace, value, node) -> Var:
    """``Var(trace, value, node)`` without the Python-level ``__init__`` call (a third
    cheaper: one is made per recorded op)."""
    v = _new(Var)
    v._trace = trace
    v.value = value
    v.node = node
    return v


class ReverseTrace(Trace):
    """The reverse-mode level: records a tape; ``backward`` walks it."""

    def __init__(self):
        super().__init__()
        self.tape: list[list] = []  # nodes, in creation order
        self.inputs: list[list] = []  # the input nodes (their cotangent slots are reset)
        self._walking = Lock()  # one walk at a time: the nodes hold its state

    def new_input(self, value) -> Var:
        node = input_node(_is_complex(value))
        self.inputs.append(node)
        return Var(self, value, node)

    def lower(self, x):
        return x.value if isinstance(x, Var) and x._trace is self else x

    def process(self, prim, args, params):
        if len(args) == 2 and self.level == 0 and not params:
            return self._binary(prim, args)
        if len(args) == 2:  # binary ops dominate every tape: unrolled
            a, b = args
            pa = a.node if type(a) is Var and a._trace is self else None
            pb = b.node if type(b) is Var and b._trace is self else None
            parents = (pa, pb)
            vals = (a if pa is None else a.value, b if pb is None else b.value)
            traced = pa is not None or pb is not None
        elif len(args) == 1:  # unary ops and their parameters: reshapes, reductions
            a = args[0]
            if type(a) is Var and a._trace is self:
                parents, vals, traced = (a.node,), (a.value,), True
            else:
                parents, vals, traced = (None,), args, False
        else:
            parents = []
            vals = []
            traced = False
            for a in args:
                if type(a) is Var and a._trace is self:
                    parents.append(a.node)
                    vals.append(a.value)
                    traced = True
                else:
                    parents.append(None)
                    vals.append(a)
        if self.level == 0:
            # No level below this one: the operands are plain values (skip bind's scan).
            try:
                out = prim.impl(*vals, **params)
            except (ValueError, TypeError) as exc:
                error = shape_error(prim, vals, params, exc)
                if error is exc:
                    raise
                raise error from exc
        elif len(vals) == 2:  # bind's search for the top level below, unrolled
            a, b = vals
            top = a._trace if isinstance(a, Tracer) else None
            if isinstance(b, Tracer) and (top is None or b._trace.level > top.level):
                top = b._trace
            out = top.process(prim, (a, b), params) if top is not None else bind(
                prim, a, b, **params)
        else:
            out = bind(prim, *vals, **params)
        if not traced:
            return out
        return self._record(prim, vals, params, parents, out)

    def _binary(self, prim, args):
        """``process`` for the most common op of all, inlined: a binary primitive without
        parameters at the lowest level (plain operands: numpy computes directly)."""
        a, b = args
        if type(a) is Var and a._trace is self:
            pa, a = a.node, a.value
        else:
            pa = None
        if type(b) is Var and b._trace is self:
            pb, b = b.node, b.value
        else:
            pb = None
        try:
            out = prim.impl(a, b)
        except (ValueError, TypeError) as exc:
            error = shape_error(prim, (a, b), {}, exc)
            if error is exc:
                raise
            raise error from exc
        vjps = prim.vjps
        if (pa is None and pb is None) or (vjps is None and prim.vjp_rules() is None):
            return out  # nothing to differentiate, or no derivative flows (comparisons)
        saves = prim.saves
        if saves is None or saves[1] is None:
            vals = (a, b)
        else:
            reads = saves[1]
            vals = (a if reads[0] else None, b if reads[1] else None)
        dtype = getattr(out, "dtype", None)
        node = [prim, vals, _NO_PARAMS, out if saves is None or saves[0] else None,
                dtype.kind == "c" if dtype is not None else isinstance(out, complex), None,
                pa, pb]
        self.tape.append(node)
        v = _new(Var)
        v._trace = self
        v.value = out
        v.node = node
        return v

    def record(self, prim, vals, params, parents, out):
        """Append the node that made ``out`` to the tape (if a derivative flows through).

        ``parents`` are the operands' ``Var``s of this level (``None`` for constants).
        """
        return self._record(prim, vals, params,
                            [p if p is None else p.node for p in parents], out)

    def _record(self, prim, vals, params, parents, out):
        vjps = prim.vjps if prim.vjps is not None else prim.vjp_rules()
        if vjps is None:
            return out  # no derivative flows through (e.g. comparisons, argmax)
        saves = prim.saves
        if saves is None:
            args, ans = vals, out
        else:
            reads_ans, reads = saves
            if reads is None:
                args = vals
            elif len(reads) == 1:  # a unary op that reads only its result
                args = (None,)
            else:
                args = tuple([v if keep else None for v, keep in zip(vals, reads)])
            ans = out if reads_ans else None
        dtype = getattr(out, "dtype", None)  # inline: once per recorded op
        node = [prim, args, params, ans,
                dtype.kind == "c" if dtype is not None else isinstance(out, complex), None,
                *parents]
        self.tape.append(node)
        return _var(self, out, node)

    def backward(self, outputs, cotangents, inputs, retain=False):
        """Cotangents of ``inputs`` given those of ``outputs`` (``None`` = zero).

        Walks the tape newest first. Unless ``retain``, each node is released once
        visited, so activations are freed as the walk passes them. Cotangents
        accumulate with ``+``, which is numpy's own add for plain arrays and gradlab's
        for the tracers of an enclosing transform; plain cotangents of ``x[idx]`` are
        scattered into a buffer the walk owns instead (``sparse.py``).
        """
        token = warnings_at_user_line()  # a rule's RuntimeWarning points at the user's line
        try:
            with self._walking:
                return self._backward(outputs, cotangents, inputs, retain)
        finally:
            if token is not None:
                restore_warnings(token)

    def _backward(self, outputs, cotangents, inputs, retain):
        try:
            for out, ct in zip(outputs, cotangents):
                if isinstance(out, Var) and out._trace is self and ct is not None:
                    node = out.node
                    node[5] = ct if node[5] is None else node[5] + ct
            cts = self._walk(retain)
            if cts is None:
                return [x.node[5] for x in inputs]
            return [cts.take(x.node[5]) for x in inputs]  # dense, and no longer the walk's
        except BaseException:  # a rule's error cut the walk short: no cotangent stays behind
            for node in self.tape:
                if node is not None:
                    node[5] = None
            raise
        finally:
            for node in self.inputs:
                node[5] = None

    def _walk(self, retain):
        """Visit the tape newest first; return the walk's ``CotangentSum`` if an indexed
        cotangent appeared in it (its inputs' cotangents must then be ``take``n)."""
        tape = self.tape
        cts = None  # a CotangentSum once a rule has made an indexed cotangent (sparse.py)
        for n in range(len(tape) - 1, -1, -1):
            node = tape[n]
            g = node[5]
            if g is not None:
                node[5] = None
                if cts is not None:
                    g = cts.take(g)  # rules read a dense g, which the walk no longer owns
                if len(node) == 8:  # a binary op's node (most of every tape): one unpack
                    prim, args, params, ans, complex_out, _, pa, pb = node
                    parents = (pa, pb)
                elif len(node) == 7:  # a unary op's
                    prim, args, params, ans, complex_out, _, pa = node
                    parents = (pa,)
                else:
                    prim, args, params, ans, complex_out = node[:5]
                    parents = node[6:]
                vjps = prim.vjps
                if type(vjps) is not PerOperand:
                    joint = None
                elif (joint := vjps.joint) is not None:  # one call for all operands' cotangents
                    vjps = joint([p is not None for p in parents], g, ans, *args, **params)
                elif vjps.sparse is not None:  # x[idx]: its indexed cotangent where it has one
                    joint = vjps = _indexed_or_dense(vjps, parents, g, ans, args, params)
                    if cts is None and IndexedCotangent in map(type, vjps):
                        cts = CotangentSum()  # the first indexed cotangent of this walk
                for i, parent in enumerate(parents):
                    if parent is None:
                        continue
                    if joint is not None:
                        ct = vjps[i]
                        if ct is None:
                            continue
                    else:
                        rule = vjps[i]
                        if rule is None:
                            continue
                        ct = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
                    if complex_out and not parent[4]:
                        if type(ct) is IndexedCotangent:
                            ct = ct.dense()
                        ct = _real_part(ct)  # a real value's cotangent is real (docs/complex.md)
                    prev = parent[5]
                    # An empty slot takes any cotangent as it is (indexed ones too).
                    parent[5] = (ct if prev is None else prev + ct if cts is None
                                 else cts.add(prev, ct))
                # Locals outlive the iteration: drop this node's result and cotangents
                # now, not when the next node (maybe a recomputed checkpoint) is done.
                g = ans = args = ct = prev = None
            if not retain:
                # The output Vars the caller holds reach every node through its parents:
                # empty a visited node so the activations it holds really are freed now.
                tape[n] = None
                node[1] = ()
                node[3] = None
        if not retain:
            tape.clear()
        return cts


def _indexed_or_dense(vjps: PerOperand, parents, g, ans, args, params) -> list:
    """Each operand's cotangent (``None`` where it has no node): ``vjps.sparse``'s indexed
    one where that rule gives one, the dense rule's elsewhere."""
    cts = []
    for i, parent in enumerate(parents):
        ct = None
        if parent is not None:
            ct = vjps.sparse(i, g, ans, *args, **params)
            if ct is None:
                ct = vjps.fn(i, g, ans, *args, **params)
        cts.append(ct)
    return cts


def _is_complex(x) -> bool:
    dt = getattr(x, "dtype", None)
    return isinstance(x, complex) if dt is None else dt.kind == "c"


# ``real`` for a complex cotangent flowing into a real value: ``gradlab.ops.complex``
# (a layer above core, which core never imports) registers its primitive here.
_REAL_PART: list = []


def register_real_part(real) -> None:
    """Set the op the backward walk takes a complex cotangent's real part with."""
    _REAL_PART[:] = [real]


def _real_part(ct):
    return _REAL_PART[0](ct)
