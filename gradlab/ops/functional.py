"""numpy functions that take functions: ``apply_along_axis`` and ``vectorize`` (through
``vmap``), ``piecewise``; and ``unwrap``.

``apply_along_axis`` and ``vectorize`` run the user's function once, batched by
``gl.vmap``, instead of once per element or slice: the function must therefore be
traceable by ``vmap`` (no Python control flow on its argument's values; use
``np.where``). ``piecewise`` evaluates every piece on the whole input and selects with
``np.where``, so each piece must be elementwise and finite everywhere (a NaN in a
piece's derivative where it is not selected still reaches the gradient, as with
``np.where``). ``unwrap`` adds multiples of the period, which are piecewise constant,
so its derivative is the identity.

>>> import numpy as np, gradlab as gl
>>> norms = lambda a: np.apply_along_axis(lambda r: np.sqrt(r @ r), 1, a)
>>> gl.grad(lambda a: np.sum(norms(a)))(np.array([[3.0, 4.0]])).round(12).tolist()
[[0.6, 0.8]]
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..core.primitive import implements
from ..core.tree import tree_map
from .cumulative import cumsum
from .elementwise import absolute, remainder, where
from .manip import diff
from .misc import stop_gradient
from .shape import concatenate, moveaxis, reshape
from .stacking import broadcast_to


def _instrumented(fn):
    """The user's function as traced code sees it (gradlab's code calling it is not user
    code, so the rewrite would not reach it on its own)."""
    from ..intercept import instrument  # a layer above ops, imported when first used

    return instrument(fn)


def _vmap(fn):
    from ..transforms.batching import vmap

    return vmap(fn)


@implements(np.apply_along_axis, examples=lambda rng: [
    ((lambda r: r * r[0], 1, rng.normal(size=(2, 3))), {}),
    ((lambda r: r @ r, 0, rng.normal(size=(3, 2, 2))), {}),
    ((lambda r: r[:, None] * r[None, :], -1, rng.normal(size=(2, 3))), {})])
def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``np.apply_along_axis``: ``func1d`` on every 1-D slice along ``axis``, by ``vmap``."""
    nd = np.ndim(arr)
    axis = int(axis) % nd if nd else 0
    moved = moveaxis(arr, axis, -1)
    lead, n = np.shape(moved)[:-1], np.shape(moved)[-1]
    func1d = _instrumented(func1d)
    out = _vmap(lambda row: func1d(row, *args, **kwargs))(reshape(moved, (-1, n)))
    core = tuple(np.shape(out)[1:])
    out = reshape(out, tuple(lead) + core)
    if not core:
        return out
    k = len(core)  # numpy puts the function's own axes where ``axis`` was
    return moveaxis(out, list(range(len(lead), len(lead) + k)), list(range(axis, axis + k)))


def _core_ndims(signature, nargs):
    """Core dimension counts of each input and output of a gufunc signature."""
    lhs, rhs = signature.replace(" ", "").split("->")
    ins = [len([d for d in s.split(",") if d]) for s in re.findall(r"\(([^)]*)\)", lhs)]
    outs = [len([d for d in s.split(",") if d]) for s in re.findall(r"\(([^)]*)\)", rhs)]
    if len(ins) != nargs:
        raise TypeError(f"wrong number of positional arguments: expected {len(ins)}, got {nargs}")
    return ins, outs


def _vectorize_examples(rng):
    return [((np.vectorize(lambda a, b: a * np.sin(b)), rng.normal(size=(2, 3)),
              rng.normal(size=3)), {}),
            ((np.vectorize(lambda v, w: v @ w, signature="(n),(n)->()"),
              rng.normal(size=(2, 3)), rng.normal(size=3)), {}),
            ((np.vectorize(lambda a, p: a ** p, excluded={1}), rng.uniform(1, 2, 4), 3), {})]


