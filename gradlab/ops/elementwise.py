"""Elementwise maps: unary ufuncs, arithmetic, comparisons, ``where``.

A unary map is declared by its derivative ``d(ans, x)``; both rules follow from it
(``vjp = g * d``, ``jvp = t * d``), so the derivative is written exactly once.
Rounding maps (``floor``, ``round``, ``sign``...) and comparisons are zero-derivative
primitives: they still batch under ``vmap``.

>>> import numpy as np, gradlab as gl
>>> print(f"{gl.grad(lambda x: np.log2(x) + np.floor(x) * x)(2.5):.6f}")  # 1/(x ln 2) + 2
2.577078
"""

from __future__ import annotations

import dis
import math

import numpy as np

from ..core.primitive import Primitive, implements
from ..precision.dtypes import accumulation_dtype
from .complex import abs_derivative, real
from .families import Elementwise
from .misc import convert, dtype_of


def unary(name, impl, derivative=None, numpy=(), domain=(-2.0, 2.0), doc="", over=None):
    """Declare an elementwise unary primitive from its derivative ``derivative(ans, x)``,
    or from ``over(ans, x)`` where the derivative is ``1 / over(ans, x)`` (the rules then
    divide once instead of taking a reciprocal and multiplying: ``log``'s is ``g / x``).

    What the tape keeps follows from the derivative's code: ``tanh``'s reads only its
    result, ``sin``'s only its operand, so the other is not held for the backward pass.
    """
    if over is not None:
        return Primitive(
            name, impl, family=Elementwise, numpy=numpy, domain=domain, doc=doc,
            vjp=lambda g, ans, x: g / over(ans, x), jvp=lambda t, ans, x: t / over(ans, x),
            saves=_reads(over))
    return Primitive(
        name, impl, family=Elementwise, numpy=numpy, domain=domain, doc=doc,
        vjp=lambda g, ans, x: g * derivative(ans, x),
        jvp=lambda t, ans, x: t * derivative(ans, x),
        saves=_reads(derivative))


# opcode -> whether its argument packs two local indices (3.13's LOAD_FAST_LOAD_FAST), for
# every instruction that reads a local: LOAD_FAST and its variants, LOAD_DEREF
_READS_LOCAL = {op: name.count("LOAD_FAST") == 2 for name, op in dis.opmap.items()
                if name.startswith("LOAD_FAST") or name == "LOAD_DEREF"}


def _reads(derivative) -> tuple:
    """Which of ``derivative(ans, x)``'s parameters its code reads: ``"ans"`` and/or 0.

    Scans the raw bytecode (``dis.get_instructions`` costs 20 µs a function at import).
    An index misread (an ``EXTENDED_ARG``'s low byte) can only add a parameter: the tape
    then keeps a value it need not, never drops one a rule reads.
    """
    code = derivative.__code__
    names = code.co_varnames
    read = set(code.co_cellvars)  # captured by a nested function: count it as read
    raw = code.co_code
    for k in range(0, len(raw), 2):
        pair = _READS_LOCAL.get(raw[k])
        if pair is not None:
            arg = raw[k + 1]
            read.update(names[i] for i in ((arg >> 4, arg & 15) if pair else (arg,))
                        if i < len(names))
    ans_name, x_name = names[:2]
    return (("ans",) if ans_name in read else ()) + ((0,) if x_name in read else ())


def nondiff(name, impl, numpy=(), nin=1, doc=""):
    """Declare an elementwise primitive whose derivative is zero (or undefined) everywhere."""
    return Primitive(name, impl, family=Elementwise, numpy=numpy, nin=nin,
                     differentiable=False, doc=doc)


# --- arithmetic ---------------------------------------------------------------
negative = Primitive("negative", np.negative, numpy=(np.negative,),
                     vjp=lambda g, ans, x: negative(g), jvp=lambda t, ans, x: negative(t))
add = Primitive("add", np.add, numpy=(np.add,),
                vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: g),
                jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: t))
subtract = Primitive("subtract", np.subtract, numpy=(np.subtract,),
                     vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: negative(g)),
                     jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: negative(t)))
multiply = Primitive("multiply", np.multiply, numpy=(np.multiply,),
                     vjp=(lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x),
                     jvp=(lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t))
divide = Primitive("divide", np.divide, numpy=(np.divide, np.true_divide),
                   vjp=(lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y),
                   jvp=(lambda t, ans, x, y: t / y, lambda t, ans, x, y: -t * ans / y),
                   domain=(0.5, 2.0))


def _safe_log(x):
    """log(x) where x > 0 and 0 elsewhere: the y-derivative of x**y where it exists."""
    if isinstance(x, (int, float)):  # a Python constant stays weakly typed (float32 stays)
        return math.log(x) if x > 0 else 0.0
    return log(where(x > 0, x, 1.0))


