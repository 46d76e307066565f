"""``scipy.special``: gamma-family, error functions, logistic, Bessel; logsumexp and softmax.

Each ufunc is one primitive keyed by scipy's own ufunc object, so a call to
``scipy.special.gammaln`` in traced code is intercepted exactly like ``np.exp``.
``logsumexp``, ``softmax`` and ``log_softmax`` are compositions that shift by a
``stop_gradient``-ed maximum: the shift cancels in the value, so the derivative
is exact, and nothing overflows.

>>> import numpy as np, gradlab as gl, scipy.special as sc
>>> float(gl.grad(sc.gammaln)(3.0)) == float(sc.digamma(3.0))
True
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sc

from .._types import Array
from ..core.primitive import Primitive, implements
from ..core.shapes import reduced_shape
from ..ops.elementwise import absolute, exp, log, log1p, sign, unary, where
from ..ops.families import Elementwise
from ..ops.misc import stop_gradient
from ..ops.reduce import max as max_
from ..ops.reduce import sum as sum_
from ..ops.shape import reshape
from ..precision.dtypes import computes_in_float32

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _over_x(x, fn, series):
    """``fn(x) / x``, by its ``series`` near 0 (where ``fn(x)`` underflows or 0/0 looms)."""
    small = absolute(x) < 1e-4
    return where(small, series(x), fn(where(small, 1.0, x)) / where(small, 1.0, x))


# --- gamma family ------------------------------------------------------------------


def _polygamma_impl(n, x):
    out = sc.polygamma(n, x)
    dtype = np.result_type(x, np.float32) if np.result_type(x).kind != "f" else np.result_type(x)
    return np.asarray(out).astype(dtype, copy=False)


polygamma_p = Primitive(
    "polygamma", computes_in_float32(_polygamma_impl), family=Elementwise,
    vjp=(None, lambda g, ans, n, x: g * polygamma_p(n + 1, x)),
    jvp=(None, lambda t, ans, n, x: t * polygamma_p(n + 1, x)),
    examples=lambda rng: [((np.array([0, 1, 2]), rng.uniform(0.5, 3.0, 3)), {}),
                          ((np.int64(1), rng.uniform(0.5, 3.0, (2, 3))), {})],
    doc="scipy.special.polygamma(n, x): the n-th derivative of digamma (n is an integer).")


@implements(sc.polygamma)
def polygamma(n: Array, x: Array) -> Array:
    """``scipy.special.polygamma``; differentiable in ``x``."""
    return polygamma_p(n, x)


digamma = unary("digamma", computes_in_float32(sc.digamma), lambda ans, x: polygamma_p(1, x),
                numpy=(sc.digamma, sc.psi), domain=(0.5, 3.0))
gammaln = unary("gammaln", computes_in_float32(sc.gammaln),
                lambda ans, x: digamma(x), numpy=(sc.gammaln,),
                domain=(0.5, 3.0))
gamma = unary("gamma", computes_in_float32(sc.gamma),
              lambda ans, x: ans * digamma(x), numpy=(sc.gamma,),
              domain=(0.5, 3.0))


def _betaln_partial(a, b):
    return digamma(a) - digamma(a + b)


betaln = Primitive(
    "betaln", computes_in_float32(sc.betaln),
    family=Elementwise, numpy=(sc.betaln,), domain=(0.5, 3.0),
    vjp=(lambda g, ans, a, b: g * _betaln_partial(a, b),
         lambda g, ans, a, b: g * _betaln_partial(b, a)),
    jvp=(lambda t, ans, a, b: t * _betaln_partial(a, b),
         lambda t, ans, a, b: t * _betaln_partial(b, a)),
    doc="scipy.special.betaln: log|B(a, b)|.")

# --- error functions and the normal distribution's ---------------------------------

erf = unary("erf", computes_in_float32(sc.erf),
            lambda ans, x: (2.0 / _SQRT_PI) * exp(-x * x), numpy=(sc.erf,))
erfc = unary("erfc", computes_in_float32(sc.erfc), lambda ans, x: (-2.0 / _SQRT_PI) * exp(-x * x),
             numpy=(sc.erfc,))
erfinv = unary("erfinv", computes_in_float32(sc.erfinv),
               lambda ans, x: (_SQRT_PI / 2.0) * exp(ans * ans),
               numpy=(sc.erfinv,), domain=(-0.9, 0.9))
erfcinv = unary("erfcinv", computes_in_float32(sc.erfcinv),
                lambda ans, x: (-_SQRT_PI / 2.0) * exp(ans * ans),
                numpy=(sc.erfcinv,), domain=(0.1, 1.9))
ndtr = unary("ndtr", computes_in_float32(sc.ndtr), lambda ans, x: exp(-0.5 * x * x) / _SQRT_2PI,
             numpy=(sc.ndtr,))
# d log Phi(x) = phi(x) / Phi(x), formed in log space so that it stays finite far left.
log_ndtr = unary("log_ndtr", computes_in_float32(sc.log_ndtr),
                 lambda ans, x: exp(-0.5 * x * x - ans) / _SQRT_2PI, numpy=(sc.log_ndtr,),
                 domain=(-4.0, 2.0))
ndtri = unary("ndtri", computes_in_float32(sc.ndtri),
              lambda ans, x: _SQRT_2PI * exp(0.5 * ans * ans),
              numpy=(sc.ndtri,), domain=(0.1, 0.9))

# --- logistic ------------------------------------------------------------------------

expit = unary("expit", computes_in_float32(sc.expit),
              lambda ans, x: ans * (1.0 - ans), numpy=(sc.expit,))
logit = unary("logit", computes_in_float32(sc.logit),
              lambda ans, x: 1.0 / (x * (1.0 - x)), numpy=(sc.logit,),
              domain=(0.1, 0.9))
if hasattr(sc, "log_expit"):  # scipy >= 1.8
    log_expit = unary("log_expit", computes_in_float32(sc.log_expit), lambda ans, x: expit(-x),
                      numpy=(sc.log_expit,))

# --- x log y ---------------------------------------------------------------------------


def _ratio(x, y):
    """``x / y``, and 0 where ``x == 0`` (the y-derivative of ``x log y`` there)."""
    return where(x == 0, 0.0, x / where(x == 0, 1.0, y))


xlogy = Primitive(
    "xlogy", computes_in_float32(sc.xlogy),
    family=Elementwise, numpy=(sc.xlogy,), domain=(0.5, 2.0),
    vjp=(lambda g, ans, x, y: g * log(y), lambda g, ans, x, y: g * _ratio(x, y)),
    jvp=(lambda t, ans, x, y: t * log(y), lambda t, ans, x, y: t * _ratio(x, y)),
    doc="scipy.special.xlogy: x * log(y), 0 where x == 0.")

xlog1py = Primitive(
    "xlog1py", computes_in_float32(sc.xlog1py),
    family=Elementwise, numpy=(sc.xlog1py,), domain=(0.5, 2.0),
    vjp=(lambda g, ans, x, y: g * log1p(y), lambda g, ans, x, y: g * _ratio(x, 1.0 + y)),
    jvp=(lambda t, ans, x, y: t * log1p(y), lambda t, ans, x, y: t * _ratio(x, 1.0 + y)),
    doc="scipy.special.xlog1py: x * log1p(y), 0 where x == 0.")

# --- Bessel functions ---------------------------------------------------------------
# I1'(x) = I0(x) - I1(x)/x and J1'(x) = J0(x) - J1(x)/x; I1(x)/x = 1/2 + x^2/16 + ...

i0 = unary("i0", computes_in_float32(sc.i0), lambda ans, x: i1(x), numpy=(sc.i0,))
i1 = unary("i1", computes_in_float32(sc.i1),
           lambda ans, x: i0(x) - _over_x(x, i1, lambda x: 0.5 + x * x / 16.0),
           numpy=(sc.i1,))
# exp(-|x|) puts a kink at 0 into i0e (its derivative jumps from 1 to -1 there).
i0e = unary("i0e", computes_in_float32(sc.i0e),
            lambda ans, x: i1e(x) - sign(x) * ans, numpy=(sc.i0e,),
            domain=(0.1, 3.0))
i1e = unary("i1e", computes_in_float32(sc.i1e),
            lambda ans, x: i0e(x) - sign(x) * ans - _over_x(
                x, i1e, lambda x: exp(-absolute(x)) * (0.5 + x * x / 16.0)),
            numpy=(sc.i1e,))
j0 = unary("j0", computes_in_float32(sc.j0), lambda ans, x: -j1(x), numpy=(sc.j0,))
j1 = unary("j1", computes_in_float32(sc.j1),
           lambda ans, x: j0(x) - _over_x(x, j1, lambda x: 0.5 - x * x / 16.0),
           numpy=(sc.j1,))


# --- logsumexp and softmax ----------------------------------------------------------


def _shift(a, axis):
    """The maximum over ``axis`` (kept), as a constant, and 0 where it is not finite."""
    m = stop_gradient(max_(a, axis=axis, keepdims=True))
    return where(absolute(m) < np.inf, m, 0.0)


def _lse_examples(rng):
    x = rng.normal(size=(3, 4))
    return [((x,), {}), ((x,), {"axis": 1}), ((x,), {"axis": 0, "keepdims": True}),
            ((x,), {"axis": -1, "b": rng.uniform(0.5, 2.0, size=4)})]


@implements(sc.logsumexp, examples=_lse_examples)
def logsumexp(a: Array, axis: int | None = None, b: Array | None = None, keepdims: bool = False,
              return_sign: bool = False) -> Array | tuple[Array, Array]:
    """``scipy.special.logsumexp``: ``log(sum(b * exp(a)))`` over ``axis``, without overflow.

    >>> import numpy as np, gradlab as gl, scipy.special as sc
    >>> gl.grad(sc.logsumexp)(np.log(np.array([1.0, 3.0]))).tolist()
    [0.25, 0.75]
    """
    m = _shift(a, axis)
    terms = exp(a - m) if b is None else b * exp(a - m)
    total = sum_(terms, axis=axis, keepdims=True)
    s = None
    if return_sign:
        s = sign(total)
        total = absolute(total)
    out = log(total) + m
    if not keepdims:
        shape = np.broadcast_shapes(np.shape(a), np.shape(b) if b is not None else ())
        out = reshape(out, reduced_shape(shape, axis, False))
        s = None if s is None else reshape(s, reduced_shape(shape, axis, False))
    return (out, s) if return_sign else out


def _softmax_examples(rng):
    x = rng.normal(size=(3, 4))
    return [((x,), {}), ((x,), {"axis": 1}), ((x,), {"axis": (0, 1)})]


@implements(sc.softmax, examples=_softmax_examples)
def softmax(x: Array, axis: int | None = None) -> Array:
    """``scipy.special.softmax``: ``exp(x) / sum(exp(x))`` over ``axis`` (scipy's formula)."""
    e = exp(x - _shift(x, axis))
    return e / sum_(e, axis=axis, keepdims=True)


@implements(sc.log_softmax, examples=_softmax_examples)
def log_softmax(x: Array, axis: int | None = None) -> Array:
    """``scipy.special.log_softmax``: ``x - logsumexp(x)`` over ``axis``."""
    shifted = x - _shift(x, axis)
    return shifted - log(sum_(exp(shifted), axis=axis, keepdims=True))


# More of scipy.special, in their own modules (declared with this one: SciPy loads
# gradlab's special-function rules as one unit).
from . import bessel, incomplete  # noqa: E402, F401
