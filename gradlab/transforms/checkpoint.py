"""Memory: ``checkpoint`` (recompute instead of store) and ``no_grad`` (record nothing).

>>> import numpy as np, gradlab as gl
>>> block = gl.checkpoint(lambda x: np.tanh(np.tanh(x)))
>>> float(gl.grad(lambda x: block(x) * 2.0)(0.0))
2.0

A checkpointed function is one per-function primitive (see ``custom.py``): the
forward pass runs it on plain values of the level below without recording, so the
reverse tape holds one node (its inputs and output) instead of every activation
inside; when the backward walk reaches that node, the function is re-run under a
fresh reverse level and differentiated. Gradients are identical, and it composes
with ``vmap`` and higher order like any primitive.
"""

from __future__ import annotations

import collections
import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..core.tape import ReverseTrace, Var
from ..core.trace import Trace, Tracer, bind, live_levels, new_trace
from ..intercept import instrument
from ..precision.dtypes import is_float_dtype
from .custom import CustomRules, pack, split_call, unpack
from .reverse import _vjp


def _differentiable(x):
    dt = x.dtype if isinstance(x, Tracer) else np.result_type(x)
    return is_float_dtype(dt)


def _zeros_like(x):
    dt = x.dtype if isinstance(x, Tracer) else np.result_type(x)
    return np.zeros(np.shape(x), dt if is_float_dtype(dt) else np.float64)


class checkpoint_policies:  # noqa: N801 - JAX's spelling
    """Which intermediate results a checkpoint keeps (the rest are recomputed)."""

    @staticmethod
    def nothing_saveable(prim: Any) -> bool:
        """Keep nothing: the least memory, one full recomputation (the default)."""
        return False

    @staticmethod
    def dots_saveable(prim: Any) -> bool:
        """Keep matrix products: the recomputation redoes only the cheap elementwise ops."""
        return prim.name in ("matmul", "dot", "einsum", "tensordot")

    @staticmethod
    def everything_saveable(prim: Any) -> bool:
        """Keep every result (no saving; for comparison)."""
        return True


class _SaveTracer(Tracer):
    __slots__ = ("val",)

    def __init__(self, trace, val):
        self._trace, self.val = trace, val

    @property
    def aval(self):  # shape, ndim, size and dtype follow from it (Tracer)
        return self.val

    def concrete_value(self, what):
        return self.val

    def __bool__(self):
        return bool(self.val)


class _SaveTrace(Trace):
    """Runs the forward pass recording only the results the policy keeps."""

    def __init__(self, policy):
        super().__init__()
        self.policy, self.saved = policy, []

    def lower(self, x):
        return x.val if isinstance(x, _SaveTracer) and x._trace is self else x

    def process(self, prim, args, params):
        vals = [self.lower(a) for a in args]
        out = bind(prim, *vals, **params)
        # Box exactly what a reverse level would record, so the replay sees the same calls.
        if (prim.vjps if prim.vjps is not None else prim.vjp_rules()) is None:
            return out
        if self.policy(prim):
            self.saved.append((prim, [np.shape(v) for v in vals], out))
        return _SaveTracer(self, out)


class _ReplayTrace(ReverseTrace):
    """A reverse level that takes the policy's saved results instead of recomputing them."""

    def __init__(self, policy, saved):
        super().__init__()
        self.policy, self.saved = policy, collections.deque(saved)

    def process(self, prim, args, params):
        if not (self.saved and self.policy(prim)):
            return super().process(prim, args, params)
        vals = [self.lower(a) for a in args]
        saved_prim, shapes, out = self.saved.popleft()
        if saved_prim is not prim or shapes != [np.shape(v) for v in vals]:
            self.saved.clear()  # the replay took another path: recompute everything from here
            return super().process(prim, args, params)
        parents = [a if isinstance(a, Var) and a._trace is self else None for a in args]
        if all(p is None for p in parents):
            return out
        return self.record(prim, vals, params, parents, out)


def _recompute_vjp(fn, g, leaves, saved, policy, needed=None):
    """Cotangents of ``fn``'s float leaves (those ``needed``, if given): re-run it under a
    fresh reverse level. Leaves whose cotangent nobody wants stay constants, so their
    gradients (a weight's, when only the input's is wanted) are never computed."""
    idx = [i for i, x in enumerate(leaves)
           if _differentiable(x) and (needed is None or needed[i])]
    full = list(leaves)

    def of_float_leaves(*xs):
        for i, x in zip(idx, xs):
            full[i] = x
        return fn(full)

    if saved is None:
        floats = tuple(leaves[i] for i in idx)
        _, _, backward = _vjp(of_float_leaves, floats, tuple(range(len(idx))), False, retain=False)
        cts = backward(g)
    else:
        with new_trace(_ReplayTrace, policy, saved) as trace:
            inputs = [trace.new_input(leaves[i]) for i in idx]
            out = of_float_leaves(*inputs)
        cts = trace.backward([out], [g], inputs)
    out = [_zeros_like(x) for x in leaves]
    for i, c in zip(idx, cts):
        out[i] = _zeros_like(leaves[i]) if c is None else c
    return out


