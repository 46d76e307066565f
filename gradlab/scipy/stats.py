"""``scipy.stats``: the normal distribution's functions and ``multivariate_normal.logpdf``.

``scipy.stats.norm`` is one object (a distribution *generator* instance), and
``norm.logpdf`` is a bound method made afresh at every attribute access; bound
methods compare and hash by ``(instance, function)``, so the interception table
keyed by one of them matches every later ``norm.logpdf``. Everything here is a
composition of gradlab primitives, so ``loc``/``scale``/``mean``/``cov`` are
differentiable as well.

>>> import numpy as np, gradlab as gl
>>> from scipy.stats import norm
>>> float(gl.grad(norm.logpdf)(0.5))   # d/dx of -x^2/2
-0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.stats as st

from .._types import Array
from ..core.errors import NoRuleError, user_location
from ..core.primitive import implements
from ..ops.elementwise import exp, log
from ..ops.linalg_decomp import cholesky_p
from ..ops.linalg_solve import diag_embed, diagonal, solve_p
from ..ops.reduce import sum as sum_
from ..ops.shape import expand_dims, reshape
from .special import log_ndtr, ndtr, ndtri

_LOG_2PI = math.log(2.0 * math.pi)


def _standardise(x, loc, scale):
    return (x - loc) / scale


def _norm_examples(rng):
    x = rng.normal(size=(2, 3))
    return [((x,), {}), ((x, 0.3, 1.7), {}), ((x,), {"loc": rng.normal(size=3), "scale": 2.0})]


@implements(st.norm.logpdf, examples=_norm_examples)
def norm_logpdf(x: Array, loc: Array = 0.0, scale: Array = 1.0) -> Array:
    """``scipy.stats.norm.logpdf``."""
    z = _standardise(x, loc, scale)
    return -0.5 * (z * z) - log(scale) - 0.5 * _LOG_2PI


@implements(st.norm.pdf, examples=_norm_examples)
def norm_pdf(x: Array, loc: Array = 0.0, scale: Array = 1.0) -> Array:
    """``scipy.stats.norm.pdf``."""
    return exp(norm_logpdf(x, loc, scale))


@implements(st.norm.cdf, examples=_norm_examples)
def norm_cdf(x: Array, loc: Array = 0.0, scale: Array = 1.0) -> Array:
    """``scipy.stats.norm.cdf``."""
    return ndtr(_standardise(x, loc, scale))


@implements(st.norm.logcdf, examples=_norm_examples)
def norm_logcdf(x: Array, loc: Array = 0.0, scale: Array = 1.0) -> Array:
    """``scipy.stats.norm.logcdf`` (finite and accurate far into the left tail)."""
    return log_ndtr(_standardise(x, loc, scale))


@implements(st.norm.sf, examples=_norm_examples)
def norm_sf(x: Array, loc: Array = 0.0, scale: Array = 1.0) -> Array:
    """``scipy.stats.norm.sf``: ``1 - cdf``, computed as ``cdf(-z)``."""
    return ndtr(-_standardise(x, loc, scale))


@implements(st.norm.logsf, examples=_norm_examples)
def norm_logsf(x: Array, loc: Array = 0.0, scale: Array = 1.0) -> Array:
    """``scipy.stats.norm.logsf``."""
    return log_ndtr(-_standardise(x, loc, scale))


@implements(st.norm.ppf,
            examples=lambda rng: [((rng.uniform(0.1, 0.9, size=3),), {}),
                                  ((rng.uniform(0.1, 0.9, size=3), 1.0, 2.0), {})])
def norm_ppf(q: Array, loc: Array = 0.0, scale: Array = 1.0) -> Array:
    """``scipy.stats.norm.ppf``: the quantile function."""
    return loc + scale * ndtri(q)


# --- frozen distributions: norm(loc, scale).logpdf(x), t(df).cdf(x) ----------------------

_NORM_METHODS = {"logpdf": norm_logpdf, "pdf": norm_pdf, "cdf": norm_cdf,
                 "logcdf": norm_logcdf, "sf": norm_sf, "logsf": norm_logsf, "ppf": norm_ppf}
# distribution generator class (type(scipy.stats.t)) -> {method name: gradlab function}
DISTRIBUTIONS: dict[type, dict] = {}


class FrozenDistribution:
    """What ``scipy.stats.<dist>(*params)`` gives in traced code when a parameter is traced."""

    def __init__(self, name: str, methods: dict[str, Callable], args: tuple,
                 kwds: dict[str, Any]):
        self.name, self.methods, self.args, self.kwds = name, methods, args, kwds

    def __getattr__(self, name):
        method = self.__dict__["methods"].get(name)
        if method is None:
            raise AttributeError(f"gradlab's frozen {self.__dict__['name']} distribution has "
                                 f"no {name!r}")
        return lambda x: method(x, *self.args, **self.kwds)


def _frozen_method(name):
    """``rv_frozen.<name>``: a frozen distribution's method (constant parameters, traced x)."""

    def frozen(self, x):
        method = DISTRIBUTIONS.get(type(self.dist), {}).get(name)
        if method is None:
            raise NoRuleError(
                f"{type(self.dist).__name__[:-4]}(...).{name} has no gradlab rule (see "
                f"docs/ops.md for the distributions covered) at {user_location()}")
        return method(x, *self.args, **self.kwds)

    frozen.__name__ = f"frozen_{name}"
    return frozen


