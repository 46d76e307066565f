"""Binary ufuncs beyond arithmetic, and the ``operator`` module's functions.

Each is one primitive with both rules stated (they sit on hot paths); broadcasting
of operands and un-broadcasting of cotangents come from the ``Elementwise`` family.

>>> import numpy as np, gradlab as gl
>>> float(gl.grad(lambda y: np.arctan2(y, 1.0))(0.0))
1.0
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..core.primitive import Primitive, implements
from ..core.trace import Tracer
from . import elementwise as E
from .families import Elementwise
from .misc import astype, dtype_of


def _binary(name, impl, vjp, jvp=None, numpy=(), domain=(-2.0, 2.0), examples=None, doc=""):
    """An elementwise binary primitive; ``jvp`` defaults to ``vjp`` (both are ``g * dy/dx``)."""
    return Primitive(name, impl, family=Elementwise, numpy=numpy, domain=domain,
                     vjp=vjp, jvp=vjp if jvp is None else jvp, examples=examples, doc=doc)


def _sum_sq(x, y):
    return x * x + y * y


arctan2 = _binary(
    "arctan2", np.arctan2, numpy=(np.arctan2, math.atan2), domain=(0.3, 2.0),
    vjp=(lambda g, ans, y, x: g * x / _sum_sq(x, y),
         lambda g, ans, y, x: -g * y / _sum_sq(x, y)),
    examples=lambda rng: [((rng.normal(size=(3,)), rng.normal(size=(3,))), {}),
                          ((rng.normal(size=(2, 3)), rng.uniform(0.5, 2, (3,))), {}),
                          ((rng.normal(size=()), rng.normal(size=(2, 1))), {})],
    doc="``arctan2(y, x)``: the angle of (x, y).")

hypot = _binary(
    "hypot", np.hypot, numpy=(np.hypot,), domain=(0.3, 2.0),
    vjp=(lambda g, ans, x, y: g * x / ans, lambda g, ans, x, y: g * y / ans))

logaddexp = _binary(
    "logaddexp", np.logaddexp, numpy=(np.logaddexp,),
    vjp=(lambda g, ans, x, y: g * E.exp(x - ans), lambda g, ans, x, y: g * E.exp(y - ans)))

logaddexp2 = _binary(
    "logaddexp2", np.logaddexp2, numpy=(np.logaddexp2,),
    vjp=(lambda g, ans, x, y: g * E.exp2(x - ans), lambda g, ans, x, y: g * E.exp2(y - ans)))

fmax = _binary(
    "fmax", np.fmax, numpy=(np.fmax,),
    vjp=(lambda g, ans, x, y: g * E._balanced_eq(x, ans, y),
         lambda g, ans, x, y: g * E._balanced_eq(y, ans, x)),
    doc="``np.fmax``: like maximum, but a NaN loses (its operand gets no gradient).")

fmin = _binary(
    "fmin", np.fmin, numpy=(np.fmin,),
    vjp=(lambda g, ans, x, y: g * E._balanced_eq(x, ans, y),
         lambda g, ans, x, y: g * E._balanced_eq(y, ans, x)),
    doc="``np.fmin``: like minimum, but a NaN loses (its operand gets no gradient).")

fmod = _binary(
    "fmod", np.fmod, numpy=(np.fmod, math.fmod), domain=(0.5, 3.0),
    vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: -g * E.trunc(x / y)),
    doc="``np.fmod``: x - trunc(x / y) * y (the sign of x, unlike ``remainder``).")


def _signs_match(x, y):
    """d copysign(x, y) / dx: +1 where x already has y's sign, -1 where it flips."""
    return copysign(1.0, x) * copysign(1.0, y)


