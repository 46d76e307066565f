"""The compiled tape: a graph as flat arrays of nodes, parents and buffers.

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda w, x: np.sum(np.tanh(x @ w)), np.ones(2), np.ones((3, 2)))
>>> tape = gl.compile(g)
>>> float(tape(np.zeros(2), np.ones((3, 2))))
0.0
>>> grads = tape.backward_dense_all()
>>> tape.grad("w").tolist()
[3.0, 3.0]

Nodes are numbered so that every parent precedes its children: the inputs first,
then the constants, then one node per equation result. ``tape.prims[n]`` is the
primitive that made node ``n`` (``None`` for an input or constant),
``tape.parents[tape.parent_start[n]:tape.parent_start[n + 1]]`` its operands' node
ids, ``tape.params[n]`` its parameters and ``tape.buffers[n]`` its value after the
last forward pass. The backward walk is a plain reversed loop over these arrays.
"""

from __future__ import annotations

import numpy as np

from ..core.rules import PerOperand
from ..core.tree import tree_unflatten
from .ir import Graph


def node_vjps(prim, g, ans, args, params, needed):
    """The cotangent of each operand (``None`` where not ``needed`` or no rule applies):
    the primitive's own VJP rules, exactly as the reverse-mode tape applies them."""
    vjps = prim.vjps if prim.vjps is not None else prim.vjp_rules()
    if vjps is None:
        return [None] * len(args)
    if type(vjps) is PerOperand and vjps.joint is not None:
        return list(vjps.joint(list(needed), g, ans, *args, **params))
    out = []
    for i, want in enumerate(needed):
        rule = vjps[i] if want else None
        ct = None if rule is None else rule(g, ans, *args, **params)
        if ct is not None and _is_complex(g) and not _is_complex(args[i]):
            ct = np.real(ct)
        out.append(ct)
    return out


def node_jvp(prim, tangents, ans, args, params):
    """The output tangent given the operands' tangents (``None`` for a zero tangent)."""
    rules = prim.jvps if prim.jvps is not None else prim.jvp_rules()
    total = None
    if rules is None or not prim.differentiable:
        return None
    for i, t in enumerate(tangents):
        if t is None or rules[i] is None:
            continue
        c = rules[i](t, ans, *args, **params)
        total = c if total is None else total + c
    return total


def _is_complex(x) -> bool:
    return np.iscomplexobj(x)