_FROZEN_DECLARED: set = set()


def register_distribution(generator: Any, methods: dict[str, Callable],
                          frozen_class: type | None = None) -> None:
    """Declare ``generator``'s methods for frozen use: ``st.t(df).logpdf(x)`` (constant df,
    through the frozen class's methods) and ``st.t(traced_df)`` (a ``FrozenDistribution``)."""
    DISTRIBUTIONS[type(generator)] = methods
    name = generator.name

    def freeze(*args, **kwds):
        return FrozenDistribution(name, methods, args, kwds)

    freeze.__name__ = freeze.__qualname__ = f"{name}_freeze"
    freeze.__doc__ = f"``scipy.stats.{name}(...)`` with traced parameters: a frozen {name}."
    implements(generator)(freeze)
    frozen_class = frozen_class or type(st.norm())
    for method in methods:
        key = getattr(frozen_class, method, None)
        if key is not None and key not in _FROZEN_DECLARED:
            _FROZEN_DECLARED.add(key)
            implements(key)(_frozen_method(method))


register_distribution(st.norm, _NORM_METHODS)


# --- multivariate normal ----------------------------------------------------------


def _mvn_parameters(mean, cov):
    """scipy's conventions: the dimension from ``mean`` or ``cov``; scalar/1-D ``cov``."""
    if mean is not None and np.ndim(mean) > 1:
        raise ValueError("Array 'mean' must be a vector of length dim.")
    dim = (np.size(mean) if mean is not None else np.shape(cov)[0] if np.ndim(cov) == 2
           else 1)
    if np.ndim(cov) == 1 and np.shape(cov)[0] != dim:
        raise ValueError(f"Array 'cov' must be of shape ({dim}, {dim}) or a vector of length "
                         f"{dim}, got shape {np.shape(cov)}")
    if mean is None:
        mean = np.zeros(dim)
    if np.ndim(cov) == 0:
        cov = cov * np.eye(dim)
    elif np.ndim(cov) == 1:
        cov = diag_embed(cov)
    return dim, mean, cov


def _mvn_examples(rng):
    b = rng.normal(size=(3, 3))
    cov = b @ b.T + 3 * np.eye(3)
    return [((rng.normal(size=3), rng.normal(size=3), cov), {}),
            ((rng.normal(size=(4, 3)), np.zeros(3), cov), {}),
            ((rng.normal(size=(2, 2)), rng.normal(size=2), rng.uniform(1.0, 2.0, size=2)), {}),
            ((rng.normal(size=5),), {"mean": 0.5, "cov": 2.0})]


