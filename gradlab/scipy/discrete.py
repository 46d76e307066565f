"""``scipy.stats`` discrete distributions: ``bernoulli``, ``binom``, ``nbinom``, ``geom``
and ``multinomial`` (``poisson`` is in ``distributions``), differentiable in their
continuous parameters.

``pmf``/``logpmf``/``cdf``/``logcdf``/``sf``/``logsf`` (``pmf``/``logpmf`` for
``multinomial``) are compositions of gradlab primitives with SciPy's formulas, so the
values are SciPy's: ``-inf`` log-mass off the support (a count that is negative,
above ``n`` or not an integer), NaN for invalid parameters, and a zero derivative
there. The counts ``k`` are data; the derivative is taken in ``p`` (every method), and
in ``nbinom``'s real ``n`` for the mass functions. The cdfs of ``binom`` and ``nbinom``
are regularised incomplete beta functions of ``p``: a traced ``n`` there raises
``NoRuleError`` (no closed-form derivative in the shape parameter).

>>> import numpy as np, gradlab as gl
>>> from scipy.stats import bernoulli
>>> float(gl.grad(lambda p: bernoulli.logpmf(1, p))(0.25))   # d/dp log p
4.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.stats as st

from .._types import Array
from ..core.primitive import implements
from ..ops.constants import all_, any_
from ..ops.elementwise import exp, expm1, floor, log, log1p, where
from ..ops.reduce import sum as sum_
from . import stats as _stats
from .distributions import bind_parameters
from .incomplete import betainc
from .special import gammaln, xlog1py, xlogy

_NEG_INF = -np.inf


def _both(a, b):
    return where(a, b, False)


def _is_int(x):
    return floor(x) == x


# --- the standard forms: functions of the shifted count j = k - loc ---------------------
# logpmf(j, *shapes) for j inside the support; cdf/sf(j, *shapes) for an integer j with
# lo <= j < hi (the caller gives 0/1 outside); valid(*shapes): scipy's _argcheck.


def _binom_logpmf(j, n, p):
    return gammaln(n + 1.0) - (gammaln(j + 1.0) + gammaln(n - j + 1.0)) + xlogy(j, p) \
        + xlog1py(n - j, -p)


def _nbinom_logpmf(j, n, p):
    return gammaln(n + j) - gammaln(j + 1.0) - gammaln(n) + n * log(p) + xlog1py(j, -p)


def _nbinom_logcdf(j, n, p):
    """scipy's: ``log1p(-sf)`` where the cdf is above 1/2 (accurate near 1)."""
    cdf = betainc(n, j + 1.0, p)
    return where(cdf > 0.5, log1p(-betainc(j + 1.0, n, 1.0 - p)), log(cdf))


DISCRETE: dict[str, tuple[Any, ...]] = {
    # name: (shape names, support (lo, hi(shapes)), valid(shapes), {method: standard form})
    "bernoulli": (("p",), (0, lambda p: 1), lambda p: _both(p >= 0, p <= 1), {
        "logpmf": lambda j, p: xlogy(j, p) + xlog1py(1.0 - j, -p),
        "cdf": lambda j, p: 1.0 - p, "sf": lambda j, p: p + 0.0}),
    "binom": (("n", "p"), (0, lambda n, p: n),
              lambda n, p: _both(_both(n >= 0, _is_int(n)), _both(p >= 0, p <= 1)), {
        "logpmf": _binom_logpmf,
        "cdf": lambda j, n, p: betainc(n - j, j + 1.0, 1.0 - p),
        "sf": lambda j, n, p: betainc(j + 1.0, n - j, p)}),
    "nbinom": (("n", "p"), (0, lambda n, p: np.inf),
               lambda n, p: _both(n > 0, _both(p > 0, p <= 1)), {
        "logpmf": _nbinom_logpmf,
        "cdf": lambda j, n, p: betainc(n, j + 1.0, p),
        "sf": lambda j, n, p: betainc(j + 1.0, n, 1.0 - p), "logcdf": _nbinom_logcdf}),
    "geom": (("p",), (1, lambda p: np.inf), lambda p: _both(p > 0, p <= 1), {
        "logpmf": lambda j, p: xlog1py(j - 1.0, -p) + log(p),
        "cdf": lambda j, p: -expm1(log1p(-p) * j), "sf": lambda j, p: exp(j * log1p(-p)),
        "logsf": lambda j, p: j * log1p(-p)}),
}


def _mass(std, lo, hi, j, shapes):
    """``logpmf`` at the shifted count ``j``: ``-inf`` off the support."""
    inside = _both(_both(j >= lo, j <= hi), _is_int(j))
    return where(inside, std["logpmf"](where(inside, j, lo), *shapes), _NEG_INF)


def _tail(std, method, lo, hi, j, shapes):
    """``cdf``/``sf`` (and their logs) at ``j``: exact 0/1 (or their logs) off the range."""
    kind, logged = method.removeprefix("log"), method.startswith("log")
    j = floor(j)
    inside = _both(j >= lo, j < hi)
    safe = where(inside, j, lo)
    fn = std.get(method)
    value = fn(safe, *shapes) if fn is not None else std[kind](safe, *shapes)
    if logged and fn is None:
        value = log(value)
    below, above = (0.0, 1.0) if kind == "cdf" else (1.0, 0.0)
    if logged:
        below, above = (_NEG_INF if b == 0.0 else 0.0 for b in (below, above))
    return where(inside, value, where(j < lo, below, above))


