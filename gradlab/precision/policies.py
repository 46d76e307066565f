"""Mixed-precision policies: which dtype parameters are kept in, computed in, returned in.

A policy names three dtypes. ``params``: the master copy of the weights that the
optimizer updates (float32: small updates are not lost to rounding). ``compute``: the
dtype the loss is evaluated in (bfloat16: half the memory traffic). ``output``: the
dtype of the loss and metrics handed back (float32). :meth:`Policy.wrap` turns a loss
``f(params, *batch)`` into one that casts its float inputs to ``compute`` and its result
to ``output``; the casts are differentiable, so the gradient of the wrapped loss comes
back in the parameters' own dtype.

>>> import numpy as np, gradlab as gl
>>> pol = gl.precision.policy(compute="bfloat16", params="float32", output="float32")
>>> loss = pol.wrap(lambda w, x: np.sum((x @ w) ** 2))
>>> w = pol.cast_to_params(np.ones(3))
>>> g = gl.grad(loss)(w, np.eye(3))
>>> w.dtype, loss(w, np.eye(3)).dtype, g.dtype, g.tolist()
(dtype('float32'), dtype('float32'), dtype('float32'), [2.0, 2.0, 2.0])

As a context, a policy is what ``gl.train`` uses when it is not given one, and what
``current_policy()`` returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .._types import DTypeLike, PyTree
from ..core.threads import local
from ..core.tree import tree_map
from .dtypes import is_float_dtype, resolve_dtype

_STATE = local()


def _stack():
    stack = getattr(_STATE, "stack", None)
    if stack is None:
        stack = _STATE.stack = []
    return stack


def _cast_floats(tree, dtype):
    """Every real float leaf of ``tree`` converted to ``dtype`` (differentiably); integer,
    boolean and complex leaves (labels, masks, indices) pass through."""
    from ..ops.misc import convert

    def cast(leaf):
        dt = getattr(leaf, "dtype", None)
        if dt is None:
            return leaf if not isinstance(leaf, float) else np.asarray(leaf, dtype)
        if dt == dtype or dt.kind == "c" or not is_float_dtype(dt):
            return leaf
        return convert(leaf, dtype)

    return tree_map(cast, tree)


class Policy:
    """Three dtypes: ``params`` (stored), ``compute`` (evaluated), ``output`` (returned).

    Also a context manager (``with policy: ...``) that makes it the current policy.
    """

    def __init__(self, compute: DTypeLike = "float32", params: DTypeLike = "float32",
                 output: DTypeLike | None = None):
        self.compute = resolve_dtype(compute)
        self.params = resolve_dtype(params)
        self.output = self.params if output is None else resolve_dtype(output)
        for role in ("compute", "params", "output"):
            dt = getattr(self, role)
            if not is_float_dtype(dt) or dt.kind == "c":
                raise TypeError(f"policy: {role}={dt} is not a real float dtype (float64, "
                                "float32, float16, bfloat16, float8_e4m3fn, float8_e5m2)")

    def __repr__(self):
        return (f"Policy(compute={self.compute.name!r}, params={self.params.name!r}, "
                f"output={self.output.name!r})")

    def cast_to_params(self, tree: PyTree) -> PyTree:
        """``tree``'s float leaves in the parameter dtype (what the optimizer updates)."""
        return _cast_floats(tree, self.params)

    def cast_to_compute(self, tree: PyTree) -> PyTree:
        """``tree``'s float leaves in the compute dtype."""
        return _cast_floats(tree, self.compute)

    def cast_to_output(self, tree: PyTree) -> PyTree:
        """``tree``'s float leaves in the output dtype."""
        return _cast_floats(tree, self.output)

    def wrap(self, fn: Callable) -> Callable:
        """``fn(*args)`` evaluated in ``compute``, its result cast to ``output``."""

        @functools.wraps(fn)
        def in_policy(*args, **kwargs):
            return self.cast_to_output(fn(*self.cast_to_compute(args), **kwargs))

        in_policy.__gradlab_policy__ = self  # type: ignore[attr-defined]  # marks the wrapper
        return in_policy

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        popped = _stack().pop()
        assert popped is self, "precision policies exited out of order"
        return False


def policy(compute: DTypeLike = "float32", params: DTypeLike = "float32",
           output: DTypeLike | None = None) -> Policy:
    """A mixed-precision :class:`Policy` (dtype names or numpy dtypes; ``output`` defaults
    to ``params``). Use it as a context, or pass it to ``gl.train(..., precision=...)``.

    >>> import gradlab as gl
    >>> with gl.precision.policy(compute="bfloat16") as p:
    ...     gl.precision.current_policy() is p, p.compute.name
    (True, 'bfloat16')
    """
    return Policy(compute, params, output)


def current_policy() -> Policy | None:
    """The policy of the innermost ``with policy(...)`` block of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None