def checkpoint(fun: Callable[..., Any], policy: Callable[..., bool] | None = None,
               static_argnums: int | Sequence[int] = ()) -> Callable[..., Any]:
    """``fun``, but its activations are recomputed in the backward pass instead of stored.

    ``policy(prim) -> bool`` names results worth keeping (``checkpoint_policies``);
    by default nothing inside is kept. ``static_argnums`` are fixed (not traced)
    arguments. ``fun`` returns an array or a pytree of arrays.

    >>> import numpy as np, gradlab as gl
    >>> layer = gl.checkpoint(lambda w, x: np.tanh(x @ w))
    >>> w, x = np.eye(2), np.ones((3, 2))
    >>> g = gl.grad(lambda w: np.sum(layer(w, x)))(w)
    >>> np.allclose(g, gl.grad(lambda w: np.sum(np.tanh(x @ w)))(w))
    True
    """
    f = instrument(fun)
    name = f"checkpoint:{getattr(fun, '__qualname__', 'f')}"
    keep = policy if policy is not None else checkpoint_policies.nothing_saveable

    def call(leaves, static):
        return pack(f(*static.args(leaves)), static)  # a pytree output: one flat array

    def impl(leaves, static, memo):
        if policy is None or any(isinstance(x, Tracer) for x in leaves):
            return call(leaves, static)
        with new_trace(_SaveTrace, keep) as trace:
            boxed = [_SaveTracer(trace, x) if _differentiable(x) else x for x in leaves]
            out = trace.lower(call(boxed, static))
        memo.saved = trace.saved
        return out

    def vjp(g, leaves, static, memo=None, needed=None):
        plain = not any(isinstance(x, Tracer) for x in leaves)
        saved = getattr(memo, "saved", None) if plain else None
        return _recompute_vjp(functools.partial(call, static=static), g, leaves, saved, keep,
                              needed)

    def jvp(leaves, tangents, static):
        from .forward import jvp as forward

        return forward(lambda *xs: call(xs, static), tuple(leaves), tuple(tangents))[1]

    rules = _CheckpointRules(name, call, vjp=vjp, jvp=jvp)
    rules.impl_with_memo = impl
    rules.prim.vjps.joint = rules.joint_cotangents  # one recomputation per visit

    @functools.wraps(fun)
    def checkpointed(*args):
        leaves, static = split_call(args, static_argnums, name)
        return unpack(rules.bind(leaves, static), static)

    checkpointed.rules = rules
    return checkpointed


class _CheckpointRules(CustomRules):
    """CustomRules whose impl and VJP see the call's memo (for the policy's saved results)."""

    impl_with_memo = None

    def _impl(self, *leaves, static, memo):
        if self.impl_with_memo is None:  # the batched twin: no policy
            return self.check_output(self.call(leaves, static))
        return self.check_output(self.impl_with_memo(leaves, static, memo))

    def joint_cotangents(self, needed, g, ans, *leaves, static, memo):
        """The cotangents the backward walk needs, from one recomputation of the block."""
        return self.vjp(g, leaves, static, memo, needed)

    def _cotangents(self, g, leaves, static, memo):
        key = (g, *leaves)
        cts = memo.get(key)
        if cts is None:
            cts = memo.put(key, self.vjp(g, leaves, static, memo) if self.impl_with_memo
                           else self.vjp(g, leaves, static))
        return cts


def _unrecorded(trace, prim, args, params):
    return bind(prim, *[trace.lower(a) for a in args], **params)


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside the block, ops on values being differentiated are not recorded.

    Their results are constants to every reverse level live when the block is
    entered (transforms started inside the block work as usual).

    >>> import numpy as np, gradlab as gl
    >>> def f(x):
    ...     with gl.no_grad():
    ...         scale = x * 3.0      # a constant: no gradient flows through it
    ...     return x * scale
    >>> float(gl.grad(f)(2.0))
    6.0
    """
    paused = [t for t in live_levels() if isinstance(t, ReverseTrace) and "process" not in vars(t)]
    for t in paused:
        t.process = functools.partial(_unrecorded, t)
    try:
        yield
    finally:
        for t in paused:
            del t.process
