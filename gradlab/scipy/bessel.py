"""``scipy.special``: Bessel functions of integer and real order (``y0``, ``y1``, ``jv``/``jn``,
``yv``/``yn``, ``iv``, ``ive``), differentiable in their argument.

The recurrences ``C_v'(x) = (C_{v-1}(x) - C_{v+1}(x)) / 2`` (``J``, ``Y``) and
``I_v'(x) = (I_{v-1}(x) + I_{v+1}(x)) / 2`` give every derivative in terms of the same
functions, so higher derivatives come for free. The order ``v`` has no derivative
rule: a traced order raises ``NoRuleError``.

>>> import numpy as np, gradlab as gl, scipy.special as sc
>>> bool(np.isclose(gl.grad(sc.y0)(1.3), -sc.y1(1.3)))
True
"""

from __future__ import annotations

import numpy as np
import scipy.special as sc

from ..core.primitive import Primitive
from ..ops.elementwise import sign
from ..ops.families import Elementwise
from ..precision.dtypes import computes_in_float32
from .parameters import float_like, float_result, no_derivative
from .special import j0, j1


def _order_examples(rng):
    return [((np.array([0, 1, 2]), rng.uniform(0.5, 3.0, 3)), {}),
            ((np.int64(1), rng.uniform(0.5, 3.0, (2, 3))), {})]


y0 = Primitive("y0", computes_in_float32(sc.y0), family=Elementwise, numpy=(sc.y0,),
               domain=(0.5, 3.0),
               vjp=lambda g, ans, x: -g * y1(x), jvp=lambda t, ans, x: -t * y1(x),
               doc="scipy.special.y0: the Bessel function of the second kind, order 0.")
y1 = Primitive("y1", computes_in_float32(sc.y1), family=Elementwise, numpy=(sc.y1,),
               domain=(0.5, 3.0),
               vjp=lambda g, ans, x: g * 0.5 * (y0(x) - yv(2, x)),
               jvp=lambda t, ans, x: t * 0.5 * (y0(x) - yv(2, x)),
               doc="scipy.special.y1: the Bessel function of the second kind, order 1.")


def _order_primitive(name, fn, derivative, numpy, doc):
    """A Bessel function of order ``v`` and argument ``x``: ``derivative(ans, v, x)``."""
    return Primitive(
        name, float_result(fn), family=Elementwise, numpy=numpy,
        vjp=(no_derivative(f"scipy.special.{name}", "v"),
             lambda g, ans, v, x: g * derivative(ans, float_like(v, x), x)),
        jvp=(no_derivative(f"scipy.special.{name}", "v"),
             lambda t, ans, v, x: t * derivative(ans, float_like(v, x), x)),
        examples=_order_examples, doc=doc)


jv = _order_primitive("jv", sc.jv, lambda ans, v, x: 0.5 * (jv(v - 1, x) - jv(v + 1, x)),
                      (sc.jv, sc.jn), "scipy.special.jv (= jn): Bessel J of real order v.")
yv = _order_primitive("yv", sc.yv, lambda ans, v, x: 0.5 * (yv(v - 1, x) - yv(v + 1, x)),
                      (sc.yv, sc.yn), "scipy.special.yv (and yn): Bessel Y of real order v.")
iv = _order_primitive("iv", sc.iv, lambda ans, v, x: 0.5 * (iv(v - 1, x) + iv(v + 1, x)),
                      (sc.iv,), "scipy.special.iv: modified Bessel I of real order v.")
# ive = iv(v, x) exp(-|x|)
ive = _order_primitive(
    "ive", sc.ive, lambda ans, v, x: 0.5 * (ive(v - 1, x) + ive(v + 1, x)) - sign(x) * ans,
    (sc.ive,), "scipy.special.ive: iv(v, x) * exp(-|x|).")

__all__ = ["iv", "ive", "j0", "j1", "jv", "y0", "y1", "yv"]