@implements(st.multivariate_normal.logpdf, examples=_mvn_examples)
def multivariate_normal_logpdf(x: Array, mean: Array | None = None, cov: Array = 1,
                               allow_singular: bool = False) -> Array:
    """``scipy.stats.multivariate_normal.logpdf``, by a Cholesky factor of ``cov``.

    ``cov`` must be positive definite (``allow_singular`` singular covariances have no
    derivative here). Like scipy, only the lower triangle of ``cov`` is read, and a
    1-D ``x`` is one point (or, in one dimension, a set of points).

    >>> import numpy as np, gradlab as gl
    >>> from scipy.stats import multivariate_normal as mvn
    >>> gl.grad(lambda x: mvn.logpdf(x, np.zeros(2), np.eye(2)))(np.array([1.0, 2.0])).tolist()
    [-1.0, -2.0]
    """
    if mean is not None and np.ndim(mean) == 0:
        mean = reshape(mean, (1,)) if hasattr(mean, "shape") else np.array([mean], float)
    dim, mean, cov = _mvn_parameters(mean, cov)
    if np.ndim(x) == 0:
        x = reshape(x, (1,)) if hasattr(x, "shape") else np.array([x], float)
    elif np.ndim(x) == 1:
        x = expand_dims(x, -1 if dim == 1 else 0)
    chol = cholesky_p(cov)
    z = solve_p(chol, expand_dims(x - mean, -1))[..., 0]
    log_det = 2.0 * sum_(log(diagonal(chol)), axis=-1)
    out = -0.5 * (dim * _LOG_2PI + log_det + sum_(z * z, axis=-1))
    return reshape(out, tuple(n for n in np.shape(out) if n != 1))


@implements(st.multivariate_normal.entropy, examples=lambda rng: [
    ((), {"cov": _mvn_examples(rng)[0][0][2]}), ((rng.normal(size=2), np.diag([1.0, 3.0])), {})])
def multivariate_normal_entropy(mean: Array | None = None, cov: Array = 1) -> Array:
    """``scipy.stats.multivariate_normal.entropy``: ``(dim (1 + log 2 pi) + log det cov) / 2``."""
    dim, _, cov = _mvn_parameters(mean, cov)
    log_det = 2.0 * sum_(log(diagonal(cholesky_p(cov))), axis=-1)
    return 0.5 * (dim * (1.0 + _LOG_2PI) + log_det)


@implements(st.multivariate_normal.pdf, examples=_mvn_examples)
def multivariate_normal_pdf(x: Array, mean: Array | None = None, cov: Array = 1,
                            allow_singular: bool = False) -> Array:
    """``scipy.stats.multivariate_normal.pdf``."""
    return exp(multivariate_normal_logpdf(x, mean, cov, allow_singular))


_MVN_METHODS = {"logpdf": multivariate_normal_logpdf, "pdf": multivariate_normal_pdf}


@implements(st.multivariate_normal)
def multivariate_normal_freeze(mean: Array | None = None, cov: Array = 1,
                               allow_singular: bool = False,
                               seed: Any = None) -> FrozenDistribution:
    """``scipy.stats.multivariate_normal(mean, cov)`` with traced parameters."""
    return FrozenDistribution("multivariate_normal", _MVN_METHODS, (),
                              {"mean": mean, "cov": cov, "allow_singular": allow_singular})


def _frozen_mvn_method(name):
    """``multivariate_normal(mean, cov).<name>(x)`` with constant parameters, traced x."""
    method = _MVN_METHODS[name]

    def frozen(self, x):
        return method(x, self.mean, self.cov)

    frozen.__name__ = f"frozen_multivariate_normal_{name}"
    return frozen


for _name in _MVN_METHODS:
    implements(getattr(type(st.multivariate_normal(np.zeros(1))), _name))(
        _frozen_mvn_method(_name))


# The other distributions (t, chi2, beta, gamma, ...), declared with this module.
from . import distributions  # noqa: E402, F401
