"""Jacobians, Hessians and their products, built from ``vjp``, ``jvp`` and ``vmap``.

>>> import numpy as np, gradlab as gl
>>> gl.hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0])).tolist()
[[6.0, 0.0], [0.0, 12.0]]

Each is a composition of the three primitive transforms, so each works under any
other transform: ``jacrev`` is one *vectorised* reverse pass (``vmap`` of the VJP
over the basis cotangents), ``jacfwd`` one vectorised forward pass, ``hessian`` is
forward-over-reverse (``jacfwd(jacrev(f))``) and ``hvp`` is ``jvp`` of ``grad``:
about the cost of two gradients, never a full Hessian.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.trace import Tracer
from ..core.tree import tree_flatten, tree_map, tree_unflatten
from ..devices.array_module import get_array_module, on_device_of
from ..intercept import instrument
from ..ops.shape import moveaxis, reshape
from ..precision.dtypes import is_float_dtype
from .argnums import accepts_argnums
from .batching import vmap
from .forward import jvp
from .reverse import _vjp, _with_kwargs, grad


def _dtype(x):
    return x.dtype if isinstance(x, Tracer) or hasattr(x, "dtype") else np.result_type(x)


def _size(x):
    return int(np.prod(np.shape(x), dtype=np.int64))


def _zeros_like(x):
    return get_array_module(x).zeros(np.shape(x), _dtype(x))


def _float_dtype(x):
    dt = _dtype(x)
    return dt if is_float_dtype(dt) else np.dtype(np.float64)


def _basis(shape, dtype):
    """The standard basis of arrays of ``shape``, stacked: shape ``(size,) + shape``."""
    n = int(np.prod(shape, dtype=np.int64))
    return np.eye(n, dtype=dtype).reshape((n,) + tuple(shape))


def _unstack(oshape, lead, rows):
    """Rows ``lead + in_shape`` (``lead`` is ``(n,)`` or ``()``) as ``oshape + in_shape``."""
    return reshape(rows, oshape + np.shape(rows)[len(lead):])


@accepts_argnums
def jacrev(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The Jacobian by reverse mode: one vectorised VJP over every output direction.

    The result has the output's structure; each output leaf holds the input's
    structure with leaves of shape ``out_leaf.shape + in_leaf.shape``.

    >>> import numpy as np, gradlab as gl
    >>> gl.jacrev(lambda x: x[:2] * x[2])(np.array([1.0, 2.0, 3.0])).tolist()
    [[3.0, 0.0, 1.0], [0.0, 3.0, 2.0]]
    """

    @functools.wraps(fun)
    def jac(*args, **kwargs):  # keyword arguments are passed through, not differentiated
        out, _, backward = _vjp(_with_kwargs(fun, kwargs), args, argnum, False, retain=True)
        out_leaves, out_tree = tree_flatten(out)
        blocks = []
        for k, o in enumerate(out_leaves):
            def pull(seed, k=k):
                cts = [seed if j == k else _zeros_like(p) for j, p in enumerate(out_leaves)]
                return backward(tree_unflatten(out_tree, cts))

            basis = on_device_of(o, _basis(np.shape(o), _float_dtype(o)))
            # One output direction (a scalar loss: the gradient) needs no batch level.
            rows = pull(basis[0]) if len(basis) == 1 else vmap(pull)(basis)
            lead = () if len(basis) == 1 else (len(basis),)
            blocks.append(tree_map(functools.partial(_unstack, np.shape(o), lead), rows))
        return tree_unflatten(out_tree, blocks)

    return jac


