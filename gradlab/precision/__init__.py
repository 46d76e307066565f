"""Precision: low-precision dtypes (ml_dtypes), mixed-precision policies, loss scaling.

``gradlab.precision.dtypes`` is imported by the ops (it needs only numpy); the policy
and the loss scaler load on first use.

>>> import gradlab as gl
>>> with gl.precision.policy(compute="bfloat16", params="float32", output="float32") as p:
...     p.compute
dtype(bfloat16)
"""

from __future__ import annotations

from .dtypes import (
    LOW_PRECISION_NAMES,
    accumulation_dtype,
    is_float_dtype,
    is_low_precision,
    resolve_dtype,
)

_LAZY = {"policy": ".policies", "Policy": ".policies", "current_policy": ".policies",
         "LossScaler": ".scaling"}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'gradlab.precision' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


__all__ = ["LOW_PRECISION_NAMES", "accumulation_dtype", "is_float_dtype", "is_low_precision",
           "resolve_dtype", *_LAZY]
