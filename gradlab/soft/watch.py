"""An interpreter level that notices hard ops on differentiable values (``tr.watch(f)``).

The relaxations record themselves in a dual trace; a hard op the program calls
directly (``x > t``, ``np.argmax``, ``np.sort``'s ``argsort``, ``np.floor``) has no soft
version to record. ``WatchTrace`` is a level whose tracers box ``f``'s float arguments:
every primitive on them is bound unchanged at the level below (so ``grad``, ``vmap``
and the rest see the same program), and each zero-derivative decision primitive is
recorded in the trace as an ``op`` whose gradient ignores the decision.

>>> import numpy as np, gradlab as gl, gradlab.soft as soft
>>> def f(x):
...     return np.sum(np.where(x > 0.5, x, 0.0))
>>> with soft.trace() as tr:
...     g = gl.grad(tr.watch(f))(np.array([0.2, 0.9]))
>>> g.tolist(), [(d.kind, d.name) for d in tr.decisions]
([0.0, 1.0], [('op', 'greater')])
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..core.errors import is_library_file
from ..core.trace import Trace, Tracer, bind, new_trace
from ..core.tree import tree_map

# Zero-derivative primitives that decide something about their (float) operands.
DECISION_OPS = frozenset({
    "greater", "greater_equal", "less", "less_equal", "equal", "not_equal", "sign", "floor",
    "ceil", "rint", "round", "trunc", "heaviside", "floor_divide", "signbit", "argmax",
    "argmin", "argsort", "argpartition", "searchsorted"})


class Watched(Tracer):
    """A value boxed by ``WatchTrace``; Python control flow on it is allowed (as in
    reverse mode: the value is concrete)."""

    __slots__ = ("value",)

    def __init__(self, trace, value):
        self._trace, self.value = trace, value

    @property
    def aval(self):
        return self.value

    def concrete_value(self, what):
        return self.value

    def __bool__(self):
        return bool(self.value)

    def __repr__(self):
        return f"Watched({self.value!r})"


class WatchTrace(Trace):
    """The level: binds every primitive below unchanged, recording decision ops."""

    def __init__(self, soft_trace):
        super().__init__()
        self.soft_trace = soft_trace
        self.seen: dict = {}  # (op, where) -> its decision, counted once

    def lower(self, x):
        return x.value if isinstance(x, Watched) and x._trace is self else x

    def process(self, prim, args, params):
        out = bind(prim, *(self.lower(a) for a in args), **params)
        if prim.name in DECISION_OPS:
            if _called_from_user_code():
                self._record(prim.name)
            return out  # a decision carries no derivative: leave it unboxed
        if isinstance(out, (tuple, list)):
            return type(out)(Watched(self, o) for o in out)
        return Watched(self, out)

    def _record(self, name):
        from .dual import _where

        where = _where()
        d = self.seen.get((name, where))
        if d is None:
            d = self.soft_trace.add(
                "op", name, "none: a hard op", "exact-selected-path", where=where,
                note="hard op on a differentiable value: the gradient does not see it")
            d.frames.append({"calls": 0})
            self.seen[(name, where)] = d
        d.frames[0]["calls"] += 1


_GRADLAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The dispatch machinery between a user's call and ``process``: not who made the call.
_DISPATCH = tuple(os.path.join(_GRADLAB, *parts) for parts in (
    ("core",), ("intercept",), ("ops", "operators.py"), ("ops", "methods.py"),
    ("soft", "watch.py")))


def _called_from_user_code() -> bool:
    """Whether the op was called by the user's code, not inside a gradlab composition
    (``logsumexp``'s own comparisons are no decision of the user's)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_DISPATCH):
        frame = frame.f_back
    return frame is not None and not is_library_file(frame.f_code.co_filename)


def _is_float(x) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, float)
    return np.dtype(dtype).kind in "fc"


def watch(soft_trace, fn):
    """``fn`` with its float arguments boxed at a ``WatchTrace`` level recording into
    ``soft_trace``; see the module docstring."""
    from ..intercept import instrument

    f = instrument(fn)

    def watched(*args, **kwargs):
        with soft_trace, new_trace(WatchTrace, soft_trace) as level:
            boxed = tree_map(lambda a: Watched(level, a) if _is_float(a) else a, args)
            out = f(*boxed, **kwargs)
            return tree_map(level.lower, out)

    watched.__name__ = getattr(fn, "__name__", "f")
    return watched
