"""``scipy.signal.convolve`` (N-D, every ``mode`` and ``method``), and its 2-D/FFT spellings.

Every mode's output is the centred part of the full convolution, so the cotangent
of either input is the full-size cotangent (zeros around ``g``) correlated with the
other input: a ``'valid'`` convolution with the other input flipped. Convolution
is bilinear, so its JVP is ``conv(da, b) + conv(a, db)``; with autograd's complex
convention nothing is conjugated.

>>> import numpy as np, gradlab as gl
>>> from scipy.signal import convolve
>>> gl.grad(lambda a: convolve(a, np.array([1.0, 2.0]))[1])(np.array([1.0, 1.0])).tolist()
[2.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.signal as ss

from .._types import Array
from ..core.primitive import Primitive, implements
from ..core.shapes import ShapeDtypeStruct
from ..ops.families import Family, Structural
from ..ops.index import index_add_p
from ..ops.shape import expand_dims, moveaxis
from ..precision.dtypes import computes_in_float32


def _out_shape(s1, s2, mode):
    """scipy's output shape for ``mode`` (``'valid'`` needs one input to contain the other)."""
    full = tuple(a + b - 1 for a, b in zip(s1, s2))
    if mode == "full":
        return full
    if mode == "same":
        return tuple(s1)
    if mode == "valid":
        if all(a >= b for a, b in zip(s1, s2)) or all(b >= a for a, b in zip(s1, s2)):
            return tuple(abs(a - b) + 1 for a, b in zip(s1, s2))
        raise ValueError("For 'valid' mode, one must be at least as large as the other in "
                         "every dimension")
    raise ValueError("Acceptable mode flags are 'valid', 'same', or 'full'.")


def _centre(shape, full):
    return tuple(slice((f - n) // 2, (f - n) // 2 + n) for n, f in zip(shape, full))


def _convolve_impl(a, b, *, mode="full", method="auto"):
    return ss.convolve(a, b, mode=mode, method=method)


def _flip(x):
    return x[(slice(None, None, -1),) * np.ndim(x)]


def _full_cotangent(g, a, b):
    """``g`` placed at its centred position in a zero array of the full output's shape."""
    full = tuple(m + n - 1 for m, n in zip(np.shape(a), np.shape(b)))
    if np.shape(g) == full:
        return g
    dtype = np.result_type(g.dtype if hasattr(g, "dtype") else g)
    return index_add_p(np.zeros(full, dtype), g, idx=_centre(np.shape(g), full))


def _convolve_vjp(i):
    def vjp(g, ans, a, b, *, mode="full", method="auto"):
        other = b if i == 0 else a
        return convolve_p(_full_cotangent(g, a, b), _flip(other), mode="valid", method=method)

    return vjp


def _batch_convolve(prim, args, dims, params):
    """One batched operand: a size-1 kernel axis keeps the examples apart, so one call
    of full convolution in N+1 dimensions does them all, and each mode is its centre."""
    (a, b), (da, db) = args, dims
    if da is not None and db is not None:
        return Family.batch(prim, args, dims, params)  # both batched: a loop
    s1 = np.shape(a)[1:] if da is not None else np.shape(a)
    s2 = np.shape(b)[1:] if db is not None else np.shape(b)
    a = moveaxis(a, da, 0) if da is not None else expand_dims(a, 0)
    b = moveaxis(b, db, 0) if db is not None else expand_dims(b, 0)
    full = prim(a, b, mode="full", method=params.get("method", "auto"))
    shape = _out_shape(s1, s2, params.get("mode", "full"))
    per_example = tuple(m + n - 1 for m, n in zip(s1, s2))
    return full[(slice(None),) + _centre(shape, per_example)], 0


def _convolve_shape(prim, avals, params):
    a, b = avals
    if len(a.shape) != len(b.shape):
        raise ValueError("in1 and in2 should have the same dimensionality")
    out = _out_shape(a.shape, b.shape, params.get("mode", "full"))
    return ShapeDtypeStruct(out, np.result_type(a.dtype, b.dtype))


def _convolve_examples(rng):
    out = []
    for mode in ("full", "same", "valid"):
        out.append(((rng.normal(size=6), rng.normal(size=3)), {"mode": mode}))
        out.append(((rng.normal(size=(4, 5)), rng.normal(size=(2, 3))), {"mode": mode}))
    out.append(((rng.normal(size=3), rng.normal(size=5)), {"mode": "valid"}))
    out.append(((rng.normal(size=(3, 4)), rng.normal(size=(2, 2))),
                {"mode": "same", "method": "fft"}))
    return out


convolve_p = Primitive(
    "convolve", computes_in_float32(_convolve_impl), family=Structural, params=("mode", "method"),
    vjp=(_convolve_vjp(0), _convolve_vjp(1)),
    jvp=(lambda t, ans, a, b, **p: convolve_p(t, b, **p),
         lambda t, ans, a, b, **p: convolve_p(a, t, **p)),
    batch=_batch_convolve, shape=_convolve_shape, examples=_convolve_examples,
    doc="scipy.signal.convolve: N-D convolution, modes 'full', 'same', 'valid'.")


@implements(ss.convolve, examples=_convolve_examples)
def convolve(in1: Array, in2: Array, mode: str = "full", method: str = "auto") -> Array:
    """``scipy.signal.convolve``; differentiable in both inputs."""
    if np.ndim(in1) != np.ndim(in2):
        raise ValueError("in1 and in2 should have the same dimensionality")
    _out_shape(np.shape(in1), np.shape(in2), mode)  # scipy's errors, before tracing
    return convolve_p(in1, in2, mode=mode, method=method)


@implements(ss.fftconvolve)
def fftconvolve(in1: Array, in2: Array, mode: str = "full",
                axes: Sequence[int] | None = None) -> Array:
    """``scipy.signal.fftconvolve`` over all axes (``axes=None``)."""
    if axes is not None:
        raise NotImplementedError("gradlab's fftconvolve supports axes=None only")
    return convolve(in1, in2, mode=mode, method="fft")


@implements(ss.convolve2d)
def convolve2d(in1: Array, in2: Array, mode: str = "full", boundary: str = "fill",
               fillvalue: float = 0) -> Array:
    """``scipy.signal.convolve2d`` with zero fill (the only boundary with a rule here)."""
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError("convolve2d inputs must both be 2-D arrays")
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(
            "gradlab's convolve2d supports boundary='fill' with fillvalue=0 only")
    return convolve(in1, in2, mode=mode, method="direct")
