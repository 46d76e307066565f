"""The semantics of a graph's backward pass, stated as a small recursive interpreter,
and the checks that hold a compiled ``Tape`` to it.

``backprop_reference(graph, args, seed)`` is the definition; it is written for
clarity, not speed (it recurses once per value, so it is meant for graphs of at most
a few hundred equations):

- the **value** of an input is its argument, of a constant the constant, and of an
  equation's result ``primitive.impl(*values of its operands, **params)``;
- the **adjoint** of a value ``v`` is the seed if ``v`` is the output being
  differentiated, plus, for every equation ``e`` that reads ``v`` as its operand ``i``,
  ``vjp_i(adjoint(result of e), value(result of e), *values of e's operands)``, where
  ``vjp_i`` is the primitive's declared rule for operand ``i``; a value that nothing
  differentiable reads has adjoint zero.

That is reverse-mode differentiation in one sentence: adjoints are *pulled* from the
consumers, recursively, where the compiled tape *pushes* them down in one reversed
loop. ``certify`` checks that the two agree, plus three more properties, and returns a
``Certificate``.

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x: np.sum(x * x * 3.0), np.ones(2))
>>> [a.tolist() for a in backprop_reference(g, (np.array([1.0, 2.0]),))[:1]]
[[6.0, 12.0]]
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .ir import Graph
from .tape import Tape, node_jvp, node_vjps, random_args


def backprop_reference(graph: Graph, args, seed=1.0, out: int = 0) -> list:
    """Adjoint of every input of ``graph`` at ``args`` for output ``out`` seeded with
    ``seed`` (see the module docstring for the definition).

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x, y: np.sum(x * y), np.ones(2), np.ones(2))
    >>> [a.tolist() for a in backprop_reference(g, (np.array([1.0, 2.0]), np.ones(2)), 2.0)]
    [[2.0, 2.0], [2.0, 4.0]]
    """
    by_value = {o: e for e in graph.eqns for o in e.outputs}
    consumers: dict[int, list] = {}
    for e in graph.eqns:
        for i, v in enumerate(e.inputs):
            consumers.setdefault(v, []).append((e, i))
    inputs = dict(zip(graph.inputs, graph.flat_args(args)))
    root = graph.outputs[out]

    @functools.cache
    def value(v):
        if v in inputs:
            return inputs[v]
        if v in graph.consts:
            return graph.consts[v]
        e = by_value[v]
        return e.primitive.impl(*[value(i) for i in e.inputs], **e.params)

    @functools.cache
    def adjoint(v):
        total = np.broadcast_to(np.asarray(seed, np.result_type(value(v))),
                                np.shape(value(v))).copy() if v == root else None
        for e, i in consumers.get(v, ()):
            g = adjoint(e.outputs[0])
            if g is None:
                continue
            needed = [k == i for k in range(len(e.inputs))]
            ct = node_vjps(e.primitive, g, value(e.outputs[0]),
                           [value(k) for k in e.inputs], e.params, needed)[i]
            if ct is not None:
                total = ct if total is None else total + ct
        return total

    return [_zeros_if_none(adjoint(v), value(v)) for v in graph.inputs]


def _zeros_if_none(g, like):
    if g is not None:
        return g
    dtype = np.result_type(like)
    return np.zeros(np.shape(like), dtype if dtype.kind in "fc" else np.float64)


@dataclasses.dataclass
class Certificate:
    """Which checks ran on a compiled tape, and what they found."""

    checks: dict = dataclasses.field(default_factory=dict)  # name -> (passed, detail)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks.values())

    def __str__(self):
        lines = [f"Certificate: {'all checks passed' if self.passed else 'FAILED'}"]
        lines += [f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}"
                  for name, (ok, detail) in sorted(self.checks.items())]
        return "\n".join(lines)


def _close(a, b, exact):
    a, b = np.asarray(a), np.asarray(b)
    if exact:
        return a.shape == b.shape and bool(np.all(a == b))
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def _integer_valued(values) -> bool:
    return all(np.all(np.isfinite(v)) and np.all(np.asarray(v) == np.round(v))
               for v in values if np.asarray(v).dtype.kind == "f")


def check_parents_precede(tape: Tape):
    bad = [n for n in range(len(tape)) if any(p >= n for p in tape.parents_of(n))]
    return not bad, "every parent precedes its child" if not bad else f"nodes {bad[:5]}"


def check_eager_values(tape: Tape, args):
    got = tape.forward(*args)
    want = tape.graph.as_function()(*args)
    from ..core.tree import tree_leaves

    ok = all(_close(a, b, True) for a, b in zip(tree_leaves(got), tree_leaves(want)))
    return ok, "compiled values equal graph evaluation exactly" if ok else "values differ"


def check_reference(tape: Tape, args):
    tape.forward(*args)
    grads = tape.backward_dense_all()
    reference = backprop_reference(tape.graph, args)
    exact = _integer_valued(tape.buffers)
    ok = all(_close(grads[n], r, exact) for n, r in enumerate(reference))
    kind = "exactly (integer-valued program)" if exact else "to 1e-9 (float)"
    return ok, f"backward equals backprop_reference {kind}" if ok else "gradients differ"


def check_adjoint(tape: Tape, rng):
    """``<J t, c> == <t, J^T c>`` for every differentiable node with random t, c."""
    buf, bad, checked = tape.buffers, [], 0
    for n in range(len(tape)):
        prim = tape.prims[n]
        if prim is None or not prim.differentiable or np.result_type(buf[n]).kind != "f":
            continue
        ps = tape.parents_of(n)
        args = [buf[p] for p in ps]
        diff = [tape.prims[p] is not None or p < tape.n_inputs for p in ps]
        ts = [rng.normal(size=np.shape(a)) if d and np.result_type(a).kind == "f" else None
              for a, d in zip(args, diff)]
        ct = rng.normal(size=np.shape(buf[n]))
        jt = node_jvp(prim, ts, buf[n], args, tape.params[n])
        cts = node_vjps(prim, ct, buf[n], args, tape.params[n], [t is not None for t in ts])
        lhs = 0.0 if jt is None else float(np.sum(jt * ct))
        rhs = sum(float(np.sum(t * c)) for t, c in zip(ts, cts) if t is not None and
                  c is not None)
        checked += 1
        if not np.isclose(lhs, rhs, rtol=1e-8, atol=1e-10):
            bad.append(f"{prim.name} (node {n}): {lhs} vs {rhs}")
    return not bad, f"JVP and VJP adjoint at {checked} nodes" if not bad else "; ".join(bad)


def certify(tape: Tape, args=None, seed: int = 0) -> Certificate:
    """Run every check on ``tape`` (at ``args``, or random inputs) into a ``Certificate``.

    >>> import numpy as np, gradlab as gl
    >>> cert = certify(gl.compile(gl.capture(lambda x: np.sum(x * x), np.ones(2))))
    >>> cert.passed, cert.checks["parents_precede"]
    (True, (True, 'every parent precedes its child'))
    """
    rng = np.random.default_rng(seed)
    args = random_args(tape.graph, rng) if args is None else tuple(args)
    cert = Certificate()
    for name, run in (("parents_precede", lambda: check_parents_precede(tape)),
                      ("eager_values", lambda: check_eager_values(tape, args)),
                      ("reference_backward", lambda: check_reference(tape, args)),
                      ("adjoint", lambda: check_adjoint(tape, rng))):
        try:
            cert.checks[name] = run()
        except Exception as exc:  # a check that cannot run is a failed check, with its reason
            cert.checks[name] = (False, f"{type(exc).__name__}: {exc}")
    return cert
