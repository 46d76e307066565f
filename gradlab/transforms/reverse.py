"""Reverse-mode API: ``vjp``, ``grad``, ``value_and_grad``, ``elementwise_grad``.

>>> import numpy as np, gradlab as gl
>>> float(gl.grad(lambda x: np.sum(np.sin(x)))(0.0))
1.0
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.shapes import ndim_of, shape_of
from ..core.tape import ReverseTrace, Var
from ..core.trace import Tracer, new_trace
from ..core.tree import leaf_paths, tree_flatten, tree_map, tree_unflatten
from ..devices.array_module import get_array_module
from ..intercept import instrument
from ..precision.dtypes import is_float_dtype
from .argnums import accepts_argnums
from .dtypes import cast_like


def _dtype(x):
    dtype = getattr(x, "dtype", None)  # arrays, numpy scalars and tracers
    return dtype if dtype is not None else np.result_type(x)


def check_differentiable(leaves, what="grad", paths=None):
    """Refuse integer (and other non-float) inputs to a derivative transform; ``paths``
    name the leaves in the message (``[0]['n']``: argument 0, key ``'n'``)."""
    for i, x in enumerate(leaves):
        dtype = getattr(x, "dtype", None)
        if dtype is not None and dtype.kind in "fc":
            continue  # the common case, decided without numpy's slower dtype machinery
        where = f"input leaf {paths[i] if paths else i}"
        if hasattr(type(x), "__dataclass_fields__"):
            name = type(x).__name__
            raise TypeError(
                f"{what}: {where} is a {name} dataclass, which gradlab does not know as a "
                f"container of arrays. Call gl.register_dataclass({name}) once (or use it as "
                "a decorator on the class) so that its fields are differentiated.")
        if isinstance(x, bool) or not is_float_dtype(_dtype(x)):  # bfloat16, float8 too
            kind = f"a Python {type(x).__name__}" if type(x) in (int, bool) else \
                type(x).__name__
            raise TypeError(
                f"{what} requires float (or complex) inputs, but {where} has dtype "
                f"{_dtype(x)} ({kind}). Pass e.g. np.float64 values: x = np.asarray(x, float), "
                "or pass integer data (labels, counts) as an argument not differentiated.")


def _as_array(x):
    # an array of another library (CuPy) stays where it is: np.asarray would copy it
    return x if isinstance(x, (Tracer, np.ndarray)) or hasattr(x, "__array_function__") \
        else np.asarray(x)


def zeros_like_value(x):
    """A zero array of ``x``'s shape and dtype (``x`` may be traced), on ``x``'s device."""
    return get_array_module(x).zeros(shape_of(x), _dtype(x))


def _lower(trace, x):
    return trace.lower(x) if isinstance(x, Var) else x


def _split_args(args, argnums):
    key = (argnums, len(args)) if type(argnums) in (int, tuple) else None
    split = _SPLITS.get(key)
    if split is not None:
        return split
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for n in nums:
        if not -len(args) <= n < len(args):
            raise ValueError(f"argnum {n} is out of range for {len(args)} arguments")
    split = single, tuple(n % len(args) for n in nums)
    if key is not None and len(_SPLITS) < 256:
        _SPLITS[key] = split
    return split


_SPLITS: dict = {}  # (argnums, number of arguments) -> _split_args' answer
_FLOAT_SCALARS = frozenset((np.float64, np.float32, np.float16))


def _reverse(fun, args, argnums, has_aux, retain):
    """Trace ``fun`` at a new reverse level; returns ``(out, aux, backward, out_tree)``.

    ``backward(cotangent_leaves)`` takes the output's cotangents as a flat list.
    """
    single, nums = _split_args(args, argnums)
    leaves, treedef = [args[n] for n in nums], None
    if not _all_arrays(leaves):  # arrays need no pytree walk
        leaves, treedef = tree_flatten(tuple(args[n] for n in nums))
        if not all(getattr(x, "dtype", None) is not None and x.dtype.kind in "fc"
                   for x in leaves):
            # Named by argument and path (``[0]['n']``): checked before any becomes an array.
            check_differentiable(leaves, paths=[f"[{n}]{p}" for n in nums
                                                for p in leaf_paths(args[n])])
        leaves = [_as_array(x) for x in leaves]
    check_differentiable(leaves)
    f = instrument(fun)
    with new_trace(ReverseTrace) as trace:
        inputs = [trace.new_input(x) for x in leaves]
        boxed = list(args)
        for n, sub in zip(nums, inputs if treedef is None else tree_unflatten(treedef, inputs)):
            boxed[n] = sub
        result = f(*boxed)
        out, aux = result if has_aux else (result, None)
        out_leaves, out_tree = tree_flatten(out)
    out_values = [_lower(trace, o) for o in out_leaves]
    if has_aux:
        aux = tree_map(lambda a: _lower(trace, a), aux)

    def backward(ct_leaves):
        grads = trace.backward(out_leaves, ct_leaves, inputs, retain=retain)
        grads = [zeros_like_value(x) if g is None else g if getattr(g, "dtype", None) == getattr(
            x, "dtype", 0) else cast_like(g, x) for g, x in zip(grads, leaves)]
        tree = grads if treedef is None else tree_unflatten(treedef, grads)
        return tree[0] if single else tuple(tree)

    return tree_unflatten(out_tree, out_values), aux, backward, out_tree


def _with_kwargs(fun, kwargs):
    """``fun`` with keyword arguments bound (they are never differentiated)."""
    return functools.partial(fun, **kwargs) if kwargs else fun


def _vjp(fun, args, argnums, has_aux, retain):
    """``(out, aux, vjp_fn)`` where ``vjp_fn`` takes a cotangent shaped like ``out``."""
    out, aux, backward, out_tree = _reverse(fun, args, argnums, has_aux, retain)
    return out, aux, _structured(backward, out_tree)


def _structured(backward, out_tree):
    """A VJP function taking the cotangent in the output's own structure."""

    def vjp_fn(cotangent):
        ct_leaves, ct_tree = tree_flatten(cotangent)
        if ct_tree != out_tree:
            raise ValueError(f"cotangent structure {ct_tree} does not match output {out_tree}")
        return backward(ct_leaves)

    return vjp_fn


