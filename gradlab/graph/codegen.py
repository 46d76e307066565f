"""Lowering a graph to one flat Python function of numpy calls (what ``jit`` replays).

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x: np.tanh(x) * 2.0, np.ones(2))
>>> run = lower(g)
>>> print(run.source)
def graph_run(a0):
    v0 = f_tanh(a0)
    v0 = f_multiply(v0, 2.0)
    return v0
>>> run(np.zeros(2)).tolist()
[0.0, 0.0]

Each equation becomes one line ``v = f_name(v, ..., key=p_key)``: ``f_name`` is the
primitive's numpy ``impl`` (bound as a global of the generated code, like every
constant and parameter: one global per distinct object), values are local variables,
so a replay runs no per-operation Python objects at all: no tracers, no tape nodes, no
dictionaries, just the numpy calls in order (a few, ``transpose`` and ``reshape``, as
the array methods that skip numpy's Python wrappers). Guards are ``if`` lines that
raise ``GuardError`` naming the user's line. A value's name is reused once no later
line reads it, which frees its array as eager code would (a large one, 64 kB or more,
is deleted with ``del`` at once).
"""

from __future__ import annotations

import heapq
import itertools
import linecache
import math

import numpy as np

from ..core.tree import TreeDef
from .ir import Graph, guards_by_eqn

_LITERAL_TYPES = (bool, int, float)


def _literal(value):
    """Python source for small literal constants, else None (kept as a global)."""
    if type(value) in _LITERAL_TYPES and value == value and abs(value) != float("inf"):
        return repr(value)
    return None


def _tree_source(td: TreeDef, names) -> str | None:
    """Source building the pytree ``td`` from the value names (in leaf order)."""
    if td.kind is None:
        return next(names)
    sources = [_tree_source(c, names) for c in td.children]
    kids = [k for k in sources if k is not None]
    if len(kids) < len(sources):
        return None
    if td.kind is tuple:
        return f"({', '.join(kids)}{',' if len(kids) == 1 else ''})"
    if td.kind is list:
        return f"[{', '.join(kids)}]"
    if td.kind is dict:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(td.aux, kids)) + "}"
    if td.kind is type(None):
        return "None"
    return None  # another node type (registered, namedtuple): built with tree_unflatten


class Lowered:
    """The generated function, with its source (``.source``) for inspection."""

    def __init__(self, fn, source):
        self.fn, self.source = fn, source

    def __call__(self, *flat_inputs):
        return self.fn(*flat_inputs)


_COUNTER = itertools.count()
MISS = object()  # what a signature-checked function returns for other input types

FREE_BYTES = 1 << 16  # values at least this large are deleted after their last use


def _inline_transpose(args, params, avals):
    n = len(avals[0].shape)
    if n >= 2 and tuple(params["axes"]) == tuple(range(n - 1, -1, -1)):
        return f"{args[0]}.T"  # a view, as np.transpose gives, without the function call
    return None


def _inline_reshape(args, params, avals):
    if not avals[0].shape:
        return None  # a Python scalar input has no .reshape
    return f"{args[0]}.reshape({params['newshape']!r})"


# primitive name -> (operand sources, params, operand avals) -> an expression or None: the
# same numpy operation spelled without a Python-level function call.
INLINE = {"transpose": _inline_transpose, "reshape": _inline_reshape}


def lower(graph: Graph, free_dead: bool = True, signature=None) -> Lowered:
    """Generate the flat function ``run(*input_leaves) -> output pytree``.

    ``free_dead`` frees each value after its last use (reusing its name; ``del`` for a
    large one): numpy then reuses its memory, which is faster than holding every
    activation, as well as smaller. With ``signature`` (one ``(shape, dtype)``
    per input), the function first checks that its inputs are arrays of exactly those
    shapes and dtypes and returns ``MISS`` otherwise (``jit``'s fast path).
    """
    env: dict = {"_guard_fail": _guard_fail(graph), "_copy": _copy, "_MISS": MISS,
                 "_ndarray": np.ndarray}
    names = _leaf_names(graph, env)
    lines = [f"def graph_run({', '.join(names[v] for v in graph.inputs)}):"]
    if signature is not None:
        lines += _signature_lines(graph, names, signature, env)
    lines += _body_lines(graph, names, env, _last_uses(graph) if free_dead else {})
    lines.append(f"    return {_return_source(graph, names, env)}")
    source = "\n".join(lines)
    filename = f"<gradlab graph {next(_COUNTER)}>"
    # Tracebacks through the generated code show its lines, like any source file's.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), env)  # noqa: S102 - our own code
    return Lowered(env["graph_run"], source)


def _leaf_names(graph, env) -> dict:
    names: dict[int, str] = {}
    for n, v in enumerate(graph.inputs):
        names[v] = f"a{n}"
    for v, c in graph.consts.items():
        lit = _literal(c)
        if lit is None:
            names[v] = f"c{v}"
            env[names[v]] = c
        else:
            names[v] = lit
    return names


def _signature_lines(graph, names, signature, env) -> list:
    tests = []
    for k, (v, (shape, dtype)) in enumerate(zip(graph.inputs, signature)):
        env[f"_d{k}"] = dtype
        a = names[v]
        tests.append(f"type({a}) is not _ndarray or {a}.shape != {tuple(shape)!r} or "
                     f"{a}.dtype is not _d{k}")
    return [f"    if {' or '.join(tests)}: return _MISS"] if tests else []