class Tape:
    """A graph compiled to flat arrays (see the module docstring)."""

    def __init__(self, graph: Graph):
        if any(e.multiple for e in graph.eqns):
            raise NotImplementedError("compile: primitives with several results are not "
                                      "supported by the compiled tape")
        self.graph = graph
        order = list(graph.inputs) + list(graph.consts) + [e.outputs[0] for e in graph.eqns]
        self.node_of = {v: n for n, v in enumerate(order)}
        self.value_ids = np.array(order, dtype=np.int64)
        n_leaf = len(graph.inputs) + len(graph.consts)
        self.n_inputs = len(graph.inputs)
        self.prims = [None] * n_leaf + [e.primitive for e in graph.eqns]
        self.params = [None] * n_leaf + [e.params for e in graph.eqns]
        starts, parents = [0] * (n_leaf + 1), []
        for e in graph.eqns:
            parents.extend(self.node_of[i] for i in e.inputs)
            starts.append(len(parents))
        self.parent_start = np.array(starts, dtype=np.int64)
        self.parents = np.array(parents, dtype=np.int64)
        self.outputs = np.array([self.node_of[o] for o in graph.outputs], dtype=np.int64)
        self.buffers: list = [None] * len(order)
        for v, c in graph.consts.items():
            self.buffers[self.node_of[v]] = c
        self.grads: list | None = None
        self.certificate = None

    def __len__(self):
        return len(self.prims)

    def parents_of(self, n: int) -> list:
        return self.parents[self.parent_start[n]:self.parent_start[n + 1]].tolist()

    def node(self, ref) -> int:
        """A node id from an input name, an input position (``("input", i)``) or a node id."""
        if isinstance(ref, str):
            try:
                return self.graph.input_names.index(ref)
            except ValueError:
                raise KeyError(f"no input named {ref!r}; inputs: "
                               f"{self.graph.input_names}") from None
        if isinstance(ref, tuple) and ref[0] == "input":
            return int(ref[1])
        return int(ref)

    # -- forward ------------------------------------------------------------------------

    def forward(self, *args):
        """Evaluate every node for ``args`` (the graph's arguments); returns the output."""
        flat = self.graph.flat_args(args)
        buf = self.buffers
        buf[:self.n_inputs] = [np.asarray(x) if isinstance(x, (list, tuple)) else x
                               for x in flat]
        prims, params, starts, parents = self.prims, self.params, self.parent_start, self.parents
        for n in range(self.n_inputs + len(self.graph.consts), len(prims)):
            ops = [buf[p] for p in parents[starts[n]:starts[n + 1]]]
            buf[n] = prims[n].impl(*ops, **params[n])
        self.grads = None
        return tree_unflatten(self.graph.out_tree, [buf[o] for o in self.outputs])

    __call__ = forward

    # -- reverse ------------------------------------------------------------------------

    def backward_dense_all(self, out=0, seed=1.0) -> list:
        """One gradient per node (zeros where nothing arrives) of output ``out`` seeded with
        ``seed`` (a scalar or an array shaped like the output, as ``loss.backward(gradient=
        seed)``). Needs a forward pass first.

        >>> import numpy as np, gradlab as gl
        >>> tape = gl.compile(gl.capture(lambda x, y: (x * 2.0, np.sum(y)), np.ones(2), 1.0))
        >>> _ = tape(np.ones(2), 1.0)
        >>> [g.tolist() for g in tape.backward_dense_all(out=0, seed=[1.0, 10.0])]
        [[2.0, 20.0], 0.0, 0.0, [1.0, 10.0], 0.0]
        """
        if self.buffers[self.outputs[out]] is None:
            raise RuntimeError("backward_dense_all needs a forward pass first: tape(*args)")
        buf, prims, params = self.buffers, self.prims, self.params
        starts, parents = self.parent_start, self.parents
        grads: list = [None] * len(prims)
        root = int(self.outputs[out])
        grads[root] = np.broadcast_to(np.asarray(seed, dtype=np.result_type(buf[root])),
                                      np.shape(buf[root])).copy()
        for n in range(len(prims) - 1, -1, -1):
            g = grads[n]
            if g is None or prims[n] is None:
                continue
            ps = parents[starts[n]:starts[n + 1]]
            cts = node_vjps(prims[n], g, buf[n], [buf[p] for p in ps], params[n],
                            [prims[p] is not None or p < self.n_inputs for p in ps])
            for p, ct in zip(ps, cts):
                if ct is not None:
                    grads[p] = ct if grads[p] is None else grads[p] + ct
        self.grads = [np.zeros(np.shape(b), _float_dtype(b)) if g is None else g
                      for g, b in zip(grads, buf)]
        return self.grads

    def grad(self, ref):
        """The gradient at node ``ref`` (an input name or position, or a node id) from the
        last ``backward_dense_all`` (run with the default seed if there was none)."""
        if self.grads is None:
            self.backward_dense_all()
        return self.grads[self.node(ref)]

    def jvp_leaves(self, tangents) -> list:
        """Output tangents for tangents of the inputs (a list in input order, or a dict by
        input name; missing inputs have zero tangent). Needs a forward pass first.

        >>> import numpy as np, gradlab as gl
        >>> tape = gl.compile(gl.capture(lambda x: np.sum(x ** 2), np.ones(2)))
        >>> _ = tape(np.array([1.0, 2.0]))
        >>> [float(t) for t in tape.jvp_leaves({"x": np.array([1.0, 0.0])})]
        [2.0]
        """
        if isinstance(tangents, dict):
            tangents = [tangents.get(name) for name in self.graph.input_names]
        buf, prims, params = self.buffers, self.prims, self.params
        starts, parents = self.parent_start, self.parents
        tans: list = [None] * len(prims)
        tans[:len(tangents)] = list(tangents)
        for n in range(self.n_inputs + len(self.graph.consts), len(prims)):
            ps = parents[starts[n]:starts[n + 1]]
            ts = [tans[p] for p in ps]
            if any(t is not None for t in ts):
                tans[n] = node_jvp(prims[n], ts, buf[n], [buf[p] for p in ps], params[n])
        return [np.zeros(np.shape(buf[o]), _float_dtype(buf[o])) if tans[o] is None else tans[o]
                for o in self.outputs]

    def sgd_step(self, params, lr):
        """``p - lr * grad(p)`` for each input ``p`` in ``params`` (names or positions),
        stored as the tape's new input values (for the next ``tape.rerun()``) and returned.

        >>> import numpy as np, gradlab as gl
        >>> tape = gl.compile(gl.capture(lambda w: np.sum(w ** 2), np.ones(2)))
        >>> _ = tape(np.array([1.0, -1.0]))
        >>> tape.sgd_step(["w"], lr=0.25)[0].tolist(), float(tape.rerun())
        ([0.5, -0.5], 0.5)
        """
        if self.grads is None:
            self.backward_dense_all()
        new = []
        for ref in params:
            n = self.node(ref)
            self.buffers[n] = self.buffers[n] - lr * self.grads[n]
            new.append(self.buffers[n])
        return new

    def rerun(self):
        """A forward pass on the inputs the tape holds (after ``sgd_step``)."""
        flat = self.buffers[:self.n_inputs]
        leaves, k = [], 0
        for i in range(self.graph.in_tree.num_leaves):
            if i in self.graph.static_args:
                leaves.append(self.graph.static_args[i])
            else:
                leaves.append(flat[k])
                k += 1
        return self.forward(*tree_unflatten(self.graph.in_tree, leaves))


