"""Helpers for SciPy functions with parameters besides their argument (``gammainc(a, x)``,
``jv(v, x)``): integer parameters that keep the argument's precision, and a rule for a
parameter without a derivative, which raises ``NoRuleError`` naming it."""

from __future__ import annotations

import numpy as np

from ..core.errors import NoRuleError, user_location
from ..ops.misc import convert, dtype_of
from ..precision.dtypes import computes_in_float32


def float_result(fn):
    """``fn``'s impl keeping the precision of its float operands (integer parameters such
    as ``n`` or ``a`` do not promote a float32 argument to float64); low-precision operands
    (bfloat16, float16, float8) are computed in float32, which SciPy has loops for."""

    @computes_in_float32
    def impl(*operands):
        floats = [o for o in operands if np.result_type(o).kind in "fc"]
        dtype = np.result_type(*floats) if floats else np.float64
        return np.asarray(fn(*operands)).astype(dtype, copy=False)

    impl.__name__ = getattr(fn, "__name__", "impl")
    return impl


def float_like(param, x):
    """An integer parameter (``n``, ``a``, ``df``) as ``x``'s float type; floats unchanged."""
    if dtype_of(param).kind in "iub" and dtype_of(x).kind in "fc":
        return convert(param, dtype_of(x))
    return param


def no_derivative(function, parameter):
    """A rule for an operand with no derivative rule: raises ``NoRuleError`` naming it."""

    def rule(*_args, **_params):
        raise NoRuleError(
            f"{function} has no derivative in its parameter {parameter!r} (no closed form; "
            f"gradlab does not approximate it), and {parameter!r} is traced at "
            f"{user_location()}.\nPass it as a constant (or gradlab.stop_gradient(...) it), "
            "or differentiate with respect to the other arguments only.")

    rule.__name__ = f"no_derivative_in_{parameter}"
    return rule
