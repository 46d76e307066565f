"""``scipy.stats``: ``t``, ``chi2``, ``beta``, ``gamma``, ``logistic``, ``expon``, ``laplace``,
``poisson`` and ``dirichlet``, differentiable in the data and in the parameters.

Each method (``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``, ``logsf``; ``pmf``/``logpmf``
for ``poisson``) is a composition of gradlab primitives declared once per distribution
from its *standardised* log-density and cdf: ``z = (x - loc) / scale`` and
``logpdf = logpdf_std(z, *shapes) - log(scale)``. Outside the support the values are
scipy's (``-inf`` log-density, 0 or 1 cdf) with a zero derivative.

The cdfs of ``t``, ``chi2``, ``gamma`` and ``beta`` are regularised incomplete beta and
gamma functions: differentiable in ``x``, ``loc`` and ``scale``, but not in the shape
parameter (``df``, ``a``, ``b``), whose derivative has no closed form. A traced shape
parameter there raises ``NoRuleError`` naming it; their densities are differentiable in
every parameter.

>>> import numpy as np, gradlab as gl
>>> from scipy.stats import t
>>> g = gl.grad(lambda df: t.logpdf(0.0, df))(3.0)    # d/d df of the t density at 0
>>> bool(np.isclose(g, (t.logpdf(0.0, 3.0 + 1e-6) - t.logpdf(0.0, 3.0 - 1e-6)) / 2e-6))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.stats as st

from .._types import Array
from ..core.primitive import implements
from ..ops.elementwise import absolute, exp, expm1, floor, log, log1p, where
from ..ops.reduce import sum as sum_
from ..ops.shape import concatenate, expand_dims
from . import stats as _stats
from .incomplete import betainc, gammainc, gammaincc, stdtr
from .special import betaln, expit, gammaln, log_expit, xlog1py, xlogy

_LOG2 = math.log(2.0)
_NEG_INF = -np.inf


def _both(lower, upper):
    """``lower & upper`` for masks (a product: it works on every level's masks)."""
    return where(lower, upper, False)


# --- the standardised distributions ----------------------------------------------------
# Each: logpdf(z, *shapes), cdf(z, *shapes), optional sf/logcdf/logsf, and the support.


def _t_logpdf(z, df):
    return (gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * log(df * math.pi)
            - 0.5 * (df + 1.0) * log1p(z * z / df))


def _chi2_logpdf(z, df):
    return xlogy(0.5 * df - 1.0, z) - 0.5 * z - 0.5 * df * _LOG2 - gammaln(0.5 * df)


def _gamma_logpdf(z, a):
    return xlogy(a - 1.0, z) - z - gammaln(a)


def _beta_logpdf(z, a, b):
    return xlogy(a - 1.0, z) + xlog1py(b - 1.0, -z) - betaln(a, b)


def _logistic_logpdf(z):
    e = absolute(z)
    return -e - 2.0 * log1p(exp(-e))


def _laplace_cdf(z):
    half = 0.5 * exp(-absolute(z))
    return where(z < 0, half, 1.0 - half)


def _laplace_logcdf(z):
    return where(z < 0, z - _LOG2, log1p(-0.5 * exp(-absolute(z))))


CONTINUOUS = {
    # name: (shape names, support (lo, hi), {method: standardised function})
    "t": (("df",), None, {
        "logpdf": _t_logpdf, "cdf": lambda z, df: stdtr(df, z),
        "sf": lambda z, df: stdtr(df, -z)}),
    "chi2": (("df",), (0.0, np.inf), {
        "logpdf": _chi2_logpdf, "cdf": lambda z, df: gammainc(0.5 * df, 0.5 * z),
        "sf": lambda z, df: gammaincc(0.5 * df, 0.5 * z)}),
    "gamma": (("a",), (0.0, np.inf), {
        "logpdf": _gamma_logpdf, "cdf": lambda z, a: gammainc(a, z),
        "sf": lambda z, a: gammaincc(a, z)}),
    "beta": (("a", "b"), (0.0, 1.0), {
        "logpdf": _beta_logpdf, "cdf": lambda z, a, b: betainc(a, b, z),
        "sf": lambda z, a, b: betainc(b, a, 1.0 - z)}),
    "logistic": ((), None, {
        "logpdf": _logistic_logpdf, "cdf": expit, "sf": lambda z: expit(-z),
        "logcdf": log_expit, "logsf": lambda z: log_expit(-z)}),
    "expon": ((), (0.0, np.inf), {
        "logpdf": lambda z: -z, "cdf": lambda z: -expm1(-z), "sf": lambda z: exp(-z),
        "logcdf": lambda z: log(-expm1(-z)), "logsf": lambda z: -z}),
    "laplace": ((), None, {
        "logpdf": lambda z: -absolute(z) - _LOG2, "cdf": _laplace_cdf,
        "sf": lambda z: _laplace_cdf(-z), "logcdf": _laplace_logcdf,
        "logsf": lambda z: _laplace_logcdf(-z)}),
}


def bind_parameters(dist: str, names: Sequence[str], defaults: dict[str, Any],
                    args: Sequence[Any], kwds: dict[str, Any]) -> list:
    """scipy's calling convention: shapes then ``loc``/``scale``, positional or by name."""
    if len(args) > len(names):
        raise TypeError(f"{dist}: takes at most {len(names)} parameters {names}, "
                        f"got {len(args)} positional")
    values = dict(zip(names, args))
    for key, value in kwds.items():
        if key not in names:
            raise TypeError(f"{dist}: unexpected keyword argument {key!r}")
        if key in values:
            raise TypeError(f"{dist}: got multiple values for argument {key!r}")
        values[key] = value
    missing = [n for n in names if n not in values and n not in defaults]
    if missing:
        raise TypeError(f"{dist}: missing required shape parameter(s) {missing}")
    return [values.get(n, defaults.get(n)) for n in names]


def _inside(z, support):
    lo, hi = support
    above = z >= lo
    return above if hi == np.inf else _both(above, z <= hi)


def _safe(z, support, inside):
    """``z`` inside the support, and a point inside it elsewhere (no NaN on either branch)."""
    lo, hi = support
    return where(inside, z, lo + 0.5 if hi == np.inf else 0.5 * (lo + hi))


def _continuous_method(dist, method, shapes, support, std):
    """``scipy.stats.<dist>.<method>(x, *shapes, loc=0, scale=1)`` from the standard form."""
    names, defaults = shapes + ("loc", "scale"), {"loc": 0.0, "scale": 1.0}
    kind = method.removeprefix("log")
    logged = method.startswith("log")
    fn = std.get(method if method != "pdf" else "logpdf")
    if method in ("logcdf", "logsf") and fn is None:
        plain = std[kind]
        fn = lambda z, *s: log(plain(z, *s))  # noqa: E731

    def method_fn(x, *args, **kwds):
        *shape_values, loc, scale = bind_parameters(dist, names, defaults, args, kwds)
        z = (x - loc) / scale
        if support is not None:
            inside = _inside(z, support)
            z = _safe(z, support, inside)
        out = fn(z, *shape_values)
        if kind == "pdf":
            out = out - log(scale)
            if not logged:
                out = exp(out)
        if support is None:
            return out
        below = {"pdf": _NEG_INF if logged else 0.0, "cdf": _NEG_INF if logged else 0.0,
                 "sf": 0.0 if logged else 1.0}[kind]
        above = {"pdf": below, "cdf": 0.0 if logged else 1.0,
                 "sf": _NEG_INF if logged else 0.0}[kind]
        return where(inside, out, where(x < loc + support[0] * scale, below, above))

    method_fn.__name__ = f"{dist}_{method}"
    method_fn.__qualname__ = method_fn.__name__
    method_fn.__doc__ = (f"``scipy.stats.{dist}.{method}(x, {', '.join(names)})``: "
                         f"differentiable in x, loc, scale"
                         + (" and every shape parameter." if kind == "pdf" or not shapes
                            else f" (not in {', '.join(shapes)}: see the module doc)."))
    return method_fn


def _continuous_examples(dist, method, shapes, support):
    """x inside the support; float shapes for densities, integer ones (held fixed) for cdfs."""
    def examples(rng):
        lo, hi = support if support is not None else (-2.0, 2.0)
        hi = min(hi, lo + 3.0) if hi != np.inf else lo + 3.0
        x = rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), size=4)
        if method in ("pdf", "logpdf"):
            values = tuple(rng.uniform(1.5, 4.0) for _ in shapes)
        else:
            values = tuple(np.int64(k) for k in (3, 2)[:len(shapes)])
        cases = [((x, *values), {})]
        if support is None or support[1] == np.inf:  # loc and scale move the support
            cases.append(((x * 0.5 + 0.3, *values, 0.2, 1.7), {}))
        return cases

    return examples