def _float_dtype(x):
    dtype = np.result_type(x)
    return dtype if dtype.kind in "fc" else np.float64


def compile(graph: Graph, check: bool = False, args=None, seed: int = 0) -> Tape:  # noqa: A001
    """The graph as a ``Tape``; ``check=True`` also runs the equivalence checks of
    ``gradlab.graph.reference`` on it (with ``args``, or random inputs of the right
    shapes) and attaches their ``Certificate`` as ``tape.certificate``.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: np.sum(np.sin(x) * x), np.ones(3))
    >>> tape = gl.compile(g, check=True)
    >>> tape.certificate.passed, sorted(tape.certificate.checks)[:2]
    (True, ['adjoint', 'eager_values'])
    """
    tape = Tape(graph)
    if check:
        from .reference import certify

        tape.certificate = certify(tape, args, seed)
    return tape


def random_args(graph: Graph, rng) -> tuple:
    """Arguments of the graph's shapes: normal floats, small integers, booleans."""
    leaves, k = [], 0
    for i in range(graph.in_tree.num_leaves):
        if i in graph.static_args:
            leaves.append(graph.static_args[i])
            continue
        aval = graph.avals[graph.inputs[k]]
        k += 1
        dtype = np.dtype(aval.dtype)
        if dtype.kind == "f":
            x = rng.normal(size=aval.shape).astype(dtype)
        elif dtype.kind == "c":
            x = (rng.normal(size=aval.shape) + 1j * rng.normal(size=aval.shape)).astype(dtype)
        elif dtype.kind == "b":
            x = rng.random(aval.shape) < 0.5
        else:
            x = rng.integers(0, 3, size=aval.shape).astype(dtype)
        leaves.append(x if aval.shape else x[()])
    return tuple(tree_unflatten(graph.in_tree, leaves))

