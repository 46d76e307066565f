"""Graph passes: each a small table of rewrite rules; ``optimize`` runs them to a fixed point.

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(gl.value_and_grad(lambda x: np.sum(x * x)), np.ones(3))
>>> small, report = gl.optimize(g)
>>> print(small)
{ lambda ; a:f64[3] . let
    b:f64[3] = multiply a a
    c:f64[] = sum b
    d:f64[3] = add a a
  in (c, d) }
>>> report["simplify"], report["equations_before"], report["equations_after"]
(2, 5, 3)

- ``dead_code``: equations none of whose results reaches an output or a guard.
- ``cse``: two equations with the same primitive, operands and parameters are one
  (across the forward/backward boundary: a backward pass often recomputes ``x.T`` or
  ``1 - tanh**2`` that the forward pass already has).
- ``fold_constants``: an equation whose operands are all constants is computed once.
- ``simplify``: exact algebraic identities (``x*1``, ``x+0``, ``x-0``, ``x/1``, ``x**1``,
  ``--x``,
  ``transpose(transpose(x))``, ``reshape(reshape(x))``, a reshape to the same shape),
  one rule per primitive name in ``SIMPLIFY_RULES``; a rule applies only where the
  result has the operand's exact shape and dtype, so no broadcast or promotion is lost,
  and only where it holds bit for bit: a float ``x + 0.0`` stays (it turns ``-0.0``
  into ``0.0``), ``x + (-0.0)`` and ``x - 0.0`` go.

Every pass returns a new graph and the number of equations it removed; no pass
changes what the graph computes (the tests check each rule's values).
"""

from __future__ import annotations

import numpy as np

from .ir import Eqn, Graph, reindex_guards

# -- substitution -----------------------------------------------------------------------


def _substitute(graph: Graph, subst: dict) -> None:
    """Rename every use of ``v`` to ``subst[v]`` (in place; ``graph`` is a fresh copy)."""
    if not subst:
        return

    def r(v):
        while v in subst:
            v = subst[v]
        return v

    eqns = graph.eqns
    for n, e in enumerate(eqns):
        for i in e.inputs:
            if i in subst:
                eqns[n] = e.with_inputs([r(i) for i in e.inputs])
                break
    graph.outputs = [r(o) for o in graph.outputs]
    for g in graph.guards:
        g.value = r(g.value)
    reindex_guards(graph)


# -- dead code ---------------------------------------------------------------------------


def dead_code(graph: Graph) -> tuple[Graph, int]:
    """Drop equations whose results nothing uses; unused constants go too.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: (np.sin(x), np.cos(x))[0], np.ones(2))
    >>> [e.primitive.name for e in dead_code(g)[0].eqns]
    ['sin']
    """
    g = graph.copy()
    live = set(g.outputs) | {guard.value for guard in g.guards}
    kept = []
    for e in reversed(g.eqns):
        if any(o in live for o in e.outputs):
            kept.append(e)
            live.update(e.inputs)
    kept.reverse()
    removed = len(g.eqns) - len(kept)
    g.eqns = kept
    g.consts = {v: c for v, c in g.consts.items() if v in live}
    reindex_guards(g)
    return g, removed


# -- common subexpressions ----------------------------------------------------------------


def _hashable(x):
    if isinstance(x, np.ndarray):
        return ("ndarray", x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, (list, tuple)):
        return (type(x).__name__,) + tuple(_hashable(v) for v in x)
    if isinstance(x, dict):
        return ("dict",) + tuple((k, _hashable(v)) for k, v in sorted(x.items()))
    if isinstance(x, slice):
        return ("slice", _hashable(x.start), _hashable(x.stop), _hashable(x.step))
    if isinstance(x, (float, complex, np.inexact)):
        return (type(x).__name__, repr(x))  # -0.0 and 0.0 are equal, but not the same
    try:
        hash(x)
    except TypeError:
        return ("id", id(x))
    return (type(x).__name__, x)


def _const_key(value):
    """Constants equal in value, shape and dtype share one id."""
    if isinstance(value, np.ndarray) and value.size > 4096:
        return ("id", id(value))  # large arrays: comparing bytes costs more than it saves
    return _hashable(value)