copysign = Primitive(
    "copysign", np.copysign, family=Elementwise, numpy=(np.copysign, math.copysign),
    vjp=(lambda g, ans, x, y: g * _signs_match(x, y), None),
    jvp=(lambda t, ans, x, y: t * _signs_match(x, y), None),
    # y in float32: it carries no derivative, and must not promote a float32 x.
    examples=lambda rng: [((rng.uniform(0.5, 2, (4,)) * np.array([1, -1, 1, -1]),
                            rng.normal(size=(4,)).astype(np.float32)), {}),
                          ((rng.uniform(0.5, 2, (2, 3)) * -1,
                            rng.normal(size=(3,)).astype(np.float32)), {})],
    doc="|x| with the sign of y: its derivative in y is zero.")

ldexp = Primitive(
    "ldexp", np.ldexp, family=Elementwise, numpy=(np.ldexp, math.ldexp),
    vjp=(lambda g, ans, x, i: ldexp(g, i), None),
    jvp=(lambda t, ans, x, i: ldexp(t, i), None),
    examples=lambda rng: [((rng.normal(size=(3,)), np.array([0, 2, -1])), {}),
                          ((rng.normal(size=(2, 3)), np.array(3)), {})],
    doc="``x * 2**i`` for integer ``i``: linear in x.")


@implements(np.float_power, examples=lambda rng: [
    ((rng.uniform(0.5, 2, (3,)), rng.uniform(-1, 2, (3,))), {}),
    ((rng.uniform(0.5, 2, (2, 3)), 2.5), {})])
def float_power(x1, x2):
    """``np.float_power``: ``x1 ** x2`` computed in (at least) float64, as numpy does."""
    dtype = np.result_type(dtype_of(x1), dtype_of(x2), np.float64)
    return E.power(astype(x1, dtype=dtype), astype(x2, dtype=dtype))



@implements(np.divmod, examples=lambda rng: [
    ((rng.uniform(0.5, 3, (3,)), rng.uniform(0.5, 2, (3,))), {})])
def divmod_(x1, x2):
    """``np.divmod``: ``(x1 // x2, x1 % x2)``; only the remainder carries a derivative."""
    return E.floor_divide(x1, x2), E.remainder(x1, x2)


@implements(math.hypot, examples=lambda rng: [
    ((rng.uniform(0.5, 2, ()), rng.uniform(0.5, 2, ()), rng.uniform(0.5, 2, ())), {})])
def math_hypot(*coordinates):
    """``math.hypot(*coordinates)``: the Euclidean norm of any number of scalars."""
    out = E.square(coordinates[0]) if coordinates else 0.0
    for c in coordinates[1:]:
        out = out + E.square(c)
    return E.sqrt(out)


# --- the operator module ----------------------------------------------------------
# ``operator.add(x, y)`` resolves to gradlab's ``add`` like ``np.add`` does. Python's
# sequence meanings (``operator.add([1], [x])`` concatenates) stay Python's: only a
# traced operand itself, not one inside a list, selects the primitive.
def _operator_form(op, prim):
    def gradlab_operator(*args):
        if any(isinstance(a, Tracer) for a in args):
            return prim(*args)
        return op(*args)

    gradlab_operator.__name__ = f"operator_{op.__name__}"
    gradlab_operator.__doc__ = f"``operator.{op.__name__}`` on traced values: ``{prim.name}``."
    return gradlab_operator


def _operator_table():
    from .linalg import matmul

    return {operator.add: E.add, operator.sub: E.subtract, operator.mul: E.multiply,
            operator.truediv: E.divide, operator.floordiv: E.floor_divide,
            operator.mod: E.remainder, operator.pow: E.power, operator.neg: E.negative,
            operator.pos: E.positive, operator.abs: E.absolute, operator.matmul: matmul,
            operator.lt: E.less, operator.le: E.less_equal, operator.gt: E.greater,
            operator.ge: E.greater_equal, operator.eq: E.equal, operator.ne: E.not_equal}


OPERATORS = {}
for _op, _prim in _operator_table().items():
    OPERATORS[_op] = implements(_op)(_operator_form(_op, _prim))
