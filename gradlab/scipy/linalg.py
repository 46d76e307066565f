"""``scipy.linalg``'s common solvers and factorisations, as exact compositions of
gradlab's numpy.linalg primitives (so every derivative order and transform comes free).

>>> import numpy as np, scipy.linalg, gradlab as gl
>>> a = np.array([[2.0, 0.0], [1.0, 3.0]])
>>> g = gl.grad(lambda b: np.sum(scipy.linalg.solve_triangular(a, b, lower=True)))(np.ones(2))
>>> np.allclose(g, np.linalg.solve(np.tril(a).T, np.ones(2)))
True

A triangular solve here costs a general solve (O(n^3), not O(n^2)). Arguments that only
tune LAPACK (``overwrite_*``, ``check_finite``) are accepted and ignored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sl

from .._types import Array
from ..core.primitive import implements, table_entry


def _np(fn):
    """gradlab's version of the numpy function ``fn`` (the interception table's entry)."""
    return table_entry(fn)  # numpy.linalg's rules may not be declared yet


def _square(rng, n=3):
    m = rng.normal(size=(n, n))
    return m @ m.T + n * np.eye(n)


@implements(sl.solve, examples=lambda rng: [((_square(rng), rng.normal(size=3)), {}),
                                            ((_square(rng), rng.normal(size=(3, 2))), {})])
def solve(a: Array, b: Array, lower: bool = False, overwrite_a: bool = False,
          overwrite_b: bool = False, check_finite: bool = True, assume_a: str | None = None,
          transposed: bool = False) -> Array:
    """``scipy.linalg.solve``: ``x`` with ``a @ x = b`` (``a.T @ x = b`` if ``transposed``).

    With ``assume_a`` "sym", "her" or "pos", only ``a``'s upper (``lower``: lower)
    triangle is read, as SciPy does.
    """
    if assume_a in ("sym", "her", "pos", "symmetric", "hermitian", "positive definite"):
        a = _symmetric_from(a, lower, hermitian=assume_a != "sym")
    elif transposed:
        a = _np(np.swapaxes)(a, -1, -2)
    return _np(np.linalg.solve)(a, b)


def _symmetric_from(a, lower, hermitian=True):
    """The symmetric (Hermitian) matrix whose lower (upper) triangle is ``a``'s."""
    t = _np(np.tril)(a) if lower else _np(np.triu)(a)
    off = _np(np.tril)(a, -1) if lower else _np(np.triu)(a, 1)
    other = _np(np.swapaxes)(off, -1, -2)
    return t + (_np(np.conj)(other) if hermitian else other)


@implements(sl.inv, examples=lambda rng: [((_square(rng),), {})])
def inv(a: Array, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """``scipy.linalg.inv``."""
    return _np(np.linalg.inv)(a)


@implements(sl.det, examples=lambda rng: [((_square(rng),), {})])
def det(a: Array, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """``scipy.linalg.det``."""
    return _np(np.linalg.det)(a)


def _upper(lower_factor):
    return _np(np.conj)(_np(np.swapaxes)(lower_factor, -1, -2))


@implements(sl.cholesky, examples=lambda rng: [((_square(rng),), {}),
                                               ((_square(rng),), {"lower": True})])
def cholesky(a: Array, lower: bool = False, overwrite_a: bool = False,
             check_finite: bool = True) -> Array:
    """``scipy.linalg.cholesky``: the upper factor ``U`` (``a = U^H U``) unless ``lower``.

    Like SciPy, it reads only the triangle it returns (numpy's reads the lower one).
    """
    if lower:
        return _np(np.linalg.cholesky)(a)
    return _upper(_np(np.linalg.cholesky)(_upper(a)))  # a's upper triangle, as the lower


def _triangle(a, lower, unit_diagonal):
    t = _np(np.tril)(a) if lower else _np(np.triu)(a)
    if unit_diagonal:  # the diagonal is taken as ones, whatever a holds there
        n = np.shape(a)[-1]
        t = t - t * np.eye(n) + np.eye(n)
    return t


@implements(sl.solve_triangular, examples=lambda rng: [
    ((_square(rng), rng.normal(size=3)), {"lower": True}),
    ((_square(rng), rng.normal(size=(3, 2))), {"trans": "T"}),
    ((_square(rng), rng.normal(size=3)), {"lower": True, "unit_diagonal": True})])
def solve_triangular(a: Array, b: Array, trans: int | str = 0, lower: bool = False,
                     unit_diagonal: bool = False, overwrite_b: bool = False,
                     check_finite: bool = True) -> Array:
    """``scipy.linalg.solve_triangular``: only ``a``'s lower (or upper) triangle is read."""
    t = _triangle(a, lower, unit_diagonal)
    if trans in (1, "T"):
        t = _np(np.swapaxes)(t, -1, -2)
    elif trans in (2, "C"):
        t = _upper(t)
    return _np(np.linalg.solve)(t, b)


@implements(sl.cho_factor)
def cho_factor(a: Array, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Array, bool]:
    """``scipy.linalg.cho_factor``: ``(c, lower)`` for ``cho_solve``; like SciPy's, ``c``
    keeps ``a``'s entries in the triangle the factor does not use."""
    if lower:
        return cholesky(a, lower=True) + _np(np.triu)(a, 1), True
    return cholesky(a) + _np(np.tril)(a, -1), False


@implements(sl.cho_solve)
def cho_solve(c_and_lower: tuple[Any, bool], b: Array, overwrite_b: bool = False,
              check_finite: bool = True) -> Array:
    """``scipy.linalg.cho_solve``: ``x`` with ``a @ x = b`` from ``cho_factor(a)``."""
    c, lower = c_and_lower
    factor = _np(np.tril)(c) if lower else _upper(_np(np.triu)(c))  # the lower factor L
    y = _np(np.linalg.solve)(factor, b)
    return _np(np.linalg.solve)(_upper(factor), y)
