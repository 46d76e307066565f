"""Activations and normalised exponentials, stable at any magnitude of the input.

``sigmoid``, ``softplus`` and ``normal_cdf`` are primitives (their numpy forms need
care to avoid overflow, and their derivatives are short); everything else is an exact
composition of primitives. ``softmax``/``logsumexp`` subtract the maximum under
``stop_gradient``: the shift cancels exactly, so the derivative is unchanged and no
``exp`` ever sees a large positive argument.

>>> import numpy as np, gradlab as gl
>>> gl.nn.softmax(np.array([1e4, 0.0])).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from .._types import Array
from ..core.primitive import Primitive
from ..core.shapes import reduced_shape
from ..ops import elementwise as E
from ..ops import misc as M
from ..ops import reduce as R
from ..ops import shape as S
from ..ops.families import Elementwise
from ..precision.dtypes import computes_in_float32, computes_in_float32_composition

__all__ = ["relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "log_sigmoid",
           "softmax", "log_softmax", "logsumexp", "normal_cdf"]


def _sigmoid_impl(x):
    x = x if hasattr(x, "dtype") else np.asarray(x)
    e = np.exp(-np.abs(x))  # never overflows
    one = e.dtype.type(1)  # a scalar: at home on every device
    return np.where(x >= 0, one / (one + e), e / (one + e))


sigmoid = Primitive(
    "sigmoid", _sigmoid_impl, family=Elementwise, domain=(-4.0, 4.0),
    vjp=lambda g, ans, x: g * (ans * (1.0 - ans)),
    jvp=lambda t, ans, x: t * (ans * (1.0 - ans)), saves=("ans",),
    doc="""The logistic function ``1 / (1 + exp(-x))``, exact and overflow-free for any x.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.sigmoid(np.array([-1e4, 0.0, 1e4])).tolist()
    [0.0, 0.5, 1.0]
    """)

softplus = Primitive(
    "softplus", computes_in_float32(
        lambda x: np.logaddexp(np.result_type(getattr(x, "dtype", x), np.float16).type(0), x)),
    family=Elementwise, domain=(-4.0, 4.0),
    vjp=lambda g, ans, x: g * sigmoid(x),
    jvp=lambda t, ans, x: t * sigmoid(x),
    doc="""``log(1 + exp(x))``, computed as ``logaddexp(0, x)`` (stable for any x).

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.softplus(np.array([1e4, 0.0])).tolist() == [1e4, float(np.log(2))]
    True
    """)


def _ndtr(x):
    try:
        from scipy.special import ndtr
    except ImportError:  # scipy is optional: fall back to the scalar erf, elementwise
        return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[np.float64])(np.asarray(x) / 2**0.5))
    return ndtr(x)


normal_cdf = Primitive(
    "normal_cdf", computes_in_float32(
        lambda x: np.asarray(_ndtr(x)).astype(np.result_type(x, np.float32))),
    family=Elementwise, domain=(-3.0, 3.0),
    vjp=lambda g, ans, x: g * (E.exp(-0.5 * x * x) * (1.0 / math.sqrt(2 * math.pi))),
    jvp=lambda t, ans, x: t * (E.exp(-0.5 * x * x) * (1.0 / math.sqrt(2 * math.pi))),
    doc="""The standard normal CDF ``Phi(x) = (1 + erf(x / sqrt(2))) / 2``.

    >>> import numpy as np, gradlab as gl
    >>> float(gl.nn.normal_cdf(np.array(0.0)))
    0.5
    """)


def relu(x: Array) -> Array:
    """``max(x, 0)``; its derivative at 0 is taken as 0.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.relu(np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return E.where(x > 0, x, 0.0)


def leaky_relu(x: Array, negative_slope: float = 0.01) -> Array:
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.leaky_relu(np.array([-1.0, 2.0]), 0.1).tolist()
    [-0.1, 2.0]
    """
    return E.where(x > 0, x, negative_slope * x)


def elu(x: Array, alpha: float = 1.0) -> Array:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    ``exp`` only ever sees the non-positive part, so large inputs cannot overflow (and
    the branch not taken contributes an exact zero, never ``inf * 0``).

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.elu(np.array([1e4, 0.0])).tolist()
    [10000.0, 0.0]
    """
    positive = x > 0
    return E.where(positive, x, alpha * E.expm1(E.where(positive, 0.0, x)))


def gelu(x: Array, approximate: bool = False) -> Array:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate=True`` uses the tanh form.

    >>> import numpy as np, gradlab as gl
    >>> round(float(gl.nn.gelu(np.array(1.0))), 6)
    0.841345
    """
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + E.tanh(c * (x + 0.044715 * (x * x * x))))
    return x * normal_cdf(x)


def silu(x: Array) -> Array:
    """``x * sigmoid(x)`` (also called swish).

    >>> import numpy as np, gradlab as gl
    >>> float(gl.nn.silu(np.array(0.0)))
    0.0
    """
    return x * sigmoid(x)


def log_sigmoid(x: Array) -> Array:
    """``log(sigmoid(x)) = -softplus(-x)``, finite for any x.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.log_sigmoid(np.array([-1e4, 1e4])).tolist()
    [-10000.0, -0.0]
    """
    return E.negative(softplus(E.negative(x)))


def _shift(x, axis):
    """The maximum along ``axis`` as a constant, replaced by 0 where it is not finite."""
    m = R.max(M.stop_gradient(x), axis=axis, keepdims=True)
    return E.where(E.less(E.absolute(m), np.inf), m, 0.0)


@computes_in_float32_composition
def logsumexp(x: Array, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Array:
    """``log(sum(exp(x)))`` along ``axis`` without overflow.

    >>> import numpy as np, gradlab as gl
    >>> round(float(gl.nn.logsumexp(np.array([1e4, 1e4]))), 6)
    10000.693147
    """
    m = _shift(x, axis)
    out = E.log(R.sum(E.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else S.reshape(out, reduced_shape(np.shape(x), axis, False))


@computes_in_float32_composition
def softmax(x: Array, axis: int = -1) -> Array:
    """``exp(x) / sum(exp(x))`` along ``axis``, stable at any magnitude.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.softmax(np.zeros(4)).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    e = E.exp(x - _shift(x, axis))
    return e / R.sum(e, axis=axis, keepdims=True)


@computes_in_float32_composition
def log_softmax(x: Array, axis: int = -1) -> Array:
    """``x - logsumexp(x)`` along ``axis``.

    >>> import numpy as np, gradlab as gl
    >>> gl.nn.log_softmax(np.array([1e4, 0.0])).tolist()
    [0.0, -10000.0]
    """
    return x - logsumexp(x, axis=axis, keepdims=True)
