"""Lowering a graph to one flat Python function of numpy calls (what ``jit`` replays).

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x: np.tanh(x) * 2.0, np.ones(2))
>>> run = lower(g)
>>> print(run.source)
def graph_run(a0):
    v1 = f0(a0)
    v3 = f1(v1, 2.0)
    return v3
>>> run(np.zeros(2)).tolist()
[0.0, 0.0]

Each equation becomes one line ``v_out = f_n(v_in, ..., key=p_n_key)``: ``f_n`` is the
primitive's numpy ``impl`` (bound as a global of the generated code, like every
constant and parameter), values are local variables, so a replay runs no
per-operation Python objects at all: no tracers, no tape nodes, no dictionaries, just
the numpy calls in order. Guards are ``if`` lines that raise ``GuardError`` naming the
user's line. A local that no later line reads is deleted (``del``) where the graph is
large, so activations are freed as in eager mode.
"""

from __future__ import annotations

from ..core.tree import TreeDef
from .ir import Graph, guards_by_eqn

_LITERAL_TYPES = (bool, int, float)


def _literal(value):
    """Python source for small literal constants, else None (kept as a global)."""
    if type(value) in _LITERAL_TYPES and value == value and abs(value) != float("inf"):
        return repr(value)
    return None


def _tree_source(td: TreeDef, names) -> str:
    """Source building the pytree ``td`` from the value names (in leaf order)."""
    if td.kind is None:
        return next(names)
    kids = [_tree_source(c, names) for c in td.children]
    if any(k is None for k in kids):
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


def lower(graph: Graph, free_dead: bool | None = None) -> Lowered:
    """Generate the flat function ``run(*input_leaves) -> output pytree``.

    ``free_dead`` deletes each value after its last use (default: for graphs of more than
    200 equations, where memory matters more than the few nanoseconds a ``del`` costs).
    """
    if free_dead is None:
        free_dead = len(graph.eqns) > 200
    env: dict = {"_guard_fail": _guard_fail(graph)}
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
    last_use = _last_uses(graph) if free_dead else {}
    guards = guards_by_eqn(graph)
    lines = [f"def graph_run({', '.join(names[v] for v in graph.inputs)}):"]
    lines += _guard_lines(guards.get(-1, ()), graph, names, env)
    for n, e in enumerate(graph.eqns):
        for o in e.outputs:
            names[o] = f"v{o}"
        env[f"f{n}"] = e.primitive.impl
        args = [names[i] for i in e.inputs]
        for k, p in e.params.items():
            lit = _literal(p) if p is not None else "None"
            if lit is None:
                env[f"p{n}_{k}"] = p
                lit = f"p{n}_{k}"
            args.append(f"{k}={lit}")
        target = ", ".join(names[o] for o in e.outputs) + ("," if e.multiple and
                                                            len(e.outputs) == 1 else "")
        lines.append(f"    {target} = f{n}({', '.join(args)})")
        lines += _guard_lines(guards.get(n, ()), graph, names, env)
        dead = [names[i] for i in set(e.inputs) if last_use.get(i) == n
                and names[i].startswith("v")]
        if dead:
            lines.append(f"    del {', '.join(dead)}")
    out_names = iter([names[o] for o in graph.outputs])
    built = _tree_source(graph.out_tree, out_names)
    if built is None:
        from ..core.tree import tree_unflatten

        env["_unflatten"], env["_out_tree"] = tree_unflatten, graph.out_tree
        built = f"_unflatten(_out_tree, [{', '.join(names[o] for o in graph.outputs)}])"
    lines.append(f"    return {built}")
    source = "\n".join(lines)
    exec(compile(source, "<gradlab graph>", "exec"), env)  # noqa: S102 - our own code
    return Lowered(env["graph_run"], source)


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