@accepts_argnums
def jacfwd(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The Jacobian by forward mode: one vectorised JVP over every input direction.

    Same layout as ``jacrev``; cheaper when the input is smaller than the output.

    >>> import numpy as np, gradlab as gl
    >>> gl.jacfwd(lambda x: np.sin(x))(np.array([0.0, 0.0])).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    @functools.wraps(fun)
    def jac(*args, **kwargs):  # keyword arguments are passed through, not differentiated
        f = instrument(_with_kwargs(fun, kwargs))  # behind gradlab's of_leaves below
        leaves, tree = tree_flatten(args[argnum])
        leaves = [x if isinstance(x, Tracer) or hasattr(x, "__array_function__")
                  else np.asarray(x) for x in leaves]  # CuPy arrays stay on their device
        sizes = [_size(x) for x in leaves]
        n = sum(sizes)
        basis, offset = [], 0
        for x, s in zip(leaves, sizes):
            b = np.zeros((n, s), _float_dtype(x))
            b[offset:offset + s] = np.eye(s)
            basis.append(on_device_of(x, b.reshape((n,) + np.shape(x))))
            offset += s

        def of_leaves(*xs):
            return f(*args[:argnum], tree_unflatten(tree, xs), *args[argnum + 1:])

        def push(*ts):
            return jvp(of_leaves, tuple(leaves), ts)[1]

        if n == 1:  # one input direction: a plain JVP, no batch level
            return tree_map(lambda c: tree_unflatten(tree, [reshape(
                c, np.shape(c) + np.shape(leaves[0]))]), push(*(b[0] for b in basis)))
        cols = vmap(push)(*basis)  # output structure, leaves (n,) + out_shape

        def split(c):
            oshape = np.shape(c)[1:]
            c = moveaxis(c, 0, -1)
            if len(leaves) == 1:
                return tree_unflatten(tree, [reshape(c, oshape + np.shape(leaves[0]))])
            parts, start = [], 0
            for x, s in zip(leaves, sizes):
                parts.append(reshape(c[..., start:start + s], oshape + np.shape(x)))
                start += s
            return tree_unflatten(tree, parts)

        return tree_map(split, cols)

    return jac


@accepts_argnums
def hessian(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The Hessian of a scalar function, forward-over-reverse (``jacfwd(jacrev(f))``).

    >>> import numpy as np, gradlab as gl
    >>> gl.hessian(lambda x, y: np.sum(x * x * y), argnum=1)(np.ones(2), np.ones(2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    return jacfwd(jacrev(fun, argnum), argnum)


def hvp(fun: Callable[..., Any], x: Any, v: Any) -> Any:
    """``H(x) @ v`` for scalar ``fun``: forward mode over the gradient (about 2 gradients).

    ``x`` and ``v`` may be pytrees of the same structure.

    >>> import numpy as np, gradlab as gl
    >>> gl.hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 1.0])).tolist()
    [6.0, 12.0]
    """
    return jvp(grad(fun), (x,), (v,))[1]


@accepts_argnums
def hessian_vector_product(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """autograd's spelling: a function of ``(*args, vector)`` returning ``H @ vector``.

    >>> import numpy as np, gradlab as gl
    >>> hv = gl.hessian_vector_product(lambda x: np.sum(x ** 3))
    >>> hv(np.array([1.0, 2.0]), np.array([0.0, 1.0])).tolist()
    [0.0, 12.0]
    """

    @functools.wraps(fun)
    def product(*args):
        args, vector = args[:-1], args[-1]
        f = instrument(fun)  # the user's function, behind gradlab's of_x below

        def of_x(x):
            return f(*args[:argnum], x, *args[argnum + 1:])

        return hvp(of_x, args[argnum], vector)

    return product


@accepts_argnums
def make_hvp(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``make_hvp(f)(*args) -> (hvp_fn, grad_value)``: many products at one point.

    The gradient's tape is recorded once; each ``hvp_fn(v)`` is one reverse pass
    over it (H is symmetric, so the VJP of the gradient is the HVP).

    >>> import numpy as np, gradlab as gl
    >>> hv, g = gl.make_hvp(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    >>> hv(np.array([1.0, 0.0])).tolist(), g.tolist()
    ([6.0, 0.0], [3.0, 12.0])
    """

    def maker(*args):
        g, _, backward = _vjp(grad(fun, argnum), args, argnum, False, retain=True)
        return backward, g

    return maker


@accepts_argnums
def tensor_jacobian_product(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """A function of ``(*args, tensor)``: ``tensor`` contracted with the Jacobian's lead axes.

    With ``tensor`` of the output's shape this is a VJP (one reverse pass); a tensor
    over the leading output axes only leaves the remaining ones.

    >>> import numpy as np, gradlab as gl
    >>> tjp = gl.tensor_jacobian_product(lambda x: np.sin(x))
    >>> tjp(np.zeros(2), np.array([2.0, 3.0])).tolist()
    [2.0, 3.0]
    """
    @functools.wraps(fun)
    def product(*args):
        args, tensor = args[:-1], args[-1]
        k = np.ndim(tensor)
        f = instrument(fun)  # the user's function, behind gradlab's contracted below

        def contracted(*a):
            out = f(*a)
            oshape = np.shape(out)
            if oshape[:k] != np.shape(tensor):
                raise ValueError(f"tensor_jacobian_product: tensor shape {np.shape(tensor)} is "
                                 f"not a prefix of the output shape {oshape}")
            flat = reshape(out, (_size(tensor), -1))
            return reshape(reshape(tensor, (1, -1)) @ flat, oshape[k:])

        out, _, backward = _vjp(contracted, args, argnum, False, retain=True)
        if np.shape(out) == ():
            return backward(np.ones((), _float_dtype(out)))
        return jacrev(contracted, argnum)(*args)

    return product


def linearize(fun: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(fun(*primals), f_jvp)``: ``f_jvp(*tangents)`` is ``J @ tangents``, without rerunning f.

    ``fun`` runs once; each ``f_jvp`` call is one reverse pass over the recorded
    VJP (the VJP is linear in its cotangent, and the transpose of a transpose is
    the JVP).

    >>> import numpy as np, gradlab as gl
    >>> out, f_jvp = gl.linearize(np.sin, 0.0)
    >>> float(out), float(f_jvp(2.0))
    (0.0, 2.0)
    """
    primals = tuple(tree_map(_as_float_leaf, p) for p in primals)  # pytrees too
    out, _, backward = _vjp(fun, primals, tuple(range(len(primals))), False, retain=True)
    out_leaves, out_tree = tree_flatten(out)
    zero_ct = tree_unflatten(out_tree, [_zeros_like(o) for o in out_leaves])
    _, _, transposed = _vjp(backward, (zero_ct,), 0, False, retain=True)

    def f_jvp(*tangents):
        if len(tangents) != len(primals):
            raise TypeError(f"f_jvp takes {len(primals)} tangents (one per primal), got "
                            f"{len(tangents)}")
        return transposed(tuple(tangents))

    return out, f_jvp


def _as_float_leaf(p):
    return p if isinstance(p, Tracer) else np.asarray(p, dtype=_float_dtype(p))


def make_ggnvp(f: Callable[..., Any], g: Callable[..., Any] | None = None,
               f_argnum: int = 0) -> Callable[..., Any]:
    """Generalised Gauss-Newton products: ``make_ggnvp(f, g)(*args)(v) = J^T H_g J v``.

    ``J`` is the Jacobian of ``f`` at ``args`` and ``H_g`` the Hessian of the scalar
    ``g`` at ``f(*args)`` (default ``g(y) = sum(y**2) / 2``, so ``H_g = I``).

    >>> import numpy as np, gradlab as gl
    >>> ggn = gl.make_ggnvp(lambda w: 2.0 * w)(np.ones(2))
    >>> ggn(np.array([1.0, 0.0])).tolist()
    [4.0, 0.0]
    """
    if g is None:
        def g(y):
            return 0.5 * np.sum(y * y)

    def maker(*args):
        x = args[f_argnum]
        f_user = instrument(f)  # the user's function, behind gradlab's f_of_x below

        def f_of_x(z):
            return f_user(*args[:f_argnum], z, *args[f_argnum + 1:])

        f_x, f_jvp = linearize(f_of_x, x)
        _, _, f_vjp = _vjp(f_of_x, (x,), 0, False, retain=True)

        def ggnvp(v):
            return f_vjp(hvp(g, f_x, f_jvp(v)))

        return ggnvp

    return maker


@accepts_argnums
def jacobian(fun: Callable[..., Any], argnum: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """The full Jacobian, shape ``out.shape + x.shape``: autograd's name for ``jacrev``
    (one vectorised reverse pass over every output direction).

    >>> import numpy as np, gradlab as gl
    >>> gl.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    jac = jacrev(fun, argnum)

    @functools.wraps(fun)
    def jacobian_fun(*args, **kwargs):
        return jacrev(_with_kwargs(fun, kwargs), argnum)(*args) if kwargs else jac(*args)

    return jacobian_fun
