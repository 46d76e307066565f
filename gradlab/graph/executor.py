"""Running graphs by name (``Executor``, TensorFlow 1 style) and imperative sessions.

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x, w: np.tanh(x @ w), gl.Variable("x", (2, 3)), gl.Variable("w", (3,)))
>>> ex = gl.Executor(g)
>>> ex.run(feed_dict={"x": np.ones((2, 3)), "w": np.zeros(3)}).tolist()
[0.0, 0.0]
>>> ex.run({"x": np.ones((2, 3)), "w": np.ones(3)}, fetches=["c"])[0].tolist()  # x @ w
[3.0, 3.0]
"""

from __future__ import annotations

import numpy as np

from ..core.tape import ReverseTrace, Var
from ..core.trace import bind, new_trace
from ..core.tree import tree_unflatten
from .capture import Variable
from .ir import Graph, check_guard, guards_by_eqn
from .printing import value_names


class Executor:
    """Evaluates a graph from a feed dict, computing only what the fetches need."""

    def __init__(self, graph: Graph):
        self.graph = graph
        names = value_names(graph)
        self.by_name = {name: v for v, name in names.items()}

    def _input_id(self, key):
        g = self.graph
        if isinstance(key, Variable):
            key = key.name
        if isinstance(key, str):
            if key in g.input_names:
                return g.inputs[g.input_names.index(key)]
            raise KeyError(f"feed_dict: no input named {key!r}; inputs: {g.input_names}")
        if isinstance(key, int) and 0 <= key < len(g.inputs):
            return g.inputs[key]
        raise KeyError(f"feed_dict: {key!r} is not an input name, Variable or position")

    def _fetch_id(self, ref):
        if isinstance(ref, str):
            if ref in self.by_name:
                return self.by_name[ref]
            raise KeyError(f"fetch {ref!r}: no value of that name (print(graph) shows them)")
        return int(ref)

    def run(self, feed_dict: dict, fetches=None):
        """The fetched values (a list), or the graph's output when ``fetches`` is None.

        ``feed_dict`` maps input names, ``Variable``s or input positions to values; a
        fetch is a value's printed name (``"c"``) or its id. Inputs a fetch does not
        need may be left out.
        """
        g = self.graph
        env = dict(g.consts)
        for key, value in feed_dict.items():
            env[self._input_id(key)] = value
        targets = list(g.outputs) if fetches is None else [self._fetch_id(f) for f in fetches]
        needed = set(targets) | {gd.value for gd in g.guards}
        plan = []
        for n in range(len(g.eqns) - 1, -1, -1):
            e = g.eqns[n]
            if any(o in needed for o in e.outputs) and not all(o in env for o in e.outputs):
                plan.append(n)
                needed.update(e.inputs)
        missing = [g.input_names[k] for k, v in enumerate(g.inputs) if v in needed and
                   v not in env]
        if missing:
            raise KeyError(f"feed_dict lacks inputs {missing} that the fetches need")
        guards = guards_by_eqn(g)
        for guard in guards.get(-1, ()):
            check_guard(guard, env[guard.value])
        for n in reversed(plan):
            e = g.eqns[n]
            out = bind(e.primitive, *[env[i] for i in e.inputs], **e.params)
            env.update(zip(e.outputs, out) if e.multiple else [(e.outputs[0], out)])
            for guard in guards.get(n, ()):
                check_guard(guard, env[guard.value])
        if fetches is None:
            return tree_unflatten(g.out_tree, [env[o] for o in targets])
        return [env[t] for t in targets]


# -- imperative sessions ------------------------------------------------------------------


class SessionVar(Var):
    """A value of a session: ``.backward(gradient=...)`` and, for parameters, ``.grad``."""

    __slots__ = ("grad",)

    def __init__(self, trace, value, node):
        super().__init__(trace, value, node)
        self.grad = None

    def backward(self, gradient=None):
        """Accumulate ``d self / d p`` (seeded with ``gradient``; 1 for a scalar) into every
        parameter's ``.grad``, PyTorch style."""
        self._trace.backward_from(self, gradient)

    def __repr__(self):
        return f"SessionVar({self.value!r})"


class SessionTrace(ReverseTrace):
    """A reverse-mode level that stays open for a ``with`` block; results are ``SessionVar``s."""

    def __init__(self):
        super().__init__()
        self.params: list[SessionVar] = []

    def process(self, prim, args, params):
        # The reverse level recognises its own values by exact type (its hot path), so a
        # SessionVar is handed over as the plain Var it extends, and the result rewrapped.
        args = [Var(self, a.value, a.node) if type(a) is SessionVar and a._trace is self
                else a for a in args]
        out = super().process(prim, args, params)
        if type(out) is Var:
            return SessionVar(self, out.value, out.node)
        return out

    def param(self, value) -> SessionVar:
        """A parameter: a leaf whose gradient accumulates in ``.grad``."""
        p = SessionVar(self, np.asarray(value) if isinstance(value, (list, tuple)) else value,
                       self.new_input(value).node)
        self.params.append(p)
        return p

    def backward_from(self, out, gradient):
        if gradient is None:
            if np.ndim(out.value) != 0:
                raise TypeError(f"backward() of a value of shape {np.shape(out.value)} needs "
                                "gradient= (a seed of that shape), as in PyTorch")
            gradient = 1.0
        seed = np.broadcast_to(np.asarray(gradient, np.result_type(out.value)),
                               np.shape(out.value))
        grads = self.backward([out], [seed], self.params, retain=True)
        for p, g in zip(self.params, grads):
            if g is not None:
                p.grad = g if p.grad is None else p.grad + g

    def zero_grad(self):
        """Forget the accumulated gradients (``p.grad = None`` for every parameter)."""
        for p in self.params:
            p.grad = None


class session:  # noqa: N801 - used like a function: ``with gl.session() as s``
    """An imperative reverse-mode block: parameters, ``loss.backward()``, ``p.grad``.

    >>> import numpy as np, gradlab as gl
    >>> with gl.session() as s:
    ...     w = s.param(np.array([1.0, 2.0]))
    ...     loss = np.sum(w ** 2)
    ...     loss.backward(gradient=1.0)
    ...     loss.backward()                      # gradients accumulate ...
    >>> w.grad.tolist()
    [4.0, 8.0]
    >>> s.zero_grad(); w.grad is None            # ... until zero_grad
    True
    """

    def __init__(self):
        self.trace = None
        self._level = None

    def __enter__(self) -> SessionTrace:
        self._level = new_trace(SessionTrace)  # a level like any transform's (per thread)
        self.trace = self._level.__enter__()
        return self.trace

    def __exit__(self, *exc):
        return self._level.__exit__(*exc)