for _dist, (_shapes, _support, _std) in CONTINUOUS.items():
    _methods = {}
    for _method in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"):
        _fn = _continuous_method(_dist, _method, _shapes, _support, _std)
        _generator = getattr(st, _dist)
        implements(getattr(_generator, _method),
                   examples=_continuous_examples(_dist, _method, _shapes, _support))(_fn)
        _methods[_method] = _fn
    _stats.register_distribution(getattr(st, _dist), _methods)


# --- poisson -----------------------------------------------------------------------------


def _poisson_parts(k, mu, loc):
    """``(k - loc, mask of valid counts)``: non-negative integers (scipy's pmf support)."""
    n = k - loc
    return n, _both(n >= 0, floor(n) == n)


def _poisson_logpmf_impl(k, mu, loc):
    n, valid = _poisson_parts(k, mu, loc)
    n = where(valid, n, 0.0)
    return where(valid, xlogy(n, mu) - mu - gammaln(n + 1.0), _NEG_INF)


def _poisson_cdf_impl(k, mu, loc, upper=False):
    n = floor(k - loc)
    fn = gammainc if upper else gammaincc  # P(N <= n) = Q(n + 1, mu)
    value = fn(where(n >= 0, n, 0.0) + 1.0, mu)
    return where(n >= 0, value, 1.0 if upper else 0.0)


