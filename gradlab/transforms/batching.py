"""Batching: ``vmap`` maps a per-example function over a batch axis, vectorised.

>>> import numpy as np, gradlab as gl
>>> gl.vmap(lambda x: np.sum(x ** 2))(np.arange(6.0).reshape(3, 2)).tolist()
[1.0, 13.0, 41.0]

``BatchTrace`` is one interpreter level. Its ``BatchTracer`` boxes a value of the
level below together with the axis (``bdim``) that holds the batch; to the user's
function it looks like one example (``shape``/``ndim``/``dtype`` are per-example).
Each primitive is batched by its own ``batch=`` rule, or by its family's default
(elementwise maps move the batch axis to the front and let numpy broadcast;
reductions shift their ``axis``): one numpy call per primitive. Only the generic
fallback of ``Family.batch`` loops in Python. A primitive none of whose operands is
batched goes straight to ``bind`` at the level below.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.errors import ConcretizationError, user_location
from ..core.shapes import ndim_of, shape_of
from ..core.trace import Trace, Tracer, bind, new_trace
from ..core.tree import _node, tree_flatten, tree_unflatten
from ..intercept import instrument
from ..ops.families import broadcast_to_p
from ..ops.shape import expand_dims, moveaxis


class BatchTracer(Tracer):
    """A batch of values: ``val`` (of the level below) with the batch on axis ``bdim``."""

    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        return self.val

    @property
    def shape(self):
        shape = shape_of(self.val)
        return shape[:self.bdim] + shape[self.bdim + 1:]

    @property
    def ndim(self):
        return ndim_of(self.val) - 1

    def __bool__(self):
        raise ConcretizationError(
            f"Python control flow (if/while/and/or/bool()) on a value batched by vmap at "
            f"{user_location()}: each example may take a different branch, so there is no "
            "single answer.\nCompute both branches and select per example with "
            "np.where(condition, a, b), or a soft decision: gradlab.soft.soft_if(score, a, b) / "
            "gradlab.soft.diff_if(score, true_fn, false_fn) (docs/soft.md), or move the test "
            "out of the vmapped function.")

    def __repr__(self):
        return f"BatchTracer(shape={self.shape}, bdim={self.bdim}, val={self.val!r})"


class BatchTrace(Trace):
    """The batching level: every primitive is applied to whole batches at once."""

    def __init__(self, axis_size):
        super().__init__()
        self.axis_size = axis_size

    def lower(self, x):
        return x.val if isinstance(x, BatchTracer) and x._trace is self else x

    def process(self, prim, args, params):
        if len(args) == 2:  # binary ops dominate: unrolled
            a, b = args
            if type(a) is BatchTracer and a._trace is self:
                a, da = a.val, a.bdim
            else:
                da = None
            if type(b) is BatchTracer and b._trace is self:
                b, db = b.val, b.bdim
            else:
                db = None
            if da is None and db is None:
                return bind(prim, a, b, **params)
            vals, dims = [a, b], [da, db]
            rule = prim.batch_rule or prim.family.batch
            out, out_dim = rule(prim, vals, dims, params)
            if type(out_dim) is int and out_dim >= 0 and type(out) not in _SEQUENCES:
                return _batch_tracer(self, out, out_dim)
            return self._box(out, out_dim)
        vals, dims = [], []
        batched = False
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
                batched = True
            else:
                vals.append(a)
                dims.append(None)
        if not batched:
            return bind(prim, *vals, **params)
        rule = prim.batch_rule or prim.family.batch
        out, out_dim = rule(prim, vals, dims, params)
        if type(out_dim) is int and out_dim >= 0 and type(out) not in _SEQUENCES:
            return _batch_tracer(self, out, out_dim)  # one batched result: most primitives
        return self._box(out, out_dim)

    def _box(self, out, out_dim):
        if type(out) in _SEQUENCES:  # a primitive with several outputs
            dims = out_dim if isinstance(out_dim, (tuple, list)) else (out_dim,) * len(out)
            return type(out)(self._box(o, d) for o, d in zip(out, dims))
        if out_dim is None:
            return out
        return BatchTracer(self, out, out_dim if out_dim >= 0 else out_dim % ndim_of(out))


_SEQUENCES = (tuple, list)
_new = object.__new__


def _batch_tracer(trace, val, bdim) -> BatchTracer:
    """``BatchTracer(trace, val, bdim)`` without the Python-level ``__init__`` call."""
    t = _new(BatchTracer)
    t._trace = trace
    t.val = val
    t.bdim = bdim
    return t


def _axes_for_leaves(axes, value_tree, what):
    """Per-leaf axes of ``value_tree`` from ``axes``, a tree prefix of it (int/None leaves)."""
    out = []

    def walk(ax, td, path):
        if ax is None or isinstance(ax, (int, np.integer)):
            out.extend([None if ax is None else int(ax)] * td.num_leaves)
            return
        node = _node(ax)
        if node is None:
            raise TypeError(f"vmap {what} at {path or 'top level'} must be an int, None or a "
                            f"container of them, got {ax!r}")
        kind, aux, children = node
        if td.kind is not kind or td.aux != aux or len(children) != len(td.children):
            raise ValueError(
                f"vmap {what} {ax!r} at {path or 'top level'} does not match the structure "
                f"of the values ({td.kind.__name__ if td.kind else 'a leaf'} with "
                f"{len(td.children)} children); give one int/None per argument, or a "
                "container of the same shape as the argument")
        for i, (a, c) in enumerate(zip(children, td.children)):
            walk(a, c, f"{path}[{aux[i] if kind is dict else i}]")

    walk(axes, value_tree, "")
    return out


def _flat_axes(spec, args):
    """Per-argument axes when every argument is an array and ``spec`` an int/None or a
    tuple of them (the common call: no pytree to flatten); None otherwise."""
    for a in args:
        if type(a) is not np.ndarray:
            return None
    if spec is None or type(spec) is int:
        return [spec] * len(args)
    if type(spec) is tuple and all(ax is None or type(ax) is int for ax in spec):
        return list(spec)
    return None


def _batch_size(leaves, axes, axis_size):
    sizes = {}
    for i, (x, ax) in enumerate(zip(leaves, axes)):
        if ax is None:
            continue
        nd = ndim_of(x)
        if not -nd <= ax < nd:
            raise ValueError(f"vmap in_axes={ax} is out of range for input leaf {i} of shape "
                             f"{shape_of(x)}")
        sizes.setdefault(shape_of(x)[ax], []).append(i)
    if axis_size is not None:
        sizes.setdefault(axis_size, [])
    if len(sizes) > 1:
        detail = ", ".join(f"size {n} (input leaves {idx or 'axis_size'})"
                           for n, idx in sizes.items())
        raise ValueError(f"vmap got inconsistent batch sizes: {detail}")
    if not sizes:
        raise ValueError("vmap needs at least one batched input (an in_axes that is not "
                         "None) or an explicit axis_size")
    return next(iter(sizes))


def _to_output(trace, x, out_axis, size):
    """One output leaf, with its batch on ``out_axis`` (broadcast if it is unbatched)."""
    if isinstance(x, BatchTracer) and x._trace is trace:
        if out_axis is None:
            raise ValueError(
                "vmap out_axes=None for an output that depends on the batched inputs: "
                "only an output that is the same for every example can be unbatched")
        out_axis %= ndim_of(x.val)
        return x.val if x.bdim == out_axis else moveaxis(x.val, x.bdim, out_axis)
    if out_axis is None:
        return x
    nd = ndim_of(x) + 1
    out_axis %= nd
    shape = shape_of(x)
    target = shape[:out_axis] + (size,) + shape[out_axis:]
    if isinstance(x, Tracer):
        return broadcast_to_p(expand_dims(x, out_axis), shape=target)
    x = _as_array(x)
    return np.broadcast_to(np.expand_dims(x, out_axis), target).copy()


def _as_array(x):
    # another library's array (CuPy) stays on its device: np.asarray would copy it over
    return x if isinstance(x, Tracer) or hasattr(x, "__array_function__") else np.asarray(x)


def vmap(fun: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0,
         axis_size: int | None = None) -> Callable[..., Any]:
    """Vectorise ``fun`` over a batch axis of its inputs (one numpy call per primitive).

    ``in_axes`` is an int, ``None`` (broadcast, not batched) or a tuple with one entry
    per positional argument, each an int/None or a container of the argument's
    structure; negative axes count from the end. ``out_axes`` is likewise a prefix of
    the output's structure. ``axis_size`` is required only when no input is batched.

    >>> import numpy as np, gradlab as gl
    >>> w = np.array([1.0, 2.0])
    >>> gl.vmap(lambda w, x: w @ x, in_axes=(None, 1))(w, np.eye(2)).tolist()
    [1.0, 2.0]
    """
    f = instrument(fun)
    cached = functools.lru_cache(maxsize=64)(_axes_for_leaves)  # per argument structure

    def axes_for(spec, tree, what):
        try:
            return cached(spec, tree, what)
        except TypeError:  # an axes spec holding a dict is unhashable: compute it afresh
            return _axes_for_leaves(spec, tree, what)

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        if kwargs:
            raise TypeError("vmap'ed functions take positional arguments only (close over "
                            "keyword arguments with functools.partial)")
        spec = tuple(in_axes) if isinstance(in_axes, list) else in_axes
        if isinstance(spec, tuple) and len(spec) != len(args):
            raise ValueError(f"vmap in_axes has {len(spec)} entries but the function was "
                             f"called with {len(args)} positional arguments")
        axes = _flat_axes(spec, args)
        if axes is None:  # pytree arguments, or axes given per leaf
            leaves, tree = tree_flatten(args)
            axes = axes_for(spec, tree, "in_axes")
        else:  # arrays with an int/None axis each: no tree to walk
            leaves, tree = args, None
        size = _batch_size(leaves, axes, axis_size)
        with new_trace(BatchTrace, size) as trace:
            boxed = [x if ax is None else BatchTracer(trace, _as_array(x), ax % ndim_of(x))
                     for x, ax in zip(leaves, axes)]
            out = f(*(boxed if tree is None else tree_unflatten(tree, boxed)))
            if type(out) is BatchTracer and type(out_axes) is int:  # one batched array
                return _to_output(trace, out, out_axes, size)
            out_leaves, out_tree = tree_flatten(out)
            oaxes = axes_for(out_axes, out_tree, "out_axes")
            results = [_to_output(trace, o, ax, size) for o, ax in zip(out_leaves, oaxes)]
        return tree_unflatten(out_tree, results)

    return batched
