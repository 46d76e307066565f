"""The graph IR: a flat SSA program of gradlab primitives (a jaxpr, in JAX's words).

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x, y: np.sum(np.tanh(x) * y), np.ones(3), np.ones(3))
>>> print(g)
{ lambda ; a:f64[3] b:f64[3] . let
    c:f64[3] = tanh a
    d:f64[3] = multiply c b
    e:f64[] = sum d
  in (e) }
>>> float(g(np.zeros(3), np.ones(3)))
0.0

Structure (everything a translator to another framework needs; issue 13 builds on it):

- **Values** are small ints (SSA ids), each defined exactly once: as an input, a
  constant or the output of one equation. ``graph.avals[v]`` is its
  ``ShapeDtypeStruct`` (shape tuple, numpy dtype).
- ``graph.inputs``: the input ids, in the order of the flattened arguments;
  ``graph.input_names[i]`` a readable name ("x", "params['w']"); ``graph.in_tree`` the
  ``TreeDef`` of the argument tuple (``gradlab.tree_unflatten(graph.in_tree, leaves)``
  rebuilds ``args``). Arguments that are not numbers or arrays (strings, callables) are
  not inputs: they were fixed at capture and live in ``graph.static_args`` (leaf index
  -> value), checked on every call.
- ``graph.consts``: ``{id: value}``; a value is a numpy array or a Python scalar (a
  Python ``float`` stays a Python float: numpy's weak-scalar promotion depends on it).
- ``graph.eqns``: a list of ``Eqn`` in execution order (each operand is defined by an
  earlier equation, an input or a constant). ``eqn.primitive`` is the
  ``gradlab.Primitive`` (``eqn.primitive.name`` its registry name; ``.impl`` computes it
  with numpy), ``eqn.inputs`` the operand ids (positional, in the primitive's operand
  order), ``eqn.params`` the keyword parameters (``axis``, ``keepdims``, ``idx`` ...;
  values are Python scalars, tuples, slices, ``None``, ``Ellipsis``, numpy dtypes or
  small arrays), ``eqn.outputs`` the result ids: one for most primitives; where the
  primitive returns a tuple, ``eqn.multiple`` is True and ``outputs`` has one id per
  element. The computation of an equation is exactly
  ``primitive.impl(*[env[i] for i in inputs], **params)``.
- ``graph.outputs``: the output ids; ``graph.out_tree`` the ``TreeDef`` of the result.
- ``graph.guards``: Python control flow resolved at capture. ``Guard(value, kind,
  expected, location)``: ``kind == "bool"`` means ``bool(env[value]) == expected`` held
  (an ``if``/``while`` on a traced value); ``kind == "value"`` means the value was read
  as a Python number or a constant array (``float(x)``, ``np.nonzero(x)``) and must equal
  ``expected``. ``guard.after`` is the index of the equation after which it can be
  checked (-1: on the inputs). A failing guard raises ``GuardError`` naming the line.
- Primitives made at run time (``custom_vjp:<name>``, ``checkpoint:<name>``) carry
  Python objects in their params; they evaluate and differentiate, but ``to_json``
  refuses them and a translator has to inline or reject them.

A translator is one loop over the equations with one rule per primitive name; here
the rules are numpy's own (``impl``), which is what ``Graph.eval_flat`` does:

>>> env = dict(g.consts)
>>> env.update(zip(g.inputs, [np.zeros(3), np.ones(3)]))
>>> for eqn in g.eqns:
...     env[eqn.outputs[0]] = eqn.primitive.impl(*[env[i] for i in eqn.inputs], **eqn.params)
>>> float(env[g.outputs[0]])
0.0
"""

from __future__ import annotations

import numpy as np

from ..core.shapes import ShapeDtypeStruct
from ..core.trace import bind
from ..core.tree import tree_flatten, tree_unflatten


class GuardError(RuntimeError):
    """A graph was called with inputs that take another branch than at capture."""


class Eqn:
    """One primitive application: ``outputs = primitive(*inputs, **params)``."""

    __slots__ = ("primitive", "inputs", "params", "outputs", "multiple")

    def __init__(self, primitive, inputs, params, outputs, multiple=False):
        self.primitive = primitive
        self.inputs = tuple(inputs)
        self.params = dict(params)
        self.outputs = tuple(outputs)
        self.multiple = multiple

    def with_inputs(self, inputs, params=None) -> "Eqn":
        """A copy with other operands (and parameters); passes never mutate an equation."""
        new = Eqn.__new__(Eqn)
        new.primitive, new.inputs, new.outputs = self.primitive, tuple(inputs), self.outputs
        new.params = self.params if params is None else params
        new.multiple = self.multiple
        return new

    def __repr__(self):
        return f"Eqn({self.primitive.name}, {self.inputs} -> {self.outputs})"


class Guard:
    """A Python decision on a traced value, checked again when the graph runs."""

    __slots__ = ("value", "kind", "expected", "location", "after")

    def __init__(self, value, kind, expected, location, after=-1):
        self.value, self.kind, self.expected = value, kind, expected
        self.location, self.after = location, after

    def holds(self, actual) -> bool:
        if self.kind == "bool":
            return bool(actual) == self.expected
        from ..core.trace import concrete

        actual = concrete(actual, "a graph guard")
        return np.shape(actual) == np.shape(self.expected) and bool(
            np.all(np.asarray(actual) == np.asarray(self.expected)))

    def error(self) -> GuardError:
        if self.kind == "bool":
            what = f"the condition was {self.expected} at capture and is {not self.expected} now"
        else:
            what = f"a value read as a Python constant ({_short(self.expected)}) changed"
        return GuardError(
            f"graph guard failed: {what}\n  at {self.location}\nThese inputs take another "
            "path through the Python code than the captured one. Capture again with these "
            "inputs, or use np.where(condition, a, b) to keep both branches in the graph.")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