POISSON = {
    "logpmf": _poisson_logpmf_impl,
    "pmf": lambda k, mu, loc: exp(_poisson_logpmf_impl(k, mu, loc)),
    "cdf": _poisson_cdf_impl,
    "logcdf": lambda k, mu, loc: log(_poisson_cdf_impl(k, mu, loc)),
    "sf": lambda k, mu, loc: _poisson_cdf_impl(k, mu, loc, upper=True),
    "logsf": lambda k, mu, loc: log(_poisson_cdf_impl(k, mu, loc, upper=True)),
}


def _poisson_method(method, impl):
    def method_fn(k, *args, **kwds):
        mu, loc = bind_parameters("poisson", ("mu", "loc"), {"loc": 0}, args, kwds)
        return impl(k, mu, loc)

    method_fn.__name__ = method_fn.__qualname__ = f"poisson_{method}"
    method_fn.__doc__ = f"``scipy.stats.poisson.{method}(k, mu, loc=0)``: differentiable in mu."
    return method_fn


def _poisson_examples(rng):
    k = np.array([0, 1, 3, 6])
    return [((k, np.float64(rng.uniform(1.0, 4.0))), {}),
            ((k, rng.uniform(1.0, 4.0, size=4), -1), {})]


_POISSON_METHODS = {}
for _method, _impl in POISSON.items():
    _fn = _poisson_method(_method, _impl)
    implements(getattr(st.poisson, _method), examples=_poisson_examples)(_fn)
    _POISSON_METHODS[_method] = _fn
_stats.register_distribution(st.poisson, _POISSON_METHODS, type(st.poisson(1.0)))


# --- dirichlet ---------------------------------------------------------------------------


def _dirichlet_examples(rng):
    x = rng.dirichlet(np.ones(3), size=2).T  # components on the first axis, as scipy's
    return [((x[:, 0], rng.uniform(1.0, 3.0, size=3)), {}),
            ((x, rng.uniform(1.0, 3.0, size=3)), {}),
            ((x[:2, 1], rng.uniform(1.0, 3.0, size=3)), {})]


@implements(st.dirichlet.logpdf, examples=_dirichlet_examples)
def dirichlet_logpdf(x: Array, alpha: Array) -> Array:
    """``scipy.stats.dirichlet.logpdf(x, alpha)``: differentiable in ``x`` and ``alpha``.

    Like scipy, the components run along ``x``'s first axis (``(K,)`` or ``(K, N)``), and
    ``K - 1`` of them imply the last (``1 - sum``). The simplex is not validated.

    >>> import numpy as np, gradlab as gl
    >>> from scipy.stats import dirichlet
    >>> gl.grad(lambda a: dirichlet.logpdf(np.array([0.5, 0.5]), a))(np.ones(2)).round(4)
    array([0.3069, 0.3069])
    """
    k = np.shape(alpha)[0]
    if np.shape(x)[0] == k - 1:
        x = concatenate([x, 1.0 - sum_(x, axis=0, keepdims=True)], axis=0)
    a = alpha if np.ndim(x) == 1 else expand_dims(alpha, -1)
    norm = gammaln(sum_(alpha)) - sum_(gammaln(alpha))
    return sum_(xlogy(a - 1.0, x), axis=0) + norm


@implements(st.dirichlet.pdf, examples=_dirichlet_examples)
def dirichlet_pdf(x: Array, alpha: Array) -> Array:
    """``scipy.stats.dirichlet.pdf(x, alpha)``."""
    return exp(dirichlet_logpdf(x, alpha))


_DIRICHLET = {"logpdf": dirichlet_logpdf, "pdf": dirichlet_pdf}
_frozen_dirichlet = type(st.dirichlet(np.ones(2)))


def _frozen_dirichlet_method(name):
    def frozen(self, x):
        return _DIRICHLET[name](x, self.alpha)

    frozen.__name__ = frozen.__qualname__ = f"frozen_dirichlet_{name}"
    return frozen


for _method in _DIRICHLET:
    implements(getattr(_frozen_dirichlet, _method))(_frozen_dirichlet_method(_method))


# The discrete distributions beyond poisson, declared with this module.
from . import discrete  # noqa: E402, F401  (bernoulli, binom, nbinom, geom, multinomial)