def _body_lines(graph, names, env, last_use) -> list:
    lines = []
    guards = guards_by_eqn(graph)
    lines += _guard_lines(guards.get(-1, ()), graph, names, env)
    slots = _Slots(graph, last_use)
    shared = _Globals(env)
    for n, e in enumerate(graph.eqns):
        args = [names[i] for i in e.inputs]
        dying = [names[i] for i in set(e.inputs)
                 if last_use.get(i) == n and names[i].startswith("v")]
        large = [v for v in dying if slots.large(v)]  # sizes read before names are retaken
        slots.release([v for v in dying if v not in large])  # y = f(y) may reuse y's name
        for o in e.outputs:
            names[o] = slots.take(o)
        inline = INLINE.get(e.primitive.name)
        expr = inline(args, e.params, [graph.avals[i] for i in e.inputs]) if inline else None
        if expr is None:
            for k, p in e.params.items():
                lit = _literal(p) if p is not None else "None"
                args.append(f"{k}={shared.name(p, f'p_{k}') if lit is None else lit}")
            expr = f"{shared.name(e.primitive.impl, f'f_{e.primitive.name}')}({', '.join(args)})"
        target = ", ".join(names[o] for o in e.outputs) + ("," if e.multiple and
                                                            len(e.outputs) == 1 else "")
        lines.append(f"    {target} = {expr}")
        lines += _guard_lines(guards.get(n, ()), graph, names, env)
        # A large value is deleted after its last use; a small one (and a small output
        # nothing reads) is freed when its name is next rebound.
        unread = [names[o] for o in e.outputs if slots.unread(o)]
        dead = sorted(large + [v for v in unread if slots.large(v)])
        if dead:
            lines.append(f"    del {', '.join(dead)}")
        slots.release(dead + [v for v in unread if not slots.large(v)])
    return lines


class _Slots:
    """Local names for the values. With ``last_use`` (``free_dead``), a dead value's name
    is reused by a later one, so rebinding it frees the array: a replay holds what eager
    code would, where a 1000-step loop's small intermediates would otherwise all live
    until it returns. Without, every value keeps its own name ``v<value>``."""

    def __init__(self, graph, last_use):
        self.avals, self.last_use = graph.avals, last_use
        self.keep = set(graph.outputs) | {g.value for g in graph.guards}
        self.free: list[int] = []  # released slot numbers; the lowest is reused first
        self.count = 0
        self.nbytes: dict[str, int] = {}  # name -> bytes of the value it now holds

    def take(self, value) -> str:
        if not self.last_use:
            slot = value
        elif self.free:
            slot = heapq.heappop(self.free)
        else:
            slot, self.count = self.count, self.count + 1
        name = f"v{slot}"
        self.nbytes[name] = _nbytes(self.avals[value])
        return name

    def release(self, names) -> None:
        if self.last_use:
            for name in names:
                heapq.heappush(self.free, int(name[1:]))

    def unread(self, value) -> bool:
        """An output no equation reads and the function does not return."""
        return bool(self.last_use) and value not in self.last_use and value not in self.keep

    def large(self, name) -> bool:
        return self.nbytes[name] >= FREE_BYTES


class _Globals:
    """One global name per distinct callable or parameter object (``f_sin``, ``p_axis``):
    a 1000-step loop's replay reads a few globals, not thousands."""

    def __init__(self, env):
        self.env, self.by_id = env, {}

    def name(self, obj, hint: str) -> str:
        """``obj``'s global name: ``hint`` made an identifier, then made unique."""
        name = self.by_id.get(id(obj))
        if name is None:
            name = base = "".join(c if c.isalnum() else "_" for c in hint)
            for k in itertools.count(2):
                if name not in self.env:
                    break
                name = f"{base}_{k}"  # another object with the same hint: p_axis_2
            self.env[name] = obj  # the env holds obj, so its id stays its own
            self.by_id[id(obj)] = name
        return name


def _nbytes(aval) -> int:
    return math.prod(aval.shape) * np.dtype(aval.dtype).itemsize


def _return_source(graph, names, env) -> str:
    # An output that is an input or a constant array is returned as a copy, as eager code
    # would return a new array: the caller may write into it.
    returned = [f"_copy({names[o]})" if o in graph.consts and names[o].startswith("c") or
                o in graph.inputs else names[o] for o in graph.outputs]
    built = _tree_source(graph.out_tree, iter(returned))
    if built is None:
        from ..core.tree import tree_unflatten

        env["_unflatten"], env["_out_tree"] = tree_unflatten, graph.out_tree
        built = f"_unflatten(_out_tree, [{', '.join(returned)}])"
    return built


def _copy(x):
    return x.copy() if type(x) is np.ndarray else x


def _last_uses(graph: Graph) -> dict:
    """``{value: index of the last equation reading it}``; outputs and guards never die."""
    keep = set(graph.outputs) | {g.value for g in graph.guards}
    last = {}
    for n, e in enumerate(graph.eqns):
        for i in e.inputs:
            if i not in keep:
                last[i] = n
    return last


def _guard_lines(guards, graph, names, env) -> list:
    lines = []
    for guard in guards:
        k = graph.guards.index(guard)
        v = names[guard.value]
        if guard.kind == "bool":
            test = f"not {v}" if guard.expected else v
        else:
            env[f"g{k}"] = guard.holds
            test = f"not g{k}({v})"
        lines.append(f"    if {test}: _guard_fail({k})")
    return lines


def _guard_fail(graph):
    guards = list(graph.guards)

    def fail(k):
        raise guards[k].error()

    return fail
