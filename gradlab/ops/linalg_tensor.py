"""``np.linalg.tensorinv`` and ``tensorsolve`` (reshapes around ``inv``/``solve``),
``vector_norm``, ``matrix_norm`` and ``cond`` (compositions of ``norm`` and singular
values).

>>> import numpy as np, gradlab as gl
>>> a = np.eye(4).reshape(4, 2, 2) * 2.0
>>> gl.grad(lambda a: np.sum(np.linalg.tensorinv(a, ind=1)))(a).shape
(4, 2, 2)
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import implements
from .linalg_decomp import norm, svdvals_p
from .linalg_solve import inv_p, solve_p, well_conditioned
from .shape import reshape, transpose


@implements(np.linalg.tensorinv, examples=lambda rng: [
    ((well_conditioned(rng, 6, 6).reshape(6, 2, 3),), {"ind": 1}),
    ((well_conditioned(rng, 4, 4).reshape(2, 2, 2, 2),), {})])
def tensorinv(a, ind=2):
    """``np.linalg.tensorinv``: the inverse of ``a`` read as a square matrix, reshaped back.

    The first ``ind`` axes are the matrix's rows, the rest its columns.
    """
    shape = tuple(np.shape(a))
    rows = int(np.prod(shape[:ind], dtype=np.int64))
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    inverse = inv_p(reshape(a, (rows, -1)))
    return reshape(inverse, shape[ind:] + shape[:ind])


@implements(np.linalg.tensorsolve, examples=lambda rng: [
    ((well_conditioned(rng, 6, 6).reshape(2, 3, 6), rng.normal(size=(2, 3))), {}),
    ((well_conditioned(rng, 4, 4).reshape(2, 2, 2, 2), rng.normal(size=(2, 2))),
     {"axes": (0,)})])
def tensorsolve(a, b, axes=None):
    """``np.linalg.tensorsolve``: ``x`` with ``tensordot(a, x, x.ndim) == b``."""
    an = np.ndim(a)
    if axes is not None:
        order = [k for k in range(an) if k not in [ax % an for ax in axes]]
        order += [ax % an for ax in axes]
        a = transpose(a, order)
    solution_shape = tuple(np.shape(a))[np.ndim(b):]
    n = int(np.prod(solution_shape, dtype=np.int64))
    if int(np.prod(np.shape(a), dtype=np.int64)) != n * n:
        raise np.linalg.LinAlgError(
            "Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) == "
            "prod(a.shape[:b.ndim])")
    x = solve_p(reshape(a, (n, n)), reshape(b, (n,)))
    return reshape(x, solution_shape)


# --- numpy 2's vector_norm / matrix_norm, and cond ------------------------------------------


def _norm_examples(rng):
    x = rng.normal(size=(2, 3, 4))
    return [((x,), {}), ((x,), {"axis": (0, 2), "ord": 3}), ((x,), {"axis": 1, "keepdims": True})]


if hasattr(np.linalg, "vector_norm"):  # numpy >= 2
    @implements(np.linalg.vector_norm, examples=_norm_examples)
    def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
        """``np.linalg.vector_norm``: a vector norm over ``axis`` (all axes by default)."""
        nd = np.ndim(x)
        axes = tuple(range(nd)) if axis is None else (
            (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis))
        axes = tuple(int(a) % nd for a in axes)
        rest = [a for a in range(nd) if a not in axes]
        moved = transpose(x, rest + list(axes))
        lead = tuple(np.shape(moved)[:len(rest)])
        flat = reshape(moved, lead + (-1,))
        out = norm(flat, ord=ord, axis=-1)
        if keepdims:
            out = reshape(out, tuple(1 if a in axes else n for a, n in enumerate(np.shape(x))))
        return out

    @implements(np.linalg.matrix_norm, examples=lambda rng: [
        ((rng.normal(size=(2, 3, 3)),), {}), ((rng.normal(size=(3, 4)),), {"ord": "nuc"}),
        ((rng.normal(size=(3, 4)),), {"ord": 1, "keepdims": True})])
    def matrix_norm(x, /, *, keepdims=False, ord="fro"):
        """``np.linalg.matrix_norm``: ``norm`` over the last two axes."""
        return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


@implements(np.linalg.cond, examples=lambda rng: [
    ((well_conditioned(rng, 3, 3),), {}), ((well_conditioned(rng, 2, 3, 3),), {"p": "fro"}),
    ((rng.normal(size=(4, 3)),), {})])
def cond(x, p=None):
    """``np.linalg.cond``: ``s_max / s_min`` by singular values, else ``|x| |x^-1|``."""
    if p is None or p == 2 or p == -2:
        s = svdvals_p(x)
        ratio = s[..., 0] / s[..., -1]
        return 1.0 / ratio if p == -2 else ratio
    return norm(x, ord=p, axis=(-2, -1)) * norm(inv_p(x), ord=p, axis=(-2, -1))
