"""dtypes at a transform's boundary: a derivative has the dtype of what it is the derivative of.

A gradient with respect to a float32 argument is float32 however the program promotes
inside (``x32 @ x32.T + 3.0 * np.eye(3)`` computes in float64), a complex64
argument's is complex64, and a tangent has the dtype of the primal output: as in JAX
and PyTorch. Every transform casts through ``cast_like`` where its results leave it.

>>> import numpy as np, gradlab as gl
>>> x = np.ones((3, 2), np.float32)
>>> gl.grad(lambda x: np.sum(x @ x.T + 3.0 * np.eye(3)))(x).dtype
dtype('float32')
"""

from __future__ import annotations

import numpy as np

from ..core.trace import Tracer


def dtype_of(x) -> np.dtype:
    dtype = getattr(x, "dtype", None)  # arrays, numpy scalars and tracers
    return dtype if dtype is not None else np.result_type(x)


def is_float_dtype(dtype) -> bool:
    """Float or complex, including ml_dtypes' floats (bfloat16, float8_*: numpy kind 'V')."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return True
    return (dtype.kind == "V" and "float" in dtype.name
            and getattr(dtype.type, "__module__", "").startswith("ml_dtypes"))


def cast_like(value, like):
    """``value`` in ``like``'s dtype where both are float and they differ (traced values
    through the differentiable ``astype``, so higher derivatives see the cast)."""
    if value is None:
        return value
    target, dtype = dtype_of(like), dtype_of(value)
    if target == dtype or not is_float_dtype(target) or not is_float_dtype(dtype):
        return value
    if dtype.kind == "c" and target.kind != "c":
        from ..ops.complex import real

        value = real(value)
    if isinstance(value, Tracer):
        from ..ops.misc import astype

        return astype(value, dtype=target)
    out = np.asarray(value).astype(target)
    return out if isinstance(value, np.ndarray) or out.ndim else out[()]
