"""Capture: a new interpreter level that records every primitive applied into a ``Graph``.

>>> import numpy as np, gradlab as gl
>>> def f(x):
...     if np.sum(x) > 0:          # resolved at capture, guarded
...         return np.exp(x)
...     return -x
>>> g = gl.capture(f, np.ones(2))
>>> g.primitive_counts()
{'sum': 1, 'greater': 1, 'exp': 1}
>>> g(-np.ones(2))                                            # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gradlab.graph.ir.GuardError: graph guard failed: the condition was True at capture and is False now
...

``GraphTrace`` is a level like ``ReverseTrace`` (JAX's ``JaxprTrace`` in autodidax):
its tracers carry a value id and, where the inputs are concrete, the value itself,
so Python control flow can be resolved (and is recorded as a guard). With symbolic
``Variable`` inputs the values are abstract and shapes come from the shape rules.
Transforms entered inside the capture (``grad``, ``jvp``, ``vmap``) sit above this
level, so their work, backward pass included, is recorded as ordinary equations.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core.errors import ConcretizationError, user_location
from ..core.shapes import ShapeDtypeStruct
from ..core.trace import Trace, Tracer, bind, new_trace, shape_error
from ..core.tree import tree_flatten, tree_unflatten
from ..intercept import instrument
from .ir import Graph, Guard


class Variable:
    """A symbolic placeholder input: a name, a shape and a dtype, no data yet.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: x * 2.0, gl.Variable("x", (3,)))
    >>> g.input_names, g(np.ones(3)).tolist()
    (['x'], [2.0, 2.0, 2.0])
    """

    def __init__(self, name: str, shape=(), dtype=np.float64):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    @property
    def aval(self):
        return ShapeDtypeStruct(self.shape, self.dtype)

    def __repr__(self):
        return f"Variable({self.name!r}, {self.shape}, {self.dtype})"


def aval_of(x) -> ShapeDtypeStruct:
    """The shape and dtype of a value, tracer or ``Variable``."""
    if isinstance(x, (Variable, GraphTracer)):
        return x.aval
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        if not isinstance(x, numbers.Number):  # a string or object output: kept as it is
            return ShapeDtypeStruct((), np.dtype(object))
        dtype = np.result_type(x)
    shape = getattr(x, "shape", None)
    return ShapeDtypeStruct(tuple(np.shape(x) if shape is None else shape), np.dtype(dtype))


class GraphTracer(Tracer):
    """A value of the graph being captured: its id, its aval and (if known) its value."""

    __slots__ = ("id", "value", "_aval")

    def __init__(self, trace, vid, value, aval):
        self._trace = trace
        self.id = vid
        self.value = value  # None where only the shape is known (Variable inputs)
        self._aval = aval

    @property
    def aval(self):
        return self._aval

    shape = property(lambda self: self._aval.shape)
    dtype = property(lambda self: self._aval.dtype)
    ndim = property(lambda self: len(self._aval.shape))

    def concrete_value(self, what):
        return self._trace.read(self, "value", what)

    def __bool__(self):
        return self._trace.read(self, "bool", "Python control flow (if/while/and/or)")

    def __float__(self):
        return float(self._trace.read(self, "value", "float()"))

    def __int__(self):
        return int(self._trace.read(self, "value", "int()"))

    def __index__(self):
        return int(self._trace.read(self, "value", "an index"))

    def __complex__(self):
        return complex(self._trace.read(self, "value", "complex()"))

    def carry_guard(self, guard):
        """Check ``guard`` (where this value is known) and record it in this graph."""
        if self.value is not None and not guard.holds(self.value):
            raise guard.error()
        graph = self._trace.graph
        graph.guards.append(Guard(self.id, guard.kind, guard.expected, guard.location,
                                  after=len(graph.eqns) - 1))

    def __repr__(self):
        aval = self._aval
        return f"GraphTracer(%{self.id}: {aval.dtype}{list(aval.shape)})"


class GraphTrace(Trace):
    """The capture level: ``process`` computes (or shape-infers) and records one equation."""

    def __init__(self):
        super().__init__()
        self.graph = Graph()
        self._const_ids: dict = {}
        self._keep: list = []  # the constants' objects, so their ids stay unique

    def lower(self, x):
        return x.value if isinstance(x, GraphTracer) and x._trace is self else x

    def new_input(self, x, name) -> GraphTracer:
        aval = aval_of(x)
        vid = self.graph.new_value(aval)
        self.graph.inputs.append(vid)
        self.graph.input_names.append(name)
        value = None if isinstance(x, Variable) else x
        return GraphTracer(self, vid, value, aval)

    def const_id(self, x) -> int:
        """The id of constant ``x`` (one id per object; equal Python scalars share one)."""
        # repr, not the value: 0.0 == -0.0, but they are different constants
        key = (type(x), repr(x)) if isinstance(x, (bool, int, float, complex)) else id(x)
        vid = self._const_ids.get(key)
        if vid is None:
            vid = self.graph.new_value(aval_of(x))
            self.graph.consts[vid] = x
            self._const_ids[key] = vid
            self._keep.append(x)
        return vid

    def read(self, tracer, kind, what):
        """A traced value read by Python: record a guard, return the value read."""
        if tracer.value is None:
            raise ConcretizationError(
                f"{what} needs the value of a symbolic Variable (at {user_location()}): a "
                "graph built from placeholders cannot branch on data. Capture with example "
                "arrays instead, or use np.where(condition, a, b).")
        result = bool(tracer.value) if kind == "bool" else tracer.value
        expected = result if kind == "bool" else np.array(tracer.value, copy=True)
        self.graph.guards.append(Guard(tracer.id, kind, expected, user_location(),
                                       after=len(self.graph.eqns) - 1))
        return result

    def process(self, prim, args, params):
        ids, vals, concrete = [], [], True
        for a in args:
            if isinstance(a, GraphTracer) and a._trace is self:
                ids.append(a.id)
                vals.append(a.value)
                concrete = concrete and a.value is not None
            else:
                ids.append(self.const_id(a))
                vals.append(a)
        if concrete:
            out = bind(prim, *vals, **params)
            multiple = isinstance(out, (tuple, list))
            outs = list(out) if multiple else [out]
            avals = [aval_of(o) for o in outs]
        else:
            in_avals = [a._aval if isinstance(a, GraphTracer) else aval_of(a) for a in args]
            avals, multiple = _abstract_eval(prim, vals, in_avals, params)
            outs = [None] * len(avals)
        graph = self.graph
        out_ids = [graph.new_value(a) for a in avals]
        from .ir import Eqn

        graph.eqns.append(Eqn(prim, ids, params, out_ids, multiple))
        tracers = [GraphTracer(self, i, o, a) for i, o, a in zip(out_ids, outs, avals)]
        if multiple:
            return type(out)(tracers) if concrete else tuple(tracers)
        return tracers[0]


def _abstract_eval(prim, vals, avals, params):
    """Output avals from the shape rules (for symbolic ``Variable`` inputs)."""
    from ..ops.families import Elementwise
    from ..transforms.shapes import _weak_dtype

    try:
        rule = prim.shape_rule or prim.family.shape
        out = rule(prim, avals, params)
    except (ValueError, IndexError, np.exceptions.AxisError) as exc:
        raise shape_error(prim, avals, params, exc) from exc
    if isinstance(out, (tuple, list)) and not isinstance(out, ShapeDtypeStruct):
        return [ShapeDtypeStruct(tuple(o.shape), np.dtype(o.dtype)) for o in out], True
    dtype = np.dtype(out.dtype)
    if prim.shape_rule is None and prim.family is Elementwise:
        dtype = np.dtype(_weak_dtype(
            prim, [_Probe(a) if v is None else v for v, a in zip(vals, avals)], params))
    return [ShapeDtypeStruct(tuple(out.shape), dtype)], False


class _Probe:
    """Stands in for an aval in ``_weak_dtype`` (which reads ``_aval_of(a).dtype``)."""

    def __init__(self, aval):
        self.shape, self.dtype = aval.shape, aval.dtype


def _is_input_leaf(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, numbers.Number, Variable)) and not isinstance(
        x, bool)


def _leaf_names(args, names) -> list:
    """A readable name per leaf: ``x``, ``p['w']``, ``layers[0][1]``."""
    from ..core.tree import _node

    out = []

    def walk(x, path):
        node = None if isinstance(x, Variable) else _node(x)
        if node is None:
            out.append(path)
            return
        kind, aux, children = node
        keys = aux if kind is dict else range(len(children))
        for k, child in zip(keys, children):
            walk(child, f"{path}[{k!r}]")

    for i, arg in enumerate(args):
        walk(arg, names[i] if i < len(names) else f"arg{i}")
    return out


def _argument_names(fun, n) -> list:
    code = getattr(getattr(fun, "__wrapped__", fun), "__code__", None)
    if code is None:
        return []
    return list(code.co_varnames[:min(code.co_argcount, n)])


def capture(fun, *args) -> Graph:
    """The graph of ``fun(*args)``: every primitive applied, as a flat SSA program.

    ``args`` are pytrees of arrays, numbers or ``Variable`` placeholders; leaves that are
    neither (strings, callables, ``True``/``False``) are fixed at capture.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda w, x: np.tanh(x @ w), np.ones((3, 2)), np.ones((4, 3)))
    >>> [e.primitive.name for e in g.eqns], g.avals[g.outputs[0]].shape
    (['matmul', 'tanh'], (4, 2))
    """
    f = instrument(fun)
    leaves, in_tree = tree_flatten(tuple(args))
    names = _leaf_names(args, _argument_names(fun, len(args)))
    with new_trace(GraphTrace) as trace:
        graph = trace.graph
        graph.in_tree = in_tree
        boxed = []
        for i, (leaf, name) in enumerate(zip(leaves, names)):
            if _is_input_leaf(leaf):
                boxed.append(trace.new_input(
                    leaf, leaf.name if isinstance(leaf, Variable) else name))
            else:
                graph.static_args[i] = leaf
                boxed.append(leaf)
        out = f(*tree_unflatten(in_tree, boxed))
        out_leaves, graph.out_tree = tree_flatten(out)
        for o in out_leaves:
            if isinstance(o, GraphTracer) and o._trace is trace:
                graph.outputs.append(o.id)
            elif isinstance(o, Tracer):
                raise TypeError(f"capture: output {o!r} belongs to another transform")
            else:
                graph.outputs.append(trace.const_id(o))
    return graph
