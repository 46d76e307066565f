"""Python's builtins and ``math`` on traced scalars.

``max(a, b)``/``min`` over traced scalars (or a traced 1-D array) become one
reduction, so ties split the gradient like ``np.max`` and they work under ``vmap``
(Python's own ``max`` asks ``a < b`` for a bool, which a batched value cannot give).
``sum`` of a traced array is one ``np.sum`` over its first axis. ``abs`` and
``round`` map to their ufuncs. ``float(x)`` and ``int(x)`` on a traced value raise
``TracerConversionError`` naming the line (see ``core/trace.py``): a silent
conversion would cut the value off from its derivative.

>>> import gradlab as gl
>>> float(gl.grad(lambda x: max(x, 2.0 * x, 1.0))(3.0))
2.0
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..core.primitive import _register_entry as register_entry
from ..core.primitive import implements
from ..core.trace import Tracer
from . import elementwise as E
from . import reduce as R
from .constants import concrete, isfinite, isinf, isnan
from .shape import stack


def _items(args):
    if len(args) == 1:
        (items,) = args
        if isinstance(items, Tracer):
            return list(items) if np.ndim(items) == 1 else None
        return list(items) if type(items) in (list, tuple) else None
    return list(args)


def _extremum(builtin, reduction):
    def extremum(*args, **kwargs):
        items = None if kwargs else _items(args)
        # Only a collection of scalars has a gradlab meaning (Python would compare arrays).
        if not items or any(np.ndim(v) != 0 for v in items):
            return builtin(*args, **kwargs)
        if len(args) == 1 and isinstance(args[0], Tracer):
            return reduction(args[0], axis=0)
        return reduction(stack([v if isinstance(v, Tracer) else np.asarray(v, np.float64)
                                for v in items]), axis=0)

    extremum.__name__ = f"builtin_{builtin.__name__}"
    extremum.__doc__ = (f"Python's ``{builtin.__name__}`` over traced scalars: one "
                        f"``np.{builtin.__name__}`` (ties split the gradient).")
    return extremum


builtin_max = implements(builtins.max, examples=lambda rng: [
    ((rng.normal(size=()), rng.normal(size=()) + 3.0), {}), ((rng.normal(size=(4,)),), {})])(
    _extremum(builtins.max, R.max))
builtin_min = implements(builtins.min, examples=lambda rng: [
    ((rng.normal(size=()), 1.5, rng.normal(size=()) - 3.0), {})])(
    _extremum(builtins.min, R.min))


@implements(builtins.sum, examples=lambda rng: [((rng.normal(size=(3, 2)),), {}),
                                                (([rng.normal(size=()), 2.0],), {})])
def builtin_sum(iterable, /, start=0):
    """Python's ``sum``: over a traced array it is one ``np.sum(x, axis=0)``."""
    if isinstance(iterable, Tracer) and np.ndim(iterable) >= 1:
        total = R.sum(iterable, axis=0)
        return total if isinstance(start, (int, float)) and start == 0 else total + start
    return builtins.sum(iterable, start)


@implements(builtins.abs)
def builtin_abs(x):
    """Python's ``abs``: ``np.abs``."""
    return E.absolute(x) if isinstance(x, Tracer) else builtins.abs(x)


@implements(builtins.round)
def builtin_round(number, ndigits=None):
    """Python's ``round`` on a traced value: ``np.round`` (a float array; zero derivative)."""
    return E.round(number, decimals=ndigits or 0)


# --- math -------------------------------------------------------------------------------
@implements(math.log, examples=lambda rng: [((rng.uniform(0.5, 2.0, ()),), {}),
                                            ((rng.uniform(0.5, 2.0, ()), 10.0), {})])
def math_log(x, base=math.e):
    """``math.log(x[, base])``."""
    out = E.log(x)
    return out if base == math.e and not isinstance(base, Tracer) else out / E.log(base)


@implements(math.fsum, examples=lambda rng: [(([rng.normal(size=()), 1.0, rng.normal(
    size=())],), {})])
def math_fsum(iterable):
    """``math.fsum``: a sum (gradlab does not track the extra precision)."""
    return builtin_sum(iterable if isinstance(iterable, Tracer) else list(iterable))


@implements(math.prod, examples=lambda rng: [(([rng.normal(size=()), 2.0, rng.normal(
    size=())],), {})])
def math_prod(iterable, *, start=1):
    """``math.prod``."""
    out = start
    for v in iterable:
        out = out * v
    return out


@implements(math.dist, examples=lambda rng: [((rng.normal(size=(3,)), rng.normal(size=(3,))),
                                              {})])
def math_dist(p, q):
    """``math.dist``: the Euclidean distance."""
    diffs = [a - b for a, b in zip(p, q)]
    return E.sqrt(builtin_sum([d * d for d in diffs]))


@implements(math.isclose)
def math_isclose(a, b, *, rel_tol=1e-09, abs_tol=0.0):
    """``math.isclose`` on the concrete values (a Python bool: no derivative)."""
    return math.isclose(float(concrete(a, "math.isclose")), float(concrete(b, "math.isclose")),
                        rel_tol=rel_tol, abs_tol=abs_tol)


math_isclose.__gradlab_kind__ = builtin_round.__gradlab_kind__ = "constant"  # docs/ops.md

# math functions that are primitives already (a table entry, like a ``numpy=`` field).
for _fn, _prim in {math.floor: E.floor, math.ceil: E.ceil, math.trunc: E.trunc,
                   math.isnan: isnan, math.isinf: isinf, math.isfinite: isfinite}.items():
    register_entry(_fn, _prim)
for _name, _prim in (("exp2", E.exp2), ("cbrt", E.cbrt)):  # Python >= 3.11
    if hasattr(math, _name):
        register_entry(getattr(math, _name), _prim)
