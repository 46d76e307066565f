"""Ops that are neither maps nor reductions: ``stop_gradient``, dtype conversion."""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive
from .families import Elementwise

stop_gradient = Primitive(
    "stop_gradient", lambda x: x, family=Elementwise, nin=1, differentiable=False,
    doc="""The value of ``x``, treated as a constant by every derivative transform.

    >>> import gradlab as gl, numpy as np
    >>> gl.grad(lambda x: x * gl.stop_gradient(x))(3.0)
    3.0
    """)


def dtype_of(x) -> np.dtype:
    """The dtype of an array, a tracer or a Python scalar."""
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def _astype_impl(x, *, dtype):
    # ``x.astype``: a CuPy array stays on its device (np.asarray would copy it to the host)
    return x.astype(dtype) if hasattr(x, "astype") else np.asarray(x).astype(dtype)


def _astype_vjp(g, ans, x, *, dtype):
    into = np.result_type(x.dtype if hasattr(x, "dtype") else x)
    if into.kind != "c" and dtype_of(g).kind == "c":  # a real value's cotangent is real
        from .complex import real

        g = real(g)
    return astype(g, dtype=into)


astype = Primitive(
    "astype", _astype_impl, family=Elementwise, params=("dtype",),
    vjp=_astype_vjp, jvp=lambda t, ans, x, *, dtype: astype(t, dtype=dtype),
    examples=lambda rng: [((rng.normal(size=(3,)),), {"dtype": np.float64})])


cast_exact = Primitive(
    "cast_exact", _astype_impl, family=Elementwise, params=("dtype",), differentiable=False,
    examples=lambda rng: [((rng.normal(size=(3,)) * 5,), {"dtype": np.int32}),
                          ((rng.normal(size=(2, 2)),), {"dtype": np.bool_})],
    doc="A cast into an integer or bool dtype: it carries no derivative.")


def convert(x, dtype):
    """``x.astype(dtype)``: differentiable between float types, constant into integers."""
    from ..precision.dtypes import is_float_dtype, resolve_dtype

    dtype = resolve_dtype(dtype)
    if is_float_dtype(dtype):
        return astype(x, dtype=dtype)
    return cast_exact(x, dtype=dtype)