def vjp(fun: Callable[..., Any], *args: Any, argnums: int | Sequence[int] | None = None,
        has_aux: bool = False) -> Any:
    """``(out, vjp_fn)``: ``vjp_fn(ct)`` is the cotangent of every argument (a tuple).

    >>> import numpy as np, gradlab as gl
    >>> out, f_vjp = gl.vjp(lambda x: np.sin(x) * 2, np.array([0.0, 1.0]))
    >>> np.allclose(f_vjp(np.ones(2))[0], 2 * np.cos([0.0, 1.0]))
    True
    """
    argnums = tuple(range(len(args))) if argnums is None else argnums
    out, aux, backward, out_tree = _reverse(fun, args, argnums, has_aux, retain=True)
    vjp_fn = _structured(backward, out_tree)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


@accepts_argnums
def make_vjp(fun: Callable[..., Any], argnum: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """autograd's spelling: ``make_vjp(f)(*args) -> (vjp_fn, out)``."""

    def maker(*args, **kwargs):
        out, _, backward, out_tree = _reverse(
            _with_kwargs(fun, kwargs), args, argnum, False, True)
        return _structured(backward, out_tree), out

    return maker


def _all_arrays(xs) -> bool:
    for x in xs:
        if type(x) is not np.ndarray:
            return False
    return True


def _scalar_seed(out, name):
    """The cotangent 1 of a scalar output (or of a size-1 array, as autograd accepts)."""
    if type(out) in _FLOAT_SCALARS:  # np.sum's result: the common case, decided at once
        return np.array(1, out.dtype)  # np.ones((), dtype) costs four times as much
    if isinstance(out, (tuple, list, dict)):
        raise TypeError(
            f"{name} requires a scalar output, but the function returned a "
            f"{type(out).__name__} of {len(out)} items. If the items after the first are "
            f"extra results (metrics, state), return (loss, extra) and pass has_aux=True; "
            "for several outputs use gradlab.jacobian or gradlab.vjp.")
    dtype = _dtype(out)
    shape = shape_of(out)
    if ndim_of(out) != 0 and any(n != 1 for n in shape):
        raise TypeError(
            f"{name} requires a scalar output, but the function returned shape "
            f"{shape_of(out)}. Use gradlab.jacobian for a full Jacobian, gradlab.vjp for a "
            "vector-Jacobian product, or gradlab.elementwise_grad for a sum of gradients.")
    if dtype.kind not in "fc" and not is_float_dtype(dtype):
        raise TypeError(f"{name} requires a float output, got {dtype}")
    xp = get_array_module(out)
    if xp is np and not shape:
        return np.array(1, dtype)  # np.ones((), dtype) costs four times as much
    return xp.ones(shape, dtype)  # on the output's device (CuPy's)


@accepts_argnums
def value_and_grad(fun: Callable[..., Any], argnum: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """``f(*args)`` and its gradient w.r.t. ``args[argnum]`` (int, or tuple for several).

    >>> import numpy as np, gradlab as gl
    >>> v, g = gl.value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> float(v), g.tolist()
    (5.0, [2.0, 4.0])
    """

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        f = _with_kwargs(fun, kwargs)
        out, aux, backward, _ = _reverse(f, args, argnum, has_aux, retain=False)
        grads = backward([_scalar_seed(out, "grad")])
        return ((out, aux), grads) if has_aux else (out, grads)

    return value_and_grad_fun


@accepts_argnums
def grad(fun: Callable[..., Any], argnum: int | tuple[int, ...] = 0,
         has_aux: bool = False, *, audit: bool = False) -> Callable[..., Any]:
    """The gradient of scalar ``fun`` w.r.t. ``args[argnum]``, with the argument's structure.

    ``audit=True`` warns (``gradlab.soft.HardDecisionWarning``), once per line, about each
    plain Python decision on a differentiable value (``if``, ``while``, ``max``, ...)
    whose effect the gradient does not see (``gradlab.soft.audit``; docs/soft.md).

    >>> import numpy as np, gradlab as gl
    >>> gl.grad(lambda x: np.sum(np.tanh(x)))(np.zeros(2)).tolist()
    [1.0, 1.0]
    """
    if audit:  # opt in: runs ``fun`` under gradlab.soft's pyccolo tracer (loaded only here)
        from ..soft.decisions import warning_auditor

        fun = warning_auditor(fun)
    vg = value_and_grad(fun, argnum, has_aux)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        value, grads = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return grad_fun


@accepts_argnums
def elementwise_grad(fun: Callable[..., Any],
                     argnum: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """The gradient of ``sum(fun(x))``: for an elementwise ``fun``, its derivative map."""

    @functools.wraps(fun)
    def egrad(*args, **kwargs):
        f = _with_kwargs(fun, kwargs)
        out, _, backward, out_tree = _reverse(f, args, argnum, False, retain=False)
        return _structured(backward, out_tree)(
            tree_map(lambda o: get_array_module(o).ones(shape_of(o), _dtype(o)), out))

    return egrad