def cse(graph: Graph) -> tuple[Graph, int]:
    """Merge equations that compute the same thing (and equal constants).

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: np.sin(x) + np.sin(x), np.ones(2))
    >>> [e.primitive.name for e in cse(g)[0].eqns]
    ['sin', 'add']
    """
    g = graph.copy()
    subst: dict[int, int] = {}
    seen_consts: dict = {}
    for v, c in list(g.consts.items()):
        key = (_const_key(c), type(c).__name__)
        if key in seen_consts:
            subst[v] = seen_consts[key]
            del g.consts[v]
        else:
            seen_consts[key] = v
    _substitute(g, subst)
    seen: dict = {}
    kept = []
    for e in g.eqns:
        if any(i in subst for i in e.inputs):
            e = e.with_inputs([subst.get(i, i) for i in e.inputs])
        key = (e.primitive, e.inputs, _hashable(e.params) if e.params else ())
        earlier = seen.get(key)
        if earlier is not None:
            subst.update(zip(e.outputs, earlier.outputs))
        else:
            seen[key] = e
            kept.append(e)
    removed = len(g.eqns) - len(kept)
    g.eqns = kept
    _substitute(g, subst)
    return g, removed


# -- constant folding ---------------------------------------------------------------------

FOLD_MAX_SIZE = 1 << 16  # a folded constant larger than this stays an equation


def fold_constants(graph: Graph) -> tuple[Graph, int]:
    """Compute equations whose operands are all constants, once, at optimisation time.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda w, x: x @ w.T, np.ones((2, 3)), np.ones((4, 3)))
    >>> fixed = bind_inputs(g, {"w": np.eye(2, 3)})     # w is now a constant
    >>> folded, removed = fold_constants(fixed)
    >>> removed, [e.primitive.name for e in folded.eqns]
    (1, ['matmul'])
    """
    g = graph.copy()
    kept = []
    for e in g.eqns:
        if e.inputs and all(i in g.consts for i in e.inputs) and e.primitive.name not in NO_FOLD:
            out = e.primitive.impl(*[g.consts[i] for i in e.inputs], **e.params)
            outs = list(out) if e.multiple else [out]
            if all(np.size(o) <= FOLD_MAX_SIZE for o in outs):
                g.consts.update(zip(e.outputs, outs))
                continue
        kept.append(e)
    removed = len(g.eqns) - len(kept)
    g.eqns = kept
    reindex_guards(g)
    return g, removed


NO_FOLD: set[str] = set()  # primitives never folded (none yet: every primitive is pure)


def bind_inputs(graph: Graph, values: dict) -> Graph:
    """A copy of ``graph`` whose inputs named in ``values`` are constants (the graph then
    takes only the other inputs, in order; static-argument graphs are not supported).

    >>> import numpy as np, gradlab as gl
    >>> g = bind_inputs(gl.capture(lambda w, x: x @ w, np.ones(2), np.ones((3, 2))),
    ...                 {"w": np.array([1.0, 2.0])})
    >>> g.input_names, g(np.ones((1, 2))).tolist()
    (['x'], [3.0])
    """
    g = graph.copy()
    unknown = set(values) - set(g.input_names)
    if unknown:
        raise KeyError(f"bind_inputs: no inputs named {sorted(unknown)}; the graph's inputs "
                       f"are {g.input_names}")
    from ..core.tree import tree_structure

    keep = [(v, n) for v, n in zip(g.inputs, g.input_names) if n not in values]
    for v, n in zip(g.inputs, g.input_names):
        if n in values:
            g.consts[v] = values[n]
    g.inputs, g.input_names = [v for v, _ in keep], [n for _, n in keep]
    g.in_tree = tree_structure(tuple(range(len(keep))))
    g.static_args = {}
    return g


# -- algebraic simplification ---------------------------------------------------------------


def _units(g) -> dict:
    """``{constant id: 1, "+0" or "-0"}`` for the constants that are all ones, all +0 or
    all -0 (the sign of a float zero decides which sums are exact: ``-0.0 + 0.0 == +0.0``)."""
    out = {}
    for v, c in g.consts.items():
        if isinstance(c, (bool, np.bool_)):
            continue
        arr = np.asarray(c)
        if arr.dtype.kind in "iufc" and 0 < arr.size <= 1 << 20:
            first = arr.flat[0]
            if first == 1 and bool(np.all(arr == 1)):
                out[v] = 1
            elif first == 0 and bool(np.all(arr == 0)):
                signs = np.signbit(arr.real) if arr.dtype.kind in "fc" else np.zeros(1, bool)
                if bool(np.all(signs)):
                    out[v] = "-0"
                elif not bool(np.any(signs)):
                    out[v] = "+0"
    return out


def _is_const(g, v, unit, x) -> bool:
    """Whether constant ``v`` is ``unit`` for operand ``x``: 1, or a zero that adds
    exactly (``x + (-0.0)`` and ``x - 0.0`` for floats, any zero for integers)."""
    found = g.units.get(v)
    if unit == 1 or found is None or found == 1:
        return found == unit
    if np.dtype(g.avals[x].dtype).kind in "iub":
        return True
    return found == unit


