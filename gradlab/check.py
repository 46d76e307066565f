"""``check_grads``: derivatives against central differences, in random directions.

>>> import numpy as np, gradlab as gl
>>> gl.check_grads(lambda x: np.sin(x) * x, np.array([0.3, -1.2]), order=2)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .core.tree import tree_flatten, tree_unflatten
from .intercept import instrument
from .precision.dtypes import is_float_dtype
from .transforms.forward import jvp
from .transforms.reverse import vjp


def _vdot(a_leaves, b_leaves) -> float:
    return float(sum(np.real(np.vdot(np.asarray(a), np.asarray(b)))
                     for a, b in zip(a_leaves, b_leaves)))


def _random_like(rng, leaves):
    """Random directions; complex ones for complex leaves (both parts of C = R^2)."""
    out = []
    for x in leaves:
        dtype, shape = np.result_type(x), np.shape(x)
        d = rng.standard_normal(shape)
        if dtype.kind == "c":
            d = d + 1j * rng.standard_normal(shape)
        out.append(d.astype(dtype))
    return out


def _covector(leaves):
    """autograd's covector: a VJP maps conj(u) to conj(J^T u) (docs/complex.md)."""
    return [np.conj(x) for x in leaves]


def _is_inexact(x) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, (float, complex))
    return is_float_dtype(dtype)


def _refuse_unflattened_containers(leaves) -> None:
    """A container gradlab does not flatten (an OrderedDict, a list subclass) is one opaque
    leaf: its arrays would be held fixed and never compared, so the check would pass
    without checking them."""
    for i, x in enumerate(leaves):
        opaque = isinstance(x, (Mapping, list, tuple)) or (
            isinstance(x, np.ndarray) and x.dtype == object)
        if opaque:
            raise TypeError(
                f"check_grads: argument leaf {i} (of type {type(x).__name__}) is a container "
                "gradlab does not flatten (not a registered pytree), so the arrays inside it "
                "would never be checked; pass a dict/list/tuple, or register the type with "
                "gl.register_pytree")


def _axpy(alpha, dx, leaves):
    return [x + alpha * d for x, d in zip(leaves, dx)]


def check_grads(fun: Callable, *args: Any, modes: Sequence[str] = ("fwd", "rev"),
                order: int = 2, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-6,
                seed: int = 0) -> Callable[..., Any] | None:
    """Check ``fun``'s VJP and JVP against central differences, up to ``order``.

    Every float (or complex) leaf of the arguments is differentiated; integer and
    boolean leaves (labels, indices) are held fixed. Raises
    ``AssertionError`` naming the mode, the order and both numbers on a mismatch.
    When both modes are checked it also checks adjointness: ``<u, J v> == <J^T u, v>``.
    A call with no float argument raises ``ValueError`` (it would check nothing).

    Without arguments it returns the checker, autograd's curried spelling:

    >>> import numpy as np, gradlab as gl
    >>> gl.check_grads(np.tanh, modes=["rev"])(np.array([0.1, 0.7]))
    """
    if not args:  # check_grads(f, modes=...)(x), as in autograd
        if _takes_no_arguments(fun):  # a params{...} objective: currying would check nothing
            raise ValueError("check_grads: no float argument to differentiate (the function "
                             "takes no arguments); for a params{...} block's objective use "
                             "weights.check_grads(objective)")
        return functools.partial(check_grads, fun, modes=modes, order=order, eps=eps,
                                 rtol=rtol, atol=atol, seed=seed)
    rng = np.random.default_rng(seed)
    fun = instrument(fun)
    all_leaves, tree = tree_flatten(tuple(args))
    all_leaves = [np.asarray(x, np.float64) if type(x) is float else x for x in all_leaves]
    _refuse_unflattened_containers(all_leaves)
    # Integer and boolean leaves (labels, indices, counts) are held fixed.
    diff = [i for i, x in enumerate(all_leaves) if _is_inexact(x)]
    leaves = [all_leaves[i] for i in diff]
    if not leaves:  # nothing would be compared: fail rather than pass vacuously
        raise ValueError("check_grads: no float argument to differentiate (got "
                         f"{len(all_leaves)} other leaves); for a params{{...}} block's "
                         "objective use weights.check_grads(objective)")

    def f_flat(*xs):
        full = list(all_leaves)
        for i, x in zip(diff, xs):
            full[i] = x
        return fun(*tree_unflatten(tree, full))

    v = _random_like(rng, leaves)
    out = f_flat(*leaves)
    out_leaves, out_tree = tree_flatten(out)
    u = _random_like(rng, out_leaves)

    def fd_directional():
        plus = tree_flatten(f_flat(*_axpy(eps, v, leaves)))[0]
        minus = tree_flatten(f_flat(*_axpy(-eps, v, leaves)))[0]
        return [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(plus, minus)]

    numeric = _vdot(u, fd_directional())
    results = {}
    if "rev" in modes:
        _, back = vjp(f_flat, *leaves)
        ct = back(tree_unflatten(out_tree, _covector(u)))
        results["rev"] = _vdot(_covector(tree_flatten(ct)[0]), v)
    if "fwd" in modes:
        _, tangent = jvp(f_flat, tuple(leaves), tuple(v))
        results["fwd"] = _vdot(u, tree_flatten(tangent)[0])
    for mode, value in results.items():
        if not np.isclose(value, numeric, rtol=rtol, atol=atol):
            raise AssertionError(
                f"check_grads({getattr(fun, '__name__', fun)}): {mode}-mode derivative "
                f"{value!r} != finite difference {numeric!r} (order {order} from the top)")
    if len(results) == 2 and not np.isclose(results["fwd"], results["rev"], rtol=1e-9 * 1e3,
                                            atol=1e-10):
        raise AssertionError(f"JVP and VJP are not adjoint: <u, J v> = {results['fwd']!r}, "
                             f"<J^T u, v> = {results['rev']!r}")
    if order > 1:
        if "rev" in modes:
            def rev_derivative(*xs):
                return vjp(f_flat, *xs)[1](tree_unflatten(out_tree, _covector(u)))

            check_grads(rev_derivative, *leaves, modes=modes, order=order - 1, eps=eps,
                        rtol=rtol, atol=atol, seed=seed + 1)
        if "fwd" in modes:
            def fwd_derivative(*xs):
                return jvp(f_flat, xs, tuple(v))[1]

            check_grads(fwd_derivative, *leaves, modes=modes, order=order - 1, eps=eps,
                        rtol=rtol, atol=atol, seed=seed + 2)
    return None


def _takes_no_arguments(fun) -> bool:
    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: assume it takes some
        return False
    return not any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
                   for p in params)