@implements(np.vectorize.__call__, examples=_vectorize_examples)
def vectorize_call(self, *args, **kwargs):
    """Calling an ``np.vectorize`` object: its function, batched by ``vmap``.

    The batch is the broadcast (loop) shape of the arguments; ``signature`` core
    dimensions stay whole and ``excluded`` positions are passed as they are.
    """
    if kwargs:
        raise TypeError("np.vectorize called with keyword arguments on traced values: pass "
                        "them positionally (or list them in excluded=)")
    excluded = {i for i in self.excluded if isinstance(i, int)}
    positions = [i for i in range(len(args)) if i not in excluded]
    cores = [0] * len(positions)
    if self.signature is not None:
        cores, _ = _core_ndims(self.signature, len(positions))
    shapes = [np.shape(args[i]) for i in positions]
    loop = np.broadcast_shapes(*(s[:len(s) - k] for s, k in zip(shapes, cores)))
    flat = [reshape(broadcast_to(args[i], loop + s[len(s) - k:]), (-1,) + s[len(s) - k:])
            for i, s, k in zip(positions, shapes, cores)]

    pyfunc = _instrumented(self.pyfunc)

    def one(*xs):
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        return pyfunc(*full)

    out = _vmap(one)(*flat)
    return tree_map(lambda o: reshape(o, loop + tuple(np.shape(o)[1:])), out)


def _piecewise_examples(rng):
    x = rng.normal(size=5)
    return [((x, [x < 0, x >= 0], [lambda t: -t * t, lambda t: np.sin(t)]), {}),
            ((x, [x < -0.5, x > 0.5], [1.0, lambda t: t ** 3, lambda t: 2.0 * t]), {})]


@implements(np.piecewise, examples=_piecewise_examples)
def piecewise(x, condlist, funclist, *args, **kw):
    """``np.piecewise``: every piece on all of ``x``, selected by its condition.

    Conditions apply in order, a later one winning, as numpy's assignments do; one extra
    function gives the value where no condition holds, and 0 otherwise.
    """
    if np.isscalar(condlist) or (not isinstance(condlist[0], (list, np.ndarray)) and
                                 np.ndim(x) != 0 and not hasattr(condlist[0], "shape")):
        condlist = [condlist]
    conds = list(condlist)
    if len(funclist) == len(conds) + 1:
        otherwise = True
        for c in conds:
            otherwise = where(c, False, otherwise)
        conds.append(otherwise)
    elif len(funclist) != len(conds):
        raise ValueError(f"with {len(conds)} condition(s), either {len(conds)} or "
                         f"{len(conds) + 1} functions are expected")
    out = x * 0.0
    for cond, func in zip(conds, funclist):
        value = _instrumented(func)(x, *args, **kw) if callable(func) else func
        out = where(cond, value, out)
    return out


def _unwrap_examples(rng):
    p = np.cumsum(rng.uniform(0.5, 2.5, size=8)) % (2 * np.pi)
    return [((p,), {}), ((np.stack([p, p[::-1]]),), {"axis": 1}),
            ((p * 10,), {"period": 20.0}), ((p,), {"discont": 4.0})]


@implements(np.unwrap, examples=_unwrap_examples)
def unwrap(p, discont=None, axis=-1, *, period=2 * math.pi):
    """``np.unwrap``: ``p`` plus the multiples of ``period`` that remove large jumps.

    numpy's formula; the added steps are constants to every derivative.
    """
    nd = np.ndim(p)
    axis = int(axis) % nd
    dd = diff(p, axis=axis)
    discont = period / 2 if discont is None else discont
    high = period / 2
    ddmod = remainder(dd + high, period) - high
    # numpy maps a jump of exactly -period/2 to +period/2 when the step went up
    ddmod = where(ddmod == -high, where(dd > 0, high, ddmod), ddmod)
    correct = where(absolute(dd) < discont, 0.0, ddmod - dd)
    steps = cumsum(stop_gradient(correct), axis=axis)
    first = [slice(None)] * nd
    first[axis] = slice(0, 1)
    return p + concatenate([0.0 * stop_gradient(p[tuple(first)]), steps], axis=axis)