def discrete_method(dist: str, method: str, shapes: tuple, support: tuple, valid: Callable,
                    std: dict) -> Callable:
    """``scipy.stats.<dist>.<method>(k, *shapes, loc=0)`` from the standard forms."""
    names, defaults = shapes + ("loc",), {"loc": 0}
    lo, hi_of = support

    def method_fn(k, *args, **kwds):
        *shape_values, loc = bind_parameters(dist, names, defaults, args, kwds)
        j = k - loc
        hi = hi_of(*shape_values)
        if method in ("pmf", "logpmf"):
            out = _mass(std, lo, hi, j, shape_values)
            out = exp(out) if method == "pmf" else out
        else:
            out = _tail(std, method, lo, hi, j, shape_values)
        return where(valid(*shape_values), out, np.nan)

    method_fn.__name__ = method_fn.__qualname__ = f"{dist}_{method}"
    differentiable = "p" if method not in ("pmf", "logpmf") or dist != "nbinom" else "n and p"
    method_fn.__doc__ = (f"``scipy.stats.{dist}.{method}(k, {', '.join(names)})``: "
                         f"differentiable in {differentiable}.")
    return method_fn


def _discrete_examples(dist, method):
    """Counts inside the support (a log-mass of -inf has no finite difference to check)."""
    def examples(rng):
        p = rng.uniform(0.2, 0.8, size=5)
        if dist == "bernoulli":  # sf(1) = 0: the log-survival examples stay below 1
            k = np.array([0, -1, 0, 0, 0] if method.endswith("sf") else [0, 1, 1, 0, 0])
            return [((k, p), {}), ((k[:3] + 1, np.float64(0.3), 1), {})]
        if dist == "geom":
            return [((np.array([1, 2, 5, 1, 3]), p), {}),
                    ((np.array([0, 1, 4]), np.float64(0.4), -1), {})]
        # binom's n is an integer (held fixed); nbinom's is real in the mass functions
        n = (np.int64(5) if dist == "binom" or method not in ("pmf", "logpmf")
             else np.float64(rng.uniform(1.5, 4.0)))
        return [((np.array([0, 1, 3, 4, 2]), n, p), {}),
                ((np.array([0, 1, 2]), n, np.float64(0.35), -1), {})]

    return examples


for _dist, (_shapes, _support, _valid, _std) in DISCRETE.items():
    _methods = {}
    for _method in ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"):
        _fn = discrete_method(_dist, _method, _shapes, _support, _valid, _std)
        implements(getattr(getattr(st, _dist), _method),
                   examples=_discrete_examples(_dist, _method))(_fn)
        _methods[_method] = _fn
    _stats.register_distribution(getattr(st, _dist), _methods, type(st.poisson(1.0)))


# --- multinomial ---------------------------------------------------------------------


def _multinomial_examples(rng):
    p = rng.dirichlet(np.ones(3))
    return [((np.array([2, 0, 1]), 3, p), {}),
            ((np.array([[1, 1, 2], [0, 4, 0], [2, 1, 1]]), 4, p), {})]


@implements(st.multinomial.logpmf, examples=_multinomial_examples)
def multinomial_logpmf(x: Array, n: Array, p: Array) -> Array:
    """``scipy.stats.multinomial.logpmf(x, n, p)``: differentiable in ``p``.

    The counts run along the last axis of ``x``; a row that is not non-negative integers
    summing to ``n`` has log-mass ``-inf``. ``p`` is used as given: its rows must sum to
    1 (SciPy instead adjusts the last entry, with a ``FutureWarning``; from SciPy 1.18
    it gives NaN), so the derivative treats every entry of ``p`` as free, as JAX's does.

    >>> import numpy as np, gradlab as gl
    >>> from scipy.stats import multinomial
    >>> gl.grad(lambda p: multinomial.logpmf([2, 1], 3, p))(np.array([0.5, 0.5])).tolist()
    [4.0, 2.0]
    """
    if np.ndim(x) == 0:
        raise ValueError("x must be an array.")
    if np.shape(x)[-1] != np.shape(p)[-1]:
        raise ValueError(f"Size of each quantile should be size of p: received "
                         f"{np.shape(x)[-1]}, but expected {np.shape(p)[-1]}.")
    if not hasattr(x, "shape"):
        x = np.asarray(x)
    counts_ok = _both(all_(_both(x >= 0, _is_int(x)), axis=-1), sum_(x, axis=-1) == n)
    safe = where(_both(x >= 0, _is_int(x)), x, 0)
    out = gammaln(n + 1.0) + sum_(xlogy(safe, p) - gammaln(safe + 1.0), axis=-1)
    bad_parameters = any_(where(p < 0, True, p > 1), axis=-1)
    return where(where(n < 0, True, bad_parameters), np.nan, where(counts_ok, out, _NEG_INF))


@implements(st.multinomial.pmf, examples=_multinomial_examples)
def multinomial_pmf(x: Array, n: Array, p: Array) -> Array:
    """``scipy.stats.multinomial.pmf(x, n, p)``: differentiable in ``p``."""
    return exp(multinomial_logpmf(x, n, p))


_MULTINOMIAL = {"logpmf": multinomial_logpmf, "pmf": multinomial_pmf}


@implements(st.multinomial)
def multinomial_freeze(n: Array, p: Array, seed: Any = None) -> _stats.FrozenDistribution:
    """``scipy.stats.multinomial(n, p)`` with traced parameters."""
    return _stats.FrozenDistribution("multinomial", _MULTINOMIAL, (n, p), {})


def _frozen_multinomial_method(name):
    method = _MULTINOMIAL[name]

    def frozen(self, x):
        return method(x, self.n, self.p)

    frozen.__name__ = frozen.__qualname__ = f"frozen_multinomial_{name}"
    return frozen


for _method in _MULTINOMIAL:
    implements(getattr(type(st.multinomial(1, [0.5, 0.5])), _method))(
        _frozen_multinomial_method(_method))