def _power_dx(x, y):
    """d(x**y)/dx = y * x**(y - 1), and 0 where y == 0 (not 0 * inf at x == 0)."""
    if isinstance(y, (int, float)):  # a Python constant exponent stays weakly typed
        return y * x ** (y - 1) if y != 0 else 0.0 * x
    return y * x ** where(y == 0, 1.0, y - 1)


power = Primitive(
    "power", np.power, numpy=(np.power, math.pow), domain=(0.5, 2.0),
    vjp=(lambda g, ans, x, y: g * _power_dx(x, y),
         lambda g, ans, x, y: g * ans * _safe_log(x)),
    jvp=(lambda t, ans, x, y: t * _power_dx(x, y),
         lambda t, ans, x, y: t * ans * _safe_log(x)))


def _balanced_eq(x, ans, y):
    """1 where x won, 1/2 where x and y tie: ties split the gradient evenly (as autograd)."""
    dtype = dtype_of(ans)
    return convert(x == ans, dtype) / (convert(x == y, dtype) + 1)


# maximum and minimum share their rules: the derivative flows to whichever operand won.
_WINNER_TAKES = {
    "vjp": (lambda g, ans, x, y: g * _balanced_eq(x, ans, y),
            lambda g, ans, x, y: g * _balanced_eq(y, ans, x)),
    "jvp": (lambda t, ans, x, y: t * _balanced_eq(x, ans, y),
            lambda t, ans, x, y: t * _balanced_eq(y, ans, x)),
}
maximum = Primitive("maximum", np.maximum, numpy=(np.maximum,), **_WINNER_TAKES)
minimum = Primitive("minimum", np.minimum, numpy=(np.minimum,), **_WINNER_TAKES)

# --- unary maps -----------------------------------------------------------------
exp = unary("exp", np.exp, lambda ans, x: ans, numpy=(np.exp, math.exp))
log = unary("log", np.log, over=lambda ans, x: x, numpy=(np.log, math.log),
            domain=(0.2, 3.0))
log1p = unary("log1p", np.log1p, over=lambda ans, x: x + 1.0,
              numpy=(np.log1p, math.log1p), domain=(-0.5, 2.0))
expm1 = unary("expm1", np.expm1, lambda ans, x: ans + 1.0, numpy=(np.expm1, math.expm1))
sqrt = unary("sqrt", np.sqrt, lambda ans, x: 0.5 / ans, numpy=(np.sqrt, math.sqrt),
             domain=(0.2, 3.0))
sin = unary("sin", np.sin, lambda ans, x: cos(x), numpy=(np.sin, math.sin))
cos = unary("cos", np.cos, lambda ans, x: -sin(x), numpy=(np.cos, math.cos))
tan = unary("tan", np.tan, lambda ans, x: 1.0 + ans * ans, numpy=(np.tan, math.tan),
            domain=(-1.2, 1.2))
tanh = unary("tanh", np.tanh, lambda ans, x: 1.0 - ans * ans, numpy=(np.tanh, math.tanh))
sinh = unary("sinh", np.sinh, lambda ans, x: cosh(x), numpy=(np.sinh, math.sinh))
cosh = unary("cosh", np.cosh, lambda ans, x: sinh(x), numpy=(np.cosh, math.cosh))
arcsin = unary("arcsin", np.arcsin, over=lambda ans, x: sqrt(1.0 - x * x),
               numpy=(np.arcsin, math.asin), domain=(-0.9, 0.9))
arccos = unary("arccos", np.arccos, lambda ans, x: -1.0 / sqrt(1.0 - x * x),
               numpy=(np.arccos, math.acos), domain=(-0.9, 0.9))
arctan = unary("arctan", np.arctan, over=lambda ans, x: 1.0 + x * x,
               numpy=(np.arctan, math.atan))
absolute = Primitive("absolute", np.abs, numpy=(np.abs, np.absolute, math.fabs, np.fabs),
                     domain=(0.1, 2.0),
                     vjp=lambda g, ans, x: g * abs_derivative(ans, x),
                     jvp=lambda t, ans, x: real(t * abs_derivative(ans, x)))
positive = Primitive("positive", np.positive, numpy=(np.positive,),
                     vjp=lambda g, ans, x: g, jvp=lambda t, ans, x: t)
_LN2, _LN10 = math.log(2.0), math.log(10.0)  # Python floats: they keep float32 float32
exp2 = unary("exp2", np.exp2, lambda ans, x: ans * _LN2, numpy=(np.exp2,))
log2 = unary("log2", np.log2, over=lambda ans, x: x * _LN2, numpy=(np.log2, math.log2),
             domain=(0.2, 3.0))
log10 = unary("log10", np.log10, over=lambda ans, x: x * _LN10,
              numpy=(np.log10, math.log10), domain=(0.2, 3.0))
arcsinh = unary("arcsinh", np.arcsinh, over=lambda ans, x: sqrt(x * x + 1.0),
                numpy=(np.arcsinh, math.asinh))
arccosh = unary("arccosh", np.arccosh, over=lambda ans, x: sqrt(x * x - 1.0),
                numpy=(np.arccosh, math.acosh), domain=(1.2, 3.0))
