"""``np.linalg.tensorinv`` and ``tensorsolve`` (reshapes around ``inv``/``solve``), and
``np.real_if_close``.

>>> import numpy as np, gradlab as gl
>>> a = np.eye(4).reshape(4, 2, 2) * 2.0
>>> gl.grad(lambda a: np.sum(np.linalg.tensorinv(a, ind=1)))(a).shape
(4, 2, 2)
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import implements
from ..core.trace import concrete
from .complex import is_complex, real
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


@implements(np.real_if_close, examples=lambda rng: [
    ((rng.normal(size=3) + 1e-18j,), {}), ((rng.normal(size=3) + 0.5j,), {})])
def real_if_close(a, tol=100):
    """``np.real_if_close``: the real part when every imaginary part is nearly zero.

    "Nearly" is ``tol`` machine epsilons; the choice reads the value, so not under ``vmap``.
    """
    if not is_complex(a):
        return a
    value = np.asarray(concrete(a, "np.real_if_close"))
    limit = tol * np.finfo(value.dtype).eps if tol > 1 else tol
    return real(a) if np.all(np.abs(value.imag) < limit) else a
