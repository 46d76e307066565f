"""``scipy.special``: the beta function, the regularised incomplete gamma and beta
functions, ``rgamma``, ``gammasgn``, ``multigammaln`` and Student's t cdf ``stdtr``.

The incomplete functions are differentiable in their *argument* (``x``: the
derivative is the density of the matching distribution). Their derivative in the
shape parameters (``a``, ``b``, ``df``) has no closed form; gradlab does not
approximate it: a traced shape parameter raises ``NoRuleError`` naming it, at the
backward (or forward) pass that needs it. A constant parameter is fine.

>>> import numpy as np, gradlab as gl, scipy.special as sc
>>> d = gl.grad(lambda x: sc.gammainc(2.0, x))(1.5)      # x e^-x / Gamma(2)
>>> bool(np.isclose(d, 1.5 * np.exp(-1.5)))
True
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sc

from ..core.primitive import Primitive, implements
from ..core.trace import Tracer
from ..ops.elementwise import exp, log, log1p
from ..ops.families import Elementwise
from ..ops.reduce import sum as sum_
from ..ops.shape import expand_dims
from ..precision.dtypes import computes_in_float32
from .parameters import float_like, float_result, no_derivative
from .special import betaln, digamma, gammaln


def _shape_param_examples(rng, nparams, hi=5):
    """Integer shape parameters (held fixed by the registry test) and float arguments."""
    ints = [rng.integers(1, hi, size=3) for _ in range(nparams)]
    return [((*ints, rng.uniform(0.2, 0.8, 3)), {}),
            ((*[np.int64(2)] * nparams, rng.uniform(0.2, 0.8, (2, 3))), {})]


def _beta_partial(a, b):
    return digamma(a) - digamma(a + b)


beta = Primitive(
    "beta", computes_in_float32(sc.beta), family=Elementwise, numpy=(sc.beta,),
    domain=(0.5, 3.0),
    vjp=(lambda g, ans, a, b: g * ans * _beta_partial(a, b),
         lambda g, ans, a, b: g * ans * _beta_partial(b, a)),
    jvp=(lambda t, ans, a, b: t * ans * _beta_partial(a, b),
         lambda t, ans, a, b: t * ans * _beta_partial(b, a)),
    doc="scipy.special.beta: B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b).")


def _beta_density(a, b, x):
    """``x^(a-1) (1-x)^(b-1) / B(a, b)``: the derivative of ``betainc`` in ``x``."""
    a, b = float_like(a, x), float_like(b, x)
    return exp((a - 1.0) * log(x) + (b - 1.0) * log1p(-x) - betaln(a, b))


betainc = Primitive(
    "betainc", float_result(sc.betainc), family=Elementwise, numpy=(sc.betainc,),
    vjp=(no_derivative("scipy.special.betainc", "a"),
         no_derivative("scipy.special.betainc", "b"),
         lambda g, ans, a, b, x: g * _beta_density(a, b, x)),
    jvp=(no_derivative("scipy.special.betainc", "a"),
         no_derivative("scipy.special.betainc", "b"),
         lambda t, ans, a, b, x: t * _beta_density(a, b, x)),
    examples=lambda rng: _shape_param_examples(rng, 2),
    doc="scipy.special.betainc(a, b, x): differentiable in x only (see the module doc).")


def _gamma_density(a, x):
    """``x^(a-1) e^-x / Gamma(a)``: the derivative of ``gammainc`` in ``x``."""
    a = float_like(a, x)
    return exp((a - 1.0) * log(x) - x - gammaln(a))


def _incomplete_gamma(name, fn, sign):
    return Primitive(
        name, float_result(fn), family=Elementwise, numpy=(fn,),
        vjp=(no_derivative(f"scipy.special.{name}", "a"),
             lambda g, ans, a, x: sign * g * _gamma_density(a, x)),
        jvp=(no_derivative(f"scipy.special.{name}", "a"),
             lambda t, ans, a, x: sign * t * _gamma_density(a, x)),
        examples=lambda rng: _shape_param_examples(rng, 1),
        doc=f"scipy.special.{name}(a, x): differentiable in x only (see the module doc).")


gammainc = _incomplete_gamma("gammainc", sc.gammainc, 1.0)
gammaincc = _incomplete_gamma("gammaincc", sc.gammaincc, -1.0)


def _t_density(df, t):
    """Student's t density with ``df`` degrees of freedom: the derivative of ``stdtr``."""
    df = float_like(df, t)
    return exp(gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * log(df * math.pi)
               - 0.5 * (df + 1.0) * log1p(t * t / df))


stdtr = Primitive(
    "stdtr", float_result(sc.stdtr), family=Elementwise, numpy=(sc.stdtr,),
    vjp=(no_derivative("scipy.special.stdtr", "df"),
         lambda g, ans, df, t: g * _t_density(df, t)),
    jvp=(no_derivative("scipy.special.stdtr", "df"),
         lambda t_, ans, df, t: t_ * _t_density(df, t)),
    examples=lambda rng: [((rng.integers(1, 6, 3), rng.normal(size=3)), {}),
                          ((np.int64(3), rng.normal(size=(2, 3))), {})],
    doc="scipy.special.stdtr(df, t): Student's t cdf; differentiable in t only.")

rgamma = Primitive(
    "rgamma", computes_in_float32(sc.rgamma), family=Elementwise, numpy=(sc.rgamma,),
    domain=(0.5, 3.0),
    vjp=lambda g, ans, x: -g * ans * digamma(x), jvp=lambda t, ans, x: -t * ans * digamma(x),
    doc="scipy.special.rgamma: 1 / Gamma(x).")

gammasgn = Primitive("gammasgn", computes_in_float32(sc.gammasgn), family=Elementwise,
                     numpy=(sc.gammasgn,), differentiable=False, domain=(0.5, 3.0),
                     doc="scipy.special.gammasgn: the sign of Gamma(x) (piecewise constant).")


@implements(sc.multigammaln,
            examples=lambda rng: [((rng.uniform(2.0, 4.0, size=3), 3), {}),
                                  ((np.float64(2.5), 2), {})])
def multigammaln(a, d):
    """``scipy.special.multigammaln(a, d)``: the log multivariate gamma function.

    ``log Gamma_d(a) = d(d-1)/4 log(pi) + sum_j gammaln(a - j/2)``, differentiable in ``a``.

    >>> import numpy as np, gradlab as gl, scipy.special as sc
    >>> bool(np.isclose(gl.grad(lambda a: sc.multigammaln(a, 1))(2.5), sc.digamma(2.5)))
    True
    """
    d = int(d)
    if not isinstance(a, Tracer) and np.any(np.asarray(a) <= 0.5 * (d - 1)):
        raise ValueError(f"condition a ({np.min(a)}) > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    offsets = np.arange(d) / 2.0
    return d * (d - 1) / 4.0 * math.log(math.pi) + sum_(
        gammaln(expand_dims(a, -1) - offsets), axis=-1)
