"""``gradlab.lax``: JAX's control-flow functions (``scan``, ``fori_loop``, ``while_loop``,
``cond``, ``switch``, ``map``...) with JAX's signatures and semantics, run eagerly.

gradlab differentiates Python control flow directly, so each of these is the Python
loop or branch it stands for, over gradlab's ops: a JAX program that calls
``lax.scan`` ports by changing its imports. Every transform sees through them
(``grad``, ``jvp``, ``vmap``, ``hessian``, ``jit``); the callbacks are instrumented like
the user function that calls them.

Where the eager reading differs from JAX:

- ``while_loop`` and ``fori_loop`` are differentiable in reverse mode: ``grad`` runs the
  iterations taken and differentiates them, as reverse mode over Python does. JAX
  refuses reverse-mode differentiation of ``while_loop`` (and of ``fori_loop`` with
  traced bounds), because its compiled loop has no stored trip count.
- ``cond`` and ``switch`` run only the branch taken. Under ``vmap`` with a batched
  predicate (or index) both (all) branches run and each example's result is selected
  with ``np.where``, as JAX does; a ``while_loop`` whose predicate is batched raises
  ``ConcretizationError`` (JAX runs it until every example stops).
- Under ``gl.jit`` a ``cond`` predicate is guarded like a Python ``if`` (inputs that take
  the other branch fall back to eager, with a warning): both branches are never selected
  there, as that could turn an unselected branch's NaN into a NaN derivative.
- ``unroll`` (``scan``) and ``batch_size`` (``map``) are accepted and change nothing.

>>> import numpy as np
>>> from gradlab import lax
>>> carry, ys = lax.scan(lambda c, x: (c + x, c * x), 0.0, np.array([1.0, 2.0, 3.0]))
>>> float(carry), ys.tolist()
(6.0, [0.0, 2.0, 9.0])
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core.errors import ConcretizationError
from .core.trace import Tracer
from .core.tree import leaf_paths, tree_flatten, tree_unflatten
from .intercept import instrument
from .ops.elementwise import where
from .ops.index import at
from .ops.misc import dtype_of, stop_gradient
from .ops.shape import stack

__all__ = [
    "associative_scan", "cond", "dynamic_index_in_dim", "dynamic_slice", "dynamic_slice_in_dim",
    "dynamic_update_slice", "fori_loop", "map", "scan", "select", "stop_gradient", "switch",
    "while_loop",
]

_WEAK_KINDS = {bool: "b", int: "iu", float: "f", complex: "c"}


# --- carry types: JAX requires a loop's carry to keep its structure, shapes and dtypes --


class _Leaf:
    def __repr__(self):
        return "*"


def _structure(td) -> str:
    return repr(tree_unflatten(td, [_Leaf()] * td.num_leaves))


def _leaf_type(x) -> str:
    if type(x) in _WEAK_KINDS:
        return f"weak {type(x).__name__}[]"
    return f"{dtype_of(x)}{list(np.shape(x) if not hasattr(x, 'shape') else x.shape)}"


def _same_type(before, after) -> str | None:
    """Why the carry leaf ``after`` cannot replace ``before`` (None: it can)."""
    shape_b = () if type(before) in _WEAK_KINDS else tuple(getattr(before, "shape", ()))
    shape_a = () if type(after) in _WEAK_KINDS else tuple(getattr(after, "shape", ()))
    if shape_b != shape_a:
        return "the shapes do not match"
    kind_b = _WEAK_KINDS.get(type(before)) or dtype_of(before).kind
    kind_a = _WEAK_KINDS.get(type(after)) or dtype_of(after).kind
    weak = type(before) in _WEAK_KINDS or type(after) in _WEAK_KINDS
    if (kind_a not in kind_b and kind_b not in kind_a) if weak else \
            dtype_of(before) != dtype_of(after):
        return "the dtypes do not match"
    return None


def _carry_checker(loop: str, init) -> Callable[[Any], None]:
    """A check that raises JAX's ``TypeError`` when a loop body changed its carry's type
    (the input carry is flattened once; paths are worked out only for the message)."""
    leaves_in, td_in = tree_flatten(init)

    def check(new) -> None:
        leaves_out, td_out = tree_flatten(new)
        if td_in != td_out:
            raise TypeError(
                f"{loop} body function carry input and carry output must have the same "
                f"pytree structure, but they differ: the input carry is {_structure(td_in)} "
                f"and the carry output is {_structure(td_out)}")
        for i, (a, b) in enumerate(zip(leaves_in, leaves_out)):
            if a is b or (getattr(a, "shape", None) == getattr(b, "shape", False)
                          and getattr(a, "dtype", None) == getattr(b, "dtype", False)):
                continue  # the common case: the same array type again
            why = _same_type(a, b)
            if why:
                raise TypeError(
                    f"{loop} body function carry input and carry output must have equal "
                    f"types (e.g. shapes and dtypes of arrays), but they differ: the input "
                    f"carry component carry{leaf_paths(init)[i]} has type {_leaf_type(a)} but "
                    f"the corresponding output carry component has type {_leaf_type(b)}, so "
                    f"{why}")

    return check


# --- scan ------------------------------------------------------------------------------


def _scan_length(xs_leaves, length) -> int:
    sizes = []
    for leaf in xs_leaves:
        shape = tuple(getattr(leaf, "shape", np.shape(leaf)))
        if not shape:
            raise ValueError(f"scan got value with no leading axis to scan over: {leaf!r}")
        sizes.append(shape[0])
    if length is not None:
        length = int(length)
        if builtins.any(n != length for n in sizes):
            raise ValueError(f"scan got `length` argument of {length} which disagrees with "
                             f"leading axis sizes {sizes}.")
        return length
    if not sizes:
        raise ValueError("scan got no values to scan over and `length` not provided.")
    if len(set(sizes)) > 1:
        raise ValueError("scan got values with different leading axis sizes: "
                         f"{', '.join(str(n) for n in sizes)}.")
    return sizes[0]


def _leaf_columns(trees: Sequence[Any], mismatch: str):
    """``(treedef, columns)``: the trees' shared structure and, per leaf position, the
    leaves of every tree; a TypeError starting with ``mismatch`` where two differ."""
    flat = [tree_flatten(t) for t in trees]
    td = flat[0][1]
    for _, other in flat[1:]:
        if other != td:
            raise TypeError(f"{mismatch}; got {_structure(td)} and {_structure(other)}")
    return td, list(zip(*(leaves for leaves, _ in flat))) if td.num_leaves else []


def _stack_leaves(outputs: list, length: int):
    """``ys``: the per-step outputs, each leaf stacked along a new leading axis."""
    td, columns = _leaf_columns(outputs, "scan body function output ys must keep one "
                                         "pytree structure")
    return tree_unflatten(td, [_stack(col) for col in columns])


def _stack(column):
    """``np.stack`` of one leaf's values: numpy's own when none of them is traced."""
    if builtins.any(isinstance(v, Tracer) for v in column):
        return stack(list(column))
    return np.stack(column)


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1) -> tuple[Any, Any]:
    """JAX's ``lax.scan``: ``carry, y = f(carry, x)`` over the leading axis of ``xs``.

    ``init``, ``xs`` and the ``y`` outputs are pytrees; each leaf of ``ys`` is the
    per-step outputs stacked along a new leading axis. With ``xs=None``, ``length``
    steps run with ``x = None``. ``reverse=True`` visits ``xs`` from the last row to
    the first and returns ``ys`` in the original order (``ys[i]`` is the output for
    ``xs[i]``). The carry must keep its structure, shapes and dtypes (``TypeError``
    otherwise, as in JAX). ``unroll`` is accepted and changes nothing (eager loop).
    A scan of length 0 runs ``f`` once abstractly (``gl.eval_shape``) for ``ys``' shapes.

    >>> import numpy as np, gradlab as gl
    >>> from gradlab import lax
    >>> def cumprod_last(a):
    ...     carry, ys = lax.scan(lambda c, x: (c * x, c * x), 1.0, a)
    ...     return ys[-1]
    >>> gl.grad(cumprod_last)(np.array([2.0, 3.0, 4.0])).tolist()
    [12.0, 8.0, 6.0]
    """
    if not isinstance(unroll, (bool, int)) or (unroll is not True and unroll < 0):
        raise TypeError(f"scan: unroll must be a positive int or a bool, got {unroll!r}")
    body = instrument(f)
    xs_leaves, xs_td = tree_flatten(xs)
    n = _scan_length(xs_leaves, length)
    if n == 0:
        return init, _empty_ys(body, init, xs_leaves, xs_td)
    carry, outputs, check = init, [], _carry_checker("scan", init)
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        x = tree_unflatten(xs_td, [leaf[i] for leaf in xs_leaves])
        out = body(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError("scan body function must return a pair (carry, y), got "
                            f"{type(out).__name__}")
        new_carry, y = out
        check(new_carry)
        carry = new_carry
        outputs.append(y)
    if reverse:
        outputs.reverse()
    return carry, _stack_leaves(outputs, n)


def _empty_ys(body, init, xs_leaves, xs_td):
    from .core.shapes import ShapeDtypeStruct
    from .transforms.shapes import eval_shape

    x_struct = tree_unflatten(xs_td, [ShapeDtypeStruct(tuple(np.shape(leaf))[1:],
                                                       dtype_of(leaf)) for leaf in xs_leaves])
    _, y_struct = eval_shape(body, init, x_struct)
    leaves, td = tree_flatten(y_struct, is_leaf=lambda s: isinstance(s, ShapeDtypeStruct))
    return tree_unflatten(td, [np.zeros((0, *s.shape), s.dtype) for s in leaves])


def map(f: Callable, xs: Any, *, batch_size: int | None = None) -> Any:  # noqa: A001
    """JAX's ``lax.map``: ``f`` applied to each row of the pytree ``xs``, results stacked.

    ``batch_size`` is accepted and changes nothing (the rows run one by one).

    >>> import numpy as np
    >>> from gradlab import lax
    >>> lax.map(lambda row: row @ row, np.arange(6.0).reshape(3, 2)).tolist()
    [1.0, 13.0, 41.0]
    """
    body = instrument(f)
    return scan(lambda carry, x: (carry, body(x)), None, xs)[1]


def associative_scan(fn: Callable, elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """JAX's ``lax.associative_scan``: inclusive prefix combination ``fn`` along ``axis``.

    Run as a sequential left fold (``out[i] = fn(out[i-1], elems[i])``), equal to JAX's
    tree-ordered result for an associative ``fn`` (up to rounding). ``reverse=True``
    combines from the end: ``out[i] = fn(elems[i], out[i+1])``.

    >>> import numpy as np
    >>> from gradlab import lax
    >>> lax.associative_scan(np.add, np.array([1.0, 2.0, 3.0])).tolist()
    [1.0, 3.0, 6.0]
    """
    combine = instrument(fn)
    leaves, td = tree_flatten(elems)
    moved = [np.moveaxis(leaf, axis, 0) for leaf in leaves]
    n = _scan_length(moved, None)
    rows = [tree_unflatten(td, [leaf[i] for leaf in moved]) for i in range(n)]
    out = [rows[-1] if reverse else rows[0]]
    for i in (range(n - 2, -1, -1) if reverse else range(1, n)):
        out.append(combine(rows[i], out[-1]) if reverse else combine(out[-1], rows[i]))
    if reverse:
        out.reverse()
    stacked = tree_flatten(_stack_leaves(out, n))[0]
    return tree_unflatten(td, [np.moveaxis(leaf, 0, axis) for leaf in stacked])


# --- loops -----------------------------------------------------------------------------


def _concrete_bool(pred, where_from: str) -> bool:
    try:
        return bool(pred)
    except ConcretizationError as e:
        raise ConcretizationError(
            f"{where_from}: the loop predicate is batched by vmap (or abstract), so each "
            "example may stop at a different step. Run a fixed number of steps with "
            "lax.fori_loop and select per example with np.where, or move the loop out of "
            f"the vmapped function.\n{e}") from None


def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any) -> Any:
    """JAX's ``lax.while_loop``: ``val = body_fun(val)`` while ``cond_fun(val)``.

    The carry must keep its structure, shapes and dtypes (``TypeError`` otherwise).
    Unlike JAX, reverse mode works: ``grad`` differentiates the iterations taken (JAX
    refuses reverse-mode differentiation of ``while_loop``). A predicate batched by
    ``vmap`` raises ``ConcretizationError``.

    >>> import numpy as np, gradlab as gl
    >>> from gradlab import lax
    >>> def halve_until_small(x):  # x / 2**k, for the first k with x / 2**k < 1
    ...     return lax.while_loop(lambda v: v >= 1.0, lambda v: v / 2.0, x)
    >>> float(halve_until_small(5.0)), float(gl.grad(halve_until_small)(5.0))
    (0.625, 0.125)
    """
    test, body = instrument(cond_fun), instrument(body_fun)
    val, check = init_val, _carry_checker("while_loop", init_val)
    while _concrete_bool(test(val), "while_loop"):
        val = body(val)
        check(val)
    return val


def fori_loop(lower: int, upper: int, body_fun: Callable, init_val: Any, *,
              unroll: int | bool | None = None) -> Any:
    """JAX's ``lax.fori_loop``: ``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``.

    ``i`` is a Python int. The bounds must be concrete (ints or concrete arrays); the
    carry must keep its structure, shapes and dtypes. Reverse mode works (JAX refuses it
    when the bounds are traced).

    >>> import numpy as np, gradlab as gl
    >>> from gradlab import lax
    >>> def power(x, n=3):
    ...     return lax.fori_loop(0, n, lambda i, acc: acc * x, 1.0)
    >>> float(power(2.0)), float(gl.grad(power)(2.0))
    (8.0, 12.0)
    """
    body = instrument(body_fun)
    val, check = init_val, _carry_checker("fori_loop", init_val)
    for i in range(int(lower), int(upper)):
        val = body(i, val)
        check(val)
    return val


# --- branches --------------------------------------------------------------------------


def _concrete_or_none(pred):
    """``bool(pred)``, or None when it is batched by vmap (or only a shape)."""
    try:
        return bool(pred)
    except ConcretizationError:
        return None


def _select_trees(which, trees: Sequence[Any], what: str):
    """Per example: the tree ``trees[which]`` (``which`` an int index), by ``np.where``."""
    td, columns = _leaf_columns(trees, f"{what} must have identical types (pytree "
                                       "structures)")
    out = []
    for col in columns:
        value = col[-1]
        for k in range(len(col) - 2, -1, -1):
            value = where(which == k, col[k], value)
        out.append(value)
    return tree_unflatten(td, out)


def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """JAX's ``lax.cond``: ``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``.

    ``pred`` is a scalar (bool or number). Only the branch taken runs, and the derivative
    is that branch's. Under ``vmap`` with a batched ``pred``, both branches run on the
    whole batch and each example's outputs are selected with ``np.where`` (their
    structures must agree, as JAX requires); a branch that gives inf or NaN for an
    example it does not select can still poison that example's derivative there.

    >>> import numpy as np, gradlab as gl
    >>> from gradlab import lax
    >>> def relu(x):
    ...     return lax.cond(x > 0, lambda v: v, lambda v: 0.0 * v, x)
    >>> gl.vmap(gl.grad(relu))(np.array([-1.0, 2.0])).tolist()
    [0.0, 1.0]
    """
    if np.ndim(pred) != 0:
        raise TypeError(f"Pred must be a scalar, got {pred!r} of shape {np.shape(pred)}.")
    taken = _concrete_or_none(pred)
    if taken is not None:
        return instrument(true_fun if taken else false_fun)(*operands)
    outs = [instrument(false_fun)(*operands), instrument(true_fun)(*operands)]
    return _select_trees(where(pred, 1, 0), outs, "true_fun and false_fun output")


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """JAX's ``lax.switch``: ``branches[index](*operands)``, ``index`` clamped into range.

    Under ``vmap`` with a batched ``index`` every branch runs and each example's outputs
    are selected with ``np.where``.

    >>> import numpy as np
    >>> from gradlab import lax
    >>> fns = [np.sin, np.cos, np.tanh]
    >>> [float(lax.switch(i, fns, 0.0)) for i in (-4, 1, 2, 9)]
    [0.0, 1.0, 0.0, 0.0]
    """
    if not branches:
        raise ValueError("Empty branch sequence")
    if np.ndim(index) != 0:
        raise TypeError(f"Branch index must be scalar, got {index!r} of shape "
                        f"{np.shape(index)}.")
    last = len(branches) - 1
    try:
        i = int(index)
    except (ConcretizationError, TypeError):
        i = None
    if i is not None:
        return instrument(branches[builtins.min(builtins.max(i, 0), last)])(*operands)
    clamped = np.clip(index, 0, last)
    outs = [instrument(b)(*operands) for b in branches]
    return _select_trees(clamped, outs, "branch outputs")


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """JAX's ``lax.select``: elementwise ``on_true`` where ``pred``, else ``on_false``.

    Stricter than ``np.where``: the cases must have one shape and dtype, and ``pred``
    must be boolean, a scalar or of the cases' shape (``TypeError`` otherwise).

    >>> import numpy as np
    >>> from gradlab import lax
    >>> lax.select(np.array([True, False]), np.ones(2), np.zeros(2)).tolist()
    [1.0, 0.0]
    """
    if np.shape(on_true) != np.shape(on_false):
        raise TypeError(f"select cases must have the same shapes, got "
                        f"[{np.shape(on_true)}, {np.shape(on_false)}].")
    if dtype_of(on_true) != dtype_of(on_false):
        raise TypeError(f"select cases must have the same dtypes, got "
                        f"[{dtype_of(on_true)}, {dtype_of(on_false)}].")
    if dtype_of(pred) != np.bool_:
        raise TypeError(f"select `pred` must be boolean type, got {dtype_of(pred)}.")
    if np.ndim(pred) != 0 and np.shape(pred) != np.shape(on_true):
        raise TypeError(f"select `pred` must be scalar or have the same shape as cases, got "
                        f"`pred` shape {np.shape(pred)} but case shape {np.shape(on_true)}.")
    return where(pred, on_true, on_false)


# --- dynamic slicing -------------------------------------------------------------------


def _clamped_starts(operand_shape, start_indices, sizes, what) -> list[int]:
    if len(start_indices) != len(operand_shape):
        raise TypeError(f"{what}: len(start_indices) must equal the operand's rank "
                        f"{len(operand_shape)}, got {len(start_indices)}")
    starts = []
    for axis, (start, size, dim) in enumerate(zip(start_indices, sizes, operand_shape)):
        if not 0 <= size <= dim:
            raise TypeError(f"{what}: slice size {size} does not fit axis {axis} of size {dim}")
        try:
            start = int(start)
        except (ConcretizationError, TypeError):
            raise ConcretizationError(
                f"{what}: start index {axis} is batched by vmap (or traced without a "
                "value); gradlab needs concrete start indices here. Index with "
                "np.take / x[idx] on an index array instead.") from None
        starts.append(builtins.min(builtins.max(start, 0), dim - size))  # JAX clamps, never wraps
    return starts


def dynamic_slice(operand: Any, start_indices: Sequence[Any],
                  slice_sizes: Sequence[int]) -> Any:
    """JAX's ``lax.dynamic_slice``: ``operand[s0:s0+n0, s1:s1+n1, ...]``.

    Like JAX, each start is clamped so the slice fits (never wraps or shrinks).

    >>> import numpy as np
    >>> from gradlab import lax
    >>> lax.dynamic_slice(np.arange(10.0), (8,), (3,)).tolist()   # start clamped to 7
    [7.0, 8.0, 9.0]
    """
    shape = tuple(np.shape(operand))
    sizes = tuple(int(n) for n in slice_sizes)
    if len(sizes) != len(shape):
        raise TypeError(f"dynamic_slice: len(slice_sizes) must equal the operand's rank "
                        f"{len(shape)}, got {len(sizes)}")
    starts = _clamped_starts(shape, start_indices, sizes, "dynamic_slice")
    return operand[tuple(slice(s, s + n) for s, n in zip(starts, sizes))]


def dynamic_update_slice(operand: Any, update: Any, start_indices: Sequence[Any]) -> Any:
    """JAX's ``lax.dynamic_update_slice``: a copy of ``operand`` with ``update`` written at
    ``start_indices`` (clamped so it fits), by ``gl.at``: differentiable in both.

    >>> import numpy as np
    >>> from gradlab import lax
    >>> lax.dynamic_update_slice(np.zeros(5), np.ones(2), (4,)).tolist()
    [0.0, 0.0, 0.0, 1.0, 1.0]
    """
    shape, sizes = tuple(np.shape(operand)), tuple(np.shape(update))
    if len(sizes) != len(shape):
        raise TypeError(f"dynamic_update_slice update must have the same rank as operand, "
                        f"got {sizes} and {shape}")
    starts = _clamped_starts(shape, start_indices, sizes, "dynamic_update_slice")
    return at(operand)[tuple(slice(s, s + n) for s, n in zip(starts, sizes))].set(update)


def dynamic_slice_in_dim(operand: Any, start_index: Any, slice_size: int, axis: int = 0) -> Any:
    """JAX's ``lax.dynamic_slice_in_dim``: ``dynamic_slice`` along one ``axis``.

    >>> import numpy as np
    >>> from gradlab import lax
    >>> lax.dynamic_slice_in_dim(np.arange(6.0).reshape(2, 3), 1, 2, axis=1).tolist()
    [[1.0, 2.0], [4.0, 5.0]]
    """
    shape = tuple(np.shape(operand))
    axis = axis % len(shape)
    starts = [0] * len(shape)
    starts[axis] = start_index
    sizes = list(shape)
    sizes[axis] = slice_size
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand: Any, index: Any, axis: int = 0, keepdims: bool = True) -> Any:
    """JAX's ``lax.dynamic_index_in_dim``: one index along ``axis`` (kept as size 1).

    >>> import numpy as np
    >>> from gradlab import lax
    >>> lax.dynamic_index_in_dim(np.arange(4.0), 2, keepdims=False).tolist()
    2.0
    """
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else np.squeeze(out, axis=axis)
