"""Memory: choose which activations to keep and which to recompute under a budget.

>>> import numpy as np, gradlab as gl
>>> def chain(x):
...     for _ in range(6):
...         x = np.tanh(x)
...     return np.sum(x)
>>> g = gl.capture(gl.grad(chain), np.ones(10_000))
>>> plan = gl.plan_remat(g, memory_budget=0.6 * peak_bytes(g, set()))
>>> plan.fits, plan.peak <= plan.budget, len(plan.recompute) > 0
(True, True, True)
>>> bool(np.allclose(gl.eval_scheduled(g, plan, np.ones(10_000)), g(np.ones(10_000))))
True

A *schedule* runs the equations in order. A kept value is freed after its last use;
a value in ``plan.recompute`` is computed only just before a use (from its operands,
themselves recomputed if they were dropped) and freed right after it.
``peak_bytes`` simulates a schedule from the values' shapes; ``eval_scheduled`` runs
it, so the planned peak is the peak of the run (plus numpy's own temporaries inside
a primitive). Inputs and constants are always held (they are the caller's).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..core.trace import bind
from ..core.tree import tree_unflatten
from .ir import Graph, check_guard, guards_by_eqn


def _nbytes(aval) -> int:
    return math.prod(aval.shape) * np.dtype(aval.dtype).itemsize


def schedule(graph: Graph, recompute: set) -> list:
    """The actions ``("compute", eqn index)`` and ``("free", value)`` of a plan, in order."""
    producer = {o: n for n, e in enumerate(graph.eqns) for o in e.outputs}
    last_use: dict[int, int] = {}
    for n, e in enumerate(graph.eqns):
        for i in e.inputs:
            last_use[i] = n
    held = set(graph.inputs) | set(graph.consts) | set(graph.outputs)
    held |= {g.value for g in graph.guards}
    live = set(graph.inputs) | set(graph.consts)
    actions: list = []

    def ensure(v, wanted):
        """Make ``v`` live; recomputed operands not in ``wanted`` are dropped again."""
        if v in live:
            return
        e = graph.eqns[producer[v]]
        for i in e.inputs:
            ensure(i, wanted)
        actions.append(("compute", producer[v]))
        live.update(e.outputs)
        for i in set(e.inputs):
            if i in recompute and i not in wanted and i not in held and i in live:
                actions.append(("free", i))
                live.discard(i)

    eqns = graph.eqns
    for n, e in enumerate(eqns):
        if all(o in recompute for o in e.outputs):
            continue  # computed on demand, just before a use
        wanted = set(e.inputs)
        for i in e.inputs:
            ensure(i, wanted)
        actions.append(("compute", n))
        live.update(e.outputs)
        upcoming = set(eqns[n + 1].inputs) if n + 1 < len(eqns) else set()
        for v in sorted(live):
            if v in held:
                continue
            if (v in recompute and v not in upcoming) or last_use.get(v, -1) <= n:
                actions.append(("free", v))
                live.discard(v)
    return actions


def memory_profile(graph: Graph, recompute: set) -> tuple[int, int]:
    """``(peak bytes, byte-steps)`` of the schedule: its highest point and its area."""
    held = sum(_nbytes(graph.avals[v]) for v in list(graph.inputs) + list(graph.consts))
    peak, area = held, 0
    for kind, x in schedule(graph, recompute):
        if kind == "compute":
            held += sum(_nbytes(graph.avals[o]) for o in graph.eqns[x].outputs)
            peak = max(peak, held)
            area += held
        else:
            held -= _nbytes(graph.avals[x])
    return peak, area


def peak_bytes(graph: Graph, recompute: set) -> int:
    """The largest number of bytes held at once by the schedule of ``recompute``.

    >>> import numpy as np, gradlab as gl
    >>> peak_bytes(gl.capture(lambda x: np.sin(x) * 2.0, np.ones(100)), set())  # x, sin, out, 2.0
    2408
    """
    return memory_profile(graph, recompute)[0]


@dataclasses.dataclass
class RematPlan:
    """Which values to recompute; ``peak`` the planned peak bytes, ``fits`` whether it is
    within ``budget``; ``recomputed_equations`` the extra work."""

    recompute: set
    budget: float
    peak: int
    baseline_peak: int
    recomputed_equations: int

    @property
    def fits(self) -> bool:
        return self.peak <= self.budget


def plan_remat(graph: Graph, memory_budget: float) -> RematPlan:
    """Greedily mark activations for recomputation until the planned peak fits
    ``memory_budget`` bytes (or nothing more helps: then ``plan.fits`` is False).

    Each round tries every kept activation and takes the one that lowers the peak most
    (or, where none does, the memory held over time): a small graph's planner, cubic in
    its size in the worst case.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(gl.grad(lambda x: np.sum(np.tanh(np.tanh(np.tanh(x))))), np.ones(1000))
    >>> plan = plan_remat(g, 0.9 * peak_bytes(g, set()))
    >>> plan.fits, plan.peak < plan.baseline_peak
    (True, True)
    """
    recompute: set = set()
    current = memory_profile(graph, recompute)
    baseline = current[0]
    protected = set(graph.outputs) | {g.value for g in graph.guards}
    candidates = [e.outputs[0] for e in graph.eqns
                  if not e.multiple and e.outputs[0] not in protected]
    while current[0] > memory_budget:
        # The best trial lowers the peak, or failing that the area (a step on a plateau:
        # one value dropped rarely lowers the peak alone, two or three together do).
        best, best_profile = None, current
        for v in candidates:
            if v not in recompute:
                trial = memory_profile(graph, recompute | {v})
                if trial < best_profile:
                    best, best_profile = v, trial
        if best is None:
            break
        recompute.add(best)
        current = best_profile
    current = current[0]
    extra = sum(1 for kind, _ in schedule(graph, recompute) if kind == "compute") - len(
        graph.eqns)
    return RematPlan(recompute, memory_budget, current, baseline, extra)


def eval_scheduled(graph: Graph, plan: RematPlan, *args):
    """``graph(*args)`` run by ``plan``'s schedule: the same values, less memory held.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(gl.grad(lambda x: np.sum(np.sin(np.sin(x)))), np.ones(1000))
    >>> plan = gl.plan_remat(g, 0.8 * peak_bytes(g, set()))
    >>> bool(np.array_equal(eval_scheduled(g, plan, np.ones(1000)), g(np.ones(1000))))
    True
    """
    env = dict(graph.consts)
    env.update(zip(graph.inputs, graph.flat_args(args)))
    guards = guards_by_eqn(graph)
    for guard in guards.get(-1, ()):
        check_guard(guard, env[guard.value])
    for kind, x in schedule(graph, plan.recompute):
        if kind == "free":
            del env[x]
            continue
        e = graph.eqns[x]
        out = bind(e.primitive, *[env[i] for i in e.inputs], **e.params)
        env.update(zip(e.outputs, out) if e.multiple else [(e.outputs[0], out)])
        for guard in guards.get(x, ()):
            check_guard(guard, env[guard.value])
        out = None
    return tree_unflatten(graph.out_tree, [env[o] for o in graph.outputs])
