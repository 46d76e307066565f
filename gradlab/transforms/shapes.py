"""Shapes without data: ``eval_shape`` and ``summary`` run a function abstractly.

>>> import numpy as np, gradlab as gl
>>> big = gl.ShapeDtypeStruct((100_000, 100_000), np.float64)
>>> gl.eval_shape(lambda a, b: np.tanh(a @ b).sum(axis=0), big, big)
ShapeDtypeStruct(shape=(100000,), dtype=dtype('float64'))

``ShapeTrace`` is one interpreter level whose tracers carry only a
``ShapeDtypeStruct``. Each primitive applied to them calls its shape rule (its own
``shape=`` or its family's) instead of its ``impl``, so no array is ever
allocated; an operand mismatch raises ``ShapeError`` naming the op, the operand
shapes and the user's line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.errors import ConcretizationError, ShapeError, user_location
from ..core.shapes import ShapeDtypeStruct
from ..core.trace import Trace, Tracer, new_trace, shape_error
from ..core.tree import _node, tree_flatten, tree_map, tree_unflatten
from ..intercept import instrument
from ..ops.families import Elementwise


class ShapeTracer(Tracer):
    """A value known only by its shape and dtype."""

    __slots__ = ("_aval",)

    def __init__(self, trace, aval):
        self._trace = trace
        self._aval = aval

    @property
    def aval(self):
        return self._aval

    shape = property(lambda self: tuple(self._aval.shape))
    dtype = property(lambda self: np.dtype(self._aval.dtype))
    ndim = property(lambda self: len(self._aval.shape))
    size = property(lambda self: int(np.prod(self._aval.shape, dtype=np.int64)))

    def __bool__(self):
        raise ConcretizationError(
            f"Python control flow on a value that eval_shape knows only by its shape "
            f"{self.shape} at {user_location()}: its value is not computed.\nBranch on "
            "shapes (x.shape, x.ndim) instead, or select with np.where(condition, a, b).")

    def __repr__(self):
        return f"ShapeTracer({self.dtype}{list(self.shape)})"


def _aval_of(x):
    if isinstance(x, ShapeTracer):
        return x._aval
    dtype = x.dtype if hasattr(x, "dtype") else np.result_type(x)
    return ShapeDtypeStruct(tuple(np.shape(x)), np.dtype(dtype))


class ShapeTrace(Trace):
    """The abstract-evaluation level: shape rules instead of computation."""

    def lower(self, x):
        # There is no concrete value below: an abstract value stays abstract.
        return x

    def process(self, prim, args, params):
        avals = [_aval_of(a) for a in args]
        try:
            if prim.shape_rule is not None:
                out = prim.shape_rule(prim, avals, params)
            else:
                out = prim.family.shape(prim, avals, params)
        except ShapeError:
            raise
        except (ValueError, IndexError, np.exceptions.AxisError) as exc:
            raise shape_error(prim, args, params, exc) from exc
        if isinstance(out, (tuple, list)) and not isinstance(out, ShapeDtypeStruct):
            return type(out)(ShapeTracer(self, o) for o in out)
        if prim.shape_rule is None and prim.family is Elementwise:
            out = ShapeDtypeStruct(tuple(out.shape), _weak_dtype(prim, args, params))
        return ShapeTracer(self, out)


def _weak_dtype(prim, args, params):
    """The result dtype with Python scalars kept weak (``float32 * 2`` stays float32)."""
    probes = [type(a)(1) if type(a) in (bool, int, float, complex)
              else np.ones((), _aval_of(a).dtype) for a in args]
    with np.errstate(all="ignore"):
        return np.result_type(prim.impl(*probes, **params))


def _is_abstract(x):
    return isinstance(x, ShapeDtypeStruct) or (
        hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, Tracer))


def eval_shape(fun: Callable[..., Any], *args: Any) -> Any:
    """The output shapes and dtypes of ``fun(*args)``, computed without any data.

    Arguments are pytrees whose leaves are ``ShapeDtypeStruct``s (or arrays, of which
    only the shape and dtype are used); other leaves (ints, strings) are passed as
    they are. Returns the output's pytree with ``ShapeDtypeStruct`` leaves.

    >>> import numpy as np, gradlab as gl
    >>> x = gl.ShapeDtypeStruct((8, 3), np.float32)
    >>> gl.eval_shape(lambda x: x.T @ x, x).shape
    (3, 3)
    """
    f = instrument(fun)
    leaves, tree = tree_flatten(args, is_leaf=lambda x: isinstance(x, ShapeDtypeStruct))
    with new_trace(ShapeTrace) as trace:
        boxed = [ShapeTracer(trace, _aval_of(x)) if _is_abstract(x) else x for x in leaves]
        out = f(*tree_unflatten(tree, boxed))
        out_leaves, out_tree = tree_flatten(out)
        avals = [_aval_of(o) for o in out_leaves]
    return tree_unflatten(out_tree, avals)


def _paths(tree, prefix=""):
    """``(path, leaf)`` for every leaf, paths like ``layers[0].w`` or ``['w']``."""
    node = None if isinstance(tree, ShapeDtypeStruct) else _node(tree)
    if node is None:
        return [(prefix or "<root>", tree)]
    kind, aux, children = node
    if kind is dict:
        names = [f"{prefix}.{k}" if prefix else str(k) for k in aux]
    elif hasattr(kind, "_fields"):
        names = [f"{prefix}.{k}" if prefix else k for k in kind._fields]
    elif kind in (tuple, list):
        names = [f"{prefix}[{i}]" for i in range(len(children))]
    else:
        fields = getattr(kind, "__dataclass_fields__", None)
        keys = list(fields) if fields and len(fields) == len(children) else range(len(children))
        names = [f"{prefix}.{k}" if prefix else str(k) for k in keys]
    out = []
    for name, child in zip(names, children):
        out.extend(_paths(child, name))
    return out


def summary(fun: Callable[..., Any], params: Any, *input_shapes: Any,
            print_fn: Callable[[str], Any] = print) -> str:
    """Print (and return) a per-parameter table of ``params`` and ``fun``'s output shape.

    ``fun(params, *inputs)``; ``input_shapes`` are ``ShapeDtypeStruct``s (or arrays,
    or shape tuples of float64). Nothing is computed: shapes come from ``eval_shape``.

    >>> import numpy as np, gradlab as gl
    >>> params = {"w": np.zeros((3, 2)), "b": np.zeros(2)}
    >>> table = gl.summary(lambda p, x: x @ p["w"] + p["b"], params, (5, 3), print_fn=None)
    >>> table.splitlines()[-1]
    'output: float64[5,2]'
    """
    inputs = [ShapeDtypeStruct(tuple(s), np.dtype(np.float64))
              if isinstance(s, tuple) and not isinstance(s, ShapeDtypeStruct) else s
              for s in input_shapes]
    param_avals = tree_map(_aval_of, params, is_leaf=lambda x: isinstance(x, ShapeDtypeStruct))
    out = eval_shape(fun, param_avals, *inputs)
    rows = [(path, _aval_of(leaf)) for path, leaf in _paths(params)]
    width = max([len("parameter")] + [len(p) for p, _ in rows])
    lines = [f"{'parameter':<{width}}  {'shape':<16} {'dtype':<9} {'count':>12}"]
    total = 0
    for path, aval in rows:
        n = int(np.prod(aval.shape, dtype=np.int64))
        total += n
        lines.append(f"{path:<{width}}  {str(tuple(aval.shape)):<16} {str(aval.dtype):<9} "
                     f"{n:>12,}")
    lines.append(f"{'total':<{width}}  {'':<16} {'':<9} {total:>12,}")
    out_leaves = tree_flatten(out, is_leaf=lambda x: isinstance(x, ShapeDtypeStruct))[0]
    shown = ", ".join(f"{o.dtype}[{','.join(map(str, o.shape))}]" for o in out_leaves)
    lines.append(f"output: {shown}")
    table = "\n".join(lines)
    if print_fn is not None:
        print_fn(table)
    return table