class Graph:
    """A captured function: see the module docstring for the structure."""

    def __init__(self):
        self.inputs: list[int] = []
        self.input_names: list[str] = []
        self.in_tree = None
        self.static_args: dict[int, object] = {}
        self.consts: dict[int, object] = {}
        self.eqns: list[Eqn] = []
        self.outputs: list[int] = []
        self.out_tree = None
        self.avals: dict[int, ShapeDtypeStruct] = {}
        self.guards: list[Guard] = []
        self.next_id = 0

    def new_value(self, aval) -> int:
        vid = self.next_id
        self.next_id += 1
        self.avals[vid] = aval
        return vid

    def copy(self) -> "Graph":
        """A shallow copy whose lists and dicts can be changed independently (for passes)."""
        g = Graph()
        g.__dict__.update({k: (v.copy() if isinstance(v, (list, dict)) else v)
                           for k, v in self.__dict__.items()})
        # Equations are shared: a pass that changes one replaces it (``Eqn.with_inputs``).
        g.guards = [Guard(x.value, x.kind, x.expected, x.location, x.after)
                    for x in self.guards]
        return g

    # -- evaluation ---------------------------------------------------------------------

    def flat_args(self, args) -> list:
        """The input leaves of ``args`` (checked against the captured structure)."""
        leaves, tree = tree_flatten(tuple(args))
        if tree != self.in_tree:
            raise TypeError(f"graph called with arguments of structure {tree}; it was "
                            f"captured for {self.in_tree}")
        flat = []
        for i, leaf in enumerate(leaves):
            if i in self.static_args:
                if leaf is not self.static_args[i] and leaf != self.static_args[i]:
                    raise GuardError(f"static argument leaf {i} is {leaf!r}; the graph was "
                                     f"captured with {self.static_args[i]!r}")
            else:
                flat.append(leaf)
        return flat

    def eval_flat(self, flat) -> list:
        """The output leaves for the input leaves ``flat`` (every primitive through ``bind``,
        so evaluating a graph under ``grad``, ``vmap`` or another capture works)."""
        env = dict(self.consts)
        env.update(zip(self.inputs, flat))
        guards = guards_by_eqn(self)
        for guard in guards.get(-1, ()):
            check_guard(guard, env[guard.value])
        for n, eqn in enumerate(self.eqns):
            out = bind(eqn.primitive, *[env[i] for i in eqn.inputs], **eqn.params)
            if eqn.multiple:
                env.update(zip(eqn.outputs, out))
            else:
                env[eqn.outputs[0]] = out
            for guard in guards.get(n, ()):
                check_guard(guard, env[guard.value])
        return [env[o] for o in self.outputs]

    def __call__(self, *args):
        return tree_unflatten(self.out_tree, self.eval_flat(self.flat_args(args)))

    def as_function(self):
        """A plain function evaluating the graph (what transforms of a graph trace)."""

        def graph_function(*args):
            return self(*args)

        graph_function.__name__ = "graph_function"
        return graph_function

    # -- views --------------------------------------------------------------------------

    def __str__(self):
        from .printing import format_graph

        return format_graph(self)

    def __repr__(self):
        return (f"<Graph: {len(self.inputs)} inputs, {len(self.eqns)} equations, "
                f"{len(self.outputs)} outputs>")

    def primitive_counts(self) -> dict:
        """``{primitive name: number of equations}``."""
        counts: dict[str, int] = {}
        for e in self.eqns:
            counts[e.primitive.name] = counts.get(e.primitive.name, 0) + 1
        return counts

    def to_json(self) -> str:
        """The graph as JSON text (``Graph.from_json`` reads it back)."""
        from .serialize import graph_to_json

        return graph_to_json(self)

    @staticmethod
    def from_json(text: str) -> "Graph":
        """A graph from ``to_json``'s text; primitives are looked up by name."""
        from .serialize import graph_from_json

        return graph_from_json(text)

    def to_dot(self) -> str:
        """Graphviz ``dot`` source of the graph."""
        from .draw import to_dot

        return to_dot(self)

    def to_svg(self, path=None) -> str:
        """An SVG drawing (Graphviz when installed, a built-in layered layout otherwise);
        written to ``path`` when given. Returns the SVG text."""
        from .draw import to_svg

        return to_svg(self, path)


def check_guard(guard: Guard, value) -> None:
    """Raise ``guard.error()`` unless it holds for ``value``. Where ``value`` is being
    captured into another graph (``grad_graph`` traces a graph's evaluation), the guard
    is carried over to that graph, keeping the line it names."""
    from ..core.trace import Tracer

    x = value
    while isinstance(x, Tracer):
        carry = getattr(x, "carry_guard", None)
        if carry is not None:
            carry(guard)
            return
        x = x.aval
    if not guard.holds(value):
        raise guard.error()


def guards_by_eqn(graph: Graph) -> dict:
    """``{equation index: [guards checkable right after it]}`` (-1: on the inputs)."""
    out: dict[int, list] = {}
    for g in graph.guards:
        out.setdefault(g.after, []).append(g)
    return out


def producers(graph: Graph) -> dict:
    """``{value id: index of the equation that defines it}``."""
    return {o: n for n, e in enumerate(graph.eqns) for o in e.outputs}


def reindex_guards(graph: Graph) -> None:
    """Recompute each guard's ``after`` from where its value is now defined."""
    where = producers(graph)
    for g in graph.guards:
        g.after = where.get(g.value, -1)
