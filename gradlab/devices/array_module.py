"""The array module of a value: numpy for numpy arrays, CuPy for CuPy arrays, and so on.

Primitives do not keep a second, per-device table of implementations. Their impls call
numpy, and numpy hands a call on a CuPy array to CuPy through its own protocols
(``__array_ufunc__``, ``__array_function__``; NEP 13 and 18). Where an impl or a rule
*creates* an array (a zero cotangent, a seed of ones), it asks ``get_array_module`` of
its operands, as ``cupy.get_array_module`` does, and calls that module.

>>> import numpy as np
>>> get_array_module(np.ones(2), 3.0) is np
True
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .._types import Array
from ..core.threads import Lock
from ..core.trace import Tracer

# array type -> its module (numpy, cupy, a registered device's); filled on first sight
_MODULE_OF: dict = {np.ndarray: np, float: np, int: np, complex: np, bool: np}
_LOCK = Lock()


def register_array_type(array_type: type, module: Any) -> None:
    """Declare ``module`` (numpy-like: ``zeros``, ``ones``, ``asarray``...) the array module
    of ``array_type``'s values. CuPy's is found without this (``cupy.get_array_module``)."""
    with _LOCK:
        _MODULE_OF[array_type] = module


def _lookup(array_type, value):
    module = None
    for known, mod in list(_MODULE_OF.items()):
        if issubclass(array_type, known):
            module = mod
            break
    if module is None and issubclass(array_type, np.generic):
        module = np
    if module is None:
        cupy = sys.modules.get("cupy")  # a CuPy array exists only once cupy is imported
        if cupy is not None and isinstance(value, cupy.ndarray):
            module = cupy.get_array_module(value)
    if module is None and hasattr(value, "__array_namespace__"):
        module = value.__array_namespace__()  # the array API standard's own answer
    if module is None:
        return None
    with _LOCK:
        _MODULE_OF[array_type] = module
    return module


def get_array_module(*values: Array) -> Any:
    """The array module of ``values``: the first non-numpy one among them, else numpy.

    Tracers are looked through to the value they box. Python scalars and numpy
    scalars are numpy's.
    """
    for v in values:
        while isinstance(v, Tracer):
            v = v.aval
        module = _MODULE_OF.get(type(v))
        if module is None:
            module = _lookup(type(v), v)
        if module is not None and module is not np:
            return module
    return np


def is_foreign_array(value: Any) -> bool:
    """True for an array that numpy does not own (CuPy, a registered device's)."""
    return get_array_module(value) is not np


def on_device_of(reference: Array, value: Array) -> Array:
    """``value`` (a numpy constant a rule made: a mask, an identity, zeros) on the device of
    ``reference``; on the numpy path, ``value`` itself.

    >>> import numpy as np
    >>> on_device_of(np.ones(2), np.eye(2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    module = get_array_module(reference)
    return value if module is np else module.asarray(value)