arctanh = unary("arctanh", np.arctanh, over=lambda ans, x: 1.0 - x * x,
                numpy=(np.arctanh, math.atanh), domain=(-0.9, 0.9))
cbrt = unary("cbrt", np.cbrt, over=lambda ans, x: 3.0 * ans * ans, numpy=(np.cbrt,),
             domain=(0.2, 3.0))
deg2rad = unary("deg2rad", np.deg2rad, lambda ans, x: math.pi / 180.0,
                numpy=(np.deg2rad, np.radians, math.radians), domain=(-90.0, 90.0))
rad2deg = unary("rad2deg", np.rad2deg, lambda ans, x: 180.0 / math.pi,
                numpy=(np.rad2deg, np.degrees, math.degrees))


def _sinc_derivative(ans, x):
    """``(cos(pi x) - sinc(x)) / x``, and its limit 0 at x == 0."""
    zero = x == 0
    safe = where(zero, 1.0, x)
    return where(zero, 0.0, (cos(math.pi * x) - ans) / safe)


sinc = unary("sinc", np.sinc, _sinc_derivative, numpy=(np.sinc,), domain=(0.2, 2.0),
             doc="Normalised sinc; its derivative at 0 is exact (0), its second there is not.")

# --- zero-derivative maps and comparisons ---------------------------------------
sign = nondiff("sign", np.sign, numpy=(np.sign,))
floor = nondiff("floor", np.floor, numpy=(np.floor,))
ceil = nondiff("ceil", np.ceil, numpy=(np.ceil,))
greater = nondiff("greater", np.greater, numpy=(np.greater,), nin=2)
greater_equal = nondiff("greater_equal", np.greater_equal, numpy=(np.greater_equal,), nin=2)
less = nondiff("less", np.less, numpy=(np.less,), nin=2)
less_equal = nondiff("less_equal", np.less_equal, numpy=(np.less_equal,), nin=2)
equal = nondiff("equal", np.equal, numpy=(np.equal,), nin=2)
not_equal = nondiff("not_equal", np.not_equal, numpy=(np.not_equal,), nin=2)
floor_divide = nondiff("floor_divide", np.floor_divide, numpy=(np.floor_divide,), nin=2)
rint = nondiff("rint", np.rint, numpy=(np.rint,))
trunc = nondiff("trunc", np.trunc, numpy=(np.trunc, np.fix))
signbit = nondiff("signbit", np.signbit, numpy=(np.signbit,))
heaviside = nondiff("heaviside", np.heaviside, numpy=(np.heaviside,), nin=2)


def _round_impl(x, *, decimals=0):
    return np.round(x, decimals)


round = Primitive(  # noqa: A001 - the numpy name
    "round", _round_impl, family=Elementwise, numpy=(np.round, np.around),
    params=("decimals",), differentiable=False,
    doc="``np.round(x, decimals)``: piecewise constant, so its derivative is zero.")


def _where_impl(c, x, y):
    out = np.where(c, x, y)
    if type(x) is float or type(y) is float:  # ml_dtypes: where(c, 1.0, bf16) is float32
        other = y if type(x) is float else x
        dt = getattr(other, "dtype", None)
        if dt is not None and dt != out.dtype and accumulation_dtype(dt) is not None:
            return out.astype(dt)
    return out


where = Primitive(
    "where", _where_impl, numpy=(),
    vjp=(None, lambda g, ans, c, x, y: where(c, g, 0.0),
         lambda g, ans, c, x, y: where(c, 0.0, g)),
    jvp=(None, lambda t, ans, c, x, y: where(c, t, 0.0),
         lambda t, ans, c, x, y: where(c, 0.0, t)),
    examples=lambda rng: [((rng.uniform(size=(2, 3)) > 0.5, rng.normal(size=(2, 3)),
                            rng.normal(size=(3,))), {})])


@implements(np.where)
def where_(condition, x=None, y=None):
    """``np.where(c, x, y)``; the one-argument form (indices) passes through as numpy's."""
    if x is None and y is None:
        from .constants import nonzero

        return nonzero(condition)
    return where(condition, x, y)


remainder = Primitive(
    "remainder", np.remainder, numpy=(np.remainder, np.mod), domain=(0.5, 3.0),
    vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: -g * floor_divide(x, y)),
    jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: -t * floor_divide(x, y)))


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002
    """``np.clip`` as ``minimum(maximum(a, lo), hi)``: gradient 1 inside, 0 outside
    (``min=``/``max=`` are numpy 2's names for ``a_min``/``a_max``)."""
    if out is not None:
        raise TypeError("np.clip(..., out=...) writes in place, which a traced array cannot "
                        "do; use the returned value")
    a_min = min if a_min is None else a_min
    a_max = max if a_max is None else a_max
    out = a
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


@implements(np.square)
def square(x):
    """``x * x``."""
    return x * x


@implements(np.reciprocal)
def reciprocal(x):
    """``1 / x``."""
    return 1.0 / x