def _same_aval(g, a, b) -> bool:
    return g.avals[a] == g.avals[b]


def _identity_operand(unit, positions):
    """A rule: ``op(x, unit)`` (or ``op(unit, x)`` where allowed) is ``x``."""

    def rule(g, e, producer):
        for pos in positions:
            other = e.inputs[1 - pos]
            if _is_const(g, e.inputs[pos], unit, other) and _same_aval(g, other,
                                                                      e.outputs[0]):
                return other
        return None

    return rule


def _double(name):
    """``op(op(x)) == x`` (negative)."""

    def rule(g, e, producer):
        inner = producer.get(e.inputs[0])
        if inner is not None and inner.primitive.name == name:
            return inner.inputs[0]
        return None

    return rule


def _transpose_rule(g, e, producer):
    inner = producer.get(e.inputs[0])
    if inner is None or inner.primitive.name != "transpose":
        return None
    axes = tuple(np.asarray(inner.params["axes"])[list(e.params["axes"])])
    if axes == tuple(range(len(axes))):
        return inner.inputs[0]
    e.inputs, e.params = inner.inputs, {"axes": axes}  # fused into one transpose
    return e


def _reshape_rule(g, e, producer):
    x = e.inputs[0]
    if g.avals[x] == g.avals[e.outputs[0]]:
        return x
    inner = producer.get(x)
    if inner is not None and inner.primitive.name == "reshape":
        e.inputs = inner.inputs  # reshape(reshape(x, s1), s2) == reshape(x, s2)
        return e.inputs[0] if g.avals[e.inputs[0]] == g.avals[e.outputs[0]] else e
    return None


# primitive name -> rule(graph, eqn, producers) returning a value id that replaces the
# equation's output, the rewritten equation itself, or None (no change).
SIMPLIFY_RULES = {
    "multiply": _identity_operand(1, (0, 1)),
    "add": _identity_operand("-0", (0, 1)),
    "subtract": _identity_operand("+0", (1,)),
    "divide": _identity_operand(1, (1,)),
    "power": _identity_operand(1, (1,)),
    "negative": _double("negative"),
    "transpose": _transpose_rule,
    "reshape": _reshape_rule,
}


def simplify(graph: Graph) -> tuple[Graph, int]:
    """Apply ``SIMPLIFY_RULES``; returns the graph and the number of equations removed.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: (x * 1.0 - 0.0).T.T, np.ones((2, 3)))
    >>> simpler, removed = simplify(g)
    >>> removed, len(dead_code(simpler)[0].eqns)      # the inner transpose is now dead
    (3, 0)
    """
    g = graph.copy()
    subst: dict[int, int] = {}
    producer: dict[int, Eqn] = {}
    kept = []
    rewritten = 0
    g.units = _units(g)
    for e in g.eqns:
        rule = SIMPLIFY_RULES.get(e.primitive.name)
        if rule is None or e.multiple:
            if subst and any(i in subst for i in e.inputs):
                e = e.with_inputs([_follow(subst, i) for i in e.inputs])
            kept.append(e)
            for o in e.outputs:
                producer[o] = e
            continue
        e = e.with_inputs([_follow(subst, i) for i in e.inputs])
        result = rule(g, e, producer)
        if isinstance(result, int) and not isinstance(result, bool):
            subst[e.outputs[0]] = result
            continue
        if result is e:
            rewritten += 1
        kept.append(e)
        for o in e.outputs:
            producer[o] = e
    removed = len(g.eqns) - len(kept)
    g.eqns = kept
    del g.units
    _substitute(g, subst)
    return g, removed


def _follow(subst, v):
    while v in subst:
        v = subst[v]
    return v


PASSES = {"simplify": simplify, "fold_constants": fold_constants, "cse": cse,
          "dead_code": dead_code}


def optimize(graph: Graph, passes=tuple(PASSES), max_rounds: int = 4):
    """Run ``passes`` until nothing changes; returns ``(graph, report)``, the report
    mapping each pass to the number of equations it removed in all.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: np.sum(x * 1.0) + np.sum(x * 1.0), np.ones(3))
    >>> small, report = gl.optimize(g)
    >>> [e.primitive.name for e in small.eqns], report["simplify"], report["cse"]
    (['sum', 'add'], 2, 1)
    """
    report = {name: 0 for name in passes}
    report["equations_before"] = len(graph.eqns)
    for _ in range(max_rounds):
        changed = 0
        for name in passes:
            graph, removed = PASSES[name](graph)
            report[name] += removed
            changed += removed
        if not changed:
            break
    report["equations_after"] = len(graph.eqns)
    return graph, report
