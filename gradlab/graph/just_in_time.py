"""``jit``: capture once per input signature, optimise, lower to flat numpy calls, replay.

>>> import numpy as np, gradlab as gl
>>> @gl.jit
... def loss(w, x):
...     return np.mean(np.tanh(x @ w) ** 2)
>>> vg = gl.jit(gl.value_and_grad(loss))
>>> v, g = vg(np.ones(3), np.eye(3))
>>> g.shape, loss.cache_size()
((3,), 0)

Called on the tracers of an enclosing transform (``grad(jit(f))``), the function runs
as written, so that transform sees every primitive. The signature is the pytree
structure of the arguments and each leaf's shape and dtype (a Python number's type);
keyword arguments are leaves like the positional ones; static leaves (strings,
callables) are part of it by value. A new signature captures again. Python control
flow on traced values is resolved at capture and guarded: where a guard fails, ``jit``
warns once and runs that signature eagerly from then on.

What is captured is what a numpy call on the inputs computes: values computed
without the inputs (random draws, closed-over arrays) are constants of the graph.
Pass anything that changes between calls (weights, a random key) as an argument.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable

import numpy as np

from ..core.errors import ConcretizationError, TracerConversionError
from ..core.trace import Tracer
from ..core.tree import tree_flatten
from ..intercept import instrument
from .capture import capture
from .codegen import MISS, lower
from .ir import GuardError
from .passes import optimize

_EAGER = object()  # cache entry of a signature that runs eagerly


def _leaf_key(x):
    t = type(x)
    if t is np.ndarray:
        return (x.shape, x.dtype)
    if t in (float, int, complex):
        return t
    if isinstance(x, np.generic):
        return (t, ())
    try:
        hash(x)
    except TypeError:
        return ("id", id(x))
    return ("static", t, x)


class Compiled:
    """One signature's compiled graph and what it was built from. ``checked(*arrays)``,
    where every input is an array, first checks that the inputs have the captured shapes
    and dtypes (returning ``MISS`` if not); ``run(*leaves)`` does not check (generated on
    first use where ``checked`` exists)."""

    def __init__(self, graph, report, seconds, signature=None):
        self.graph, self.report, self.seconds = graph, report, seconds
        self.static = set(graph.static_args)
        self.checked, self._run, self.source = None, None, None
        if signature is not None:
            lowered = lower(graph, signature=signature)
            self.checked, self.source = lowered.fn, lowered.source
        else:
            self._lower()

    def _lower(self):
        lowered = lower(self.graph)
        self._run = lowered.fn
        self.source = self.source or lowered.source

    @property
    def run(self):
        if self._run is None:
            self._lower()
        return self._run

    def call_arrays(self, args):
        """Run on positional arrays of this signature."""
        if self.checked is not None:
            out = self.checked(*args)
            if out is not MISS:
                return out
        return self.run(*args)


def compile_graph(fun, args, kwargs=None, optimise=True) -> Compiled:
    """Capture ``fun(*args, **kwargs)`` (keyword arguments are inputs too), optimise the
    graph and lower it. The compiled function takes the leaves of ``(args, kwargs)``."""
    start = time.perf_counter()
    f = instrument(fun)  # the user's call sites, rewritten (capture sees only ``call``)

    def call(args, kwargs):
        return f(*args, **kwargs)

    graph = capture(call, tuple(args), dict(kwargs or {}))
    report = None
    if optimise:
        graph, report = optimize(graph)
    signature = None
    if not kwargs and all(type(a) is np.ndarray for a in args):
        signature = [(a.shape, a.dtype) for a in args]
    compiled = Compiled(graph, report, 0.0, signature)
    compiled.seconds = time.perf_counter() - start
    return compiled


def jit(fun: Callable | None = None, *, optimise: bool = True,
        static_argnums: int | tuple[int, ...] = ()) -> Jitted | StaticArgs | Callable:
    """``fun`` compiled per input signature to a flat list of numpy calls.

    >>> import numpy as np, gradlab as gl
    >>> f = gl.jit(lambda x: np.sum(np.sin(x) ** 2))
    >>> float(f(np.zeros(3))), f.cache_size()
    (0.0, 1)

    ``static_argnums`` names positional arguments that are constants of the compiled
    function, as in JAX (a size, a mode): one compilation per value (hashable) of them.

    >>> g = gl.jit(lambda x, n: np.sum(np.tile(x, n)), static_argnums=1)
    >>> float(g(np.ones(2), 3)), float(g(np.ones(2), 4)), g.cache_size()
    (6.0, 8.0, 2)
    """
    if fun is None:
        return functools.partial(jit, optimise=optimise, static_argnums=static_argnums)
    if static_argnums != ():
        return StaticArgs(fun, optimise, static_argnums)
    return Jitted(fun, optimise)


class StaticArgs:
    """``jit(fun, static_argnums=...)``: one ``Jitted`` function per value of the static
    positional arguments, with those values bound in."""

    def __init__(self, fun, optimise, static_argnums):
        functools.update_wrapper(self, fun)
        self.fun, self.optimise = fun, optimise
        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(
            static_argnums)
        self.by_value: dict = {}

    def __call__(self, *args, **kwargs):
        positions = sorted({i % len(args) for i in self.static_argnums if -len(args) <= i <
                            len(args)})
        values = tuple(args[i] for i in positions)
        key = (tuple(positions), values)
        try:
            jitted = self.by_value.get(key)
        except TypeError as exc:
            raise TypeError(f"gl.jit: static arguments {positions} of {self.__name__} must be "
                            f"hashable, got {[type(v).__name__ for v in values]}") from exc
        if jitted is None:
            jitted = self.by_value[key] = Jitted(self._bound(positions, values), self.optimise)
        return jitted(*[a for i, a in enumerate(args) if i not in positions], **kwargs)

    def _bound(self, positions, values):
        user = instrument(self.fun)  # the user's function, instrumented at this entry

        def with_static_arguments(*dynamic, **kwargs):
            full = list(dynamic)
            for i, v in zip(positions, values):
                full.insert(i, v)
            return user(*full, **kwargs)

        return functools.wraps(self.fun)(with_static_arguments)

    def cache_size(self) -> int:
        """How many (static values, signature) pairs are compiled."""
        return sum(j.cache_size() for j in self.by_value.values())


class Jitted:
    """A function compiled by ``jit``: a cache of ``Compiled`` graphs by signature."""

    def __init__(self, fun, optimise=True):
        functools.update_wrapper(self, fun)
        self.fun, self.optimise = fun, optimise
        self.cache: dict = {}
        self.warned = False
        self.last, self.last_arity = None, 0  # the last signature-checked function

    def __call__(self, *args, **kwargs):
        if not kwargs:
            # Fastest path: arrays of the last call's shapes, checked by generated code.
            checked = self.last
            if checked is not None and len(args) == self.last_arity:
                try:
                    out = checked(*args)
                except GuardError:
                    out = MISS
                if out is not MISS:
                    return out
            # Fast path: every argument an array (the common case): no pytree walk.
            key = tuple([(a.shape, a.dtype) if type(a) is np.ndarray else _Slow for a in args])
            if _Slow not in key:
                entry = self.cache.get(key)
                if entry is None or entry is _EAGER:
                    return self._slow_path(key, list(args), args, kwargs)
                try:
                    out = entry.call_arrays(args)
                except GuardError:
                    return self._run(key, entry, list(args), args, kwargs)
                self.last, self.last_arity = entry.checked, len(args)
                return out
        leaves, tree = tree_flatten((args, kwargs))
        for x in leaves:
            if isinstance(x, Tracer):  # under another transform: it traces the function
                return instrument(self.fun)(*args, **kwargs)
        key = (tree, tuple(_leaf_key(x) for x in leaves))
        return self._slow_path(key, leaves, args, kwargs)

    def _slow_path(self, key, leaves, args, kwargs):
        entry = self.cache.get(key)
        if entry is None:
            try:
                entry = self.cache[key] = compile_graph(self.fun, args, kwargs, self.optimise)
            except (ConcretizationError, TracerConversionError) as exc:
                return self._eager(key, args, kwargs, f"gl.jit: {self.__name__} cannot be "
                                   f"captured ({exc}); running it eagerly")
        if entry is _EAGER:
            return self.fun(*args, **kwargs)
        return self._run(key, entry, leaves, args, kwargs)

    def _run(self, key, entry, leaves, args, kwargs):
        static = entry.static
        flat = [x for i, x in enumerate(leaves) if i not in static] if static else leaves
        try:
            return entry.run(*flat)
        except GuardError as exc:
            return self._eager(key, args, kwargs, f"gl.jit: {self.__name__} takes another "
                               "path than at capture; running this signature eagerly from "
                               f"now on.\n{exc}")

    def _eager(self, key, args, kwargs, message):
        if not self.warned:
            self.warned = True
            warnings.warn(message, RuntimeWarning, stacklevel=4)
        self.cache[key] = _EAGER
        self.last = None
        return self.fun(*args, **kwargs)

    def __get__(self, instance, owner=None):
        """As a method decorator: the instance is a static argument (hashed, or by id)."""
        return self if instance is None else functools.partial(self, instance)

    def cache_size(self) -> int:
        """How many signatures are compiled (not counting those that run eagerly)."""
        return sum(1 for v in self.cache.values() if v is not _EAGER)

    def compiled(self) -> list:
        """The ``Compiled`` entries (graph, report, generated source, compile time)."""
        return [v for v in self.cache.values() if v is not _EAGER]

    def clear_cache(self):
        self.cache.clear()
        self.last = None


class _Slow:
    """Marks a non-array argument in the fast signature (the pytree path takes it)."""
