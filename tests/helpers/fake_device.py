"""A stand-in for CuPy on machines without a GPU: an array type that is *not* a numpy
array, and a module of numpy-like functions over it.

``FakeArray`` behaves as CuPy's ndarray does towards numpy: numpy calls on it are
routed through ``__array_ufunc__`` / ``__array_function__`` to this module; it refuses
implicit conversion to a numpy array (``np.asarray(x)`` raises TypeError, as CuPy's
does), and refuses numpy arrays as operands next to it (CuPy raises TypeError). So
code that works on FakeArrays meets CuPy's rules; the values underneath are numpy's,
so results can be compared exactly with the numpy path.

``NO_FAKE_PATH`` lists numpy functions this fake module pretends not to implement,
to exercise the "no path for this op" error.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

NO_FAKE_PATH = {np.linalg.eigh, np.linalg.eigvalsh}


class FakeArray(NDArrayOperatorsMixin):
    """A device array: wraps a numpy array that the rest of the program must not see."""

    __array_priority__ = 2000.0

    def __init__(self, value):
        self._value = np.asarray(value)

    # -- what CuPy refuses ------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    # -- numpy's protocols ------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for x in inputs:  # another library's array (a gradlab tracer): let it handle this
            if type(x) not in (FakeArray, np.ndarray, tuple) and hasattr(x, "__array_ufunc__") \
                    and not isinstance(x, np.generic):
                return NotImplemented
        args = [_unwrap_all(x) if type(x) is tuple else _unwrap(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*args, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if func in NO_FAKE_PATH:
            return NotImplemented  # numpy then raises TypeError, as for a missing CuPy path
        return _wrap(func(*_unwrap_all(args), **_unwrap_all(kwargs)))

    # -- the ndarray surface gradlab and numpy code use --------------------------------
    shape = property(lambda self: self._value.shape)
    dtype = property(lambda self: self._value.dtype)
    ndim = property(lambda self: self._value.ndim)
    size = property(lambda self: self._value.size)
    T = property(lambda self: FakeArray(self._value.T))
    real = property(lambda self: FakeArray(self._value.real))
    imag = property(lambda self: FakeArray(self._value.imag))

    def __len__(self):
        return len(self._value)

    def __repr__(self):
        return f"FakeArray({self._value!r})"

    def __getitem__(self, idx):
        return _wrap(self._value[_unwrap_all(idx)])

    def __setitem__(self, idx, v):
        self._value[_unwrap_all(idx)] = _unwrap(v)

    def __float__(self):  # CuPy copies a 0-d array to the host for float()
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __bool__(self):
        return bool(self._value)

    def __iter__(self):
        return (_wrap(v) for v in self._value)

    def get(self):
        return self._value.copy()

    def item(self):
        return self._value.item()

    def tolist(self):
        return self._value.tolist()

    def __getattr__(self, name):  # astype, reshape, swapaxes, sum, conj, copy, ...
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._value, name)
        if not callable(attr):
            return _wrap(attr)
        return lambda *a, **k: _wrap(attr(*_unwrap_all(a), **_unwrap_all(k)))


def _unwrap(x):
    if type(x) is FakeArray:
        return x._value
    if type(x) is np.ndarray:
        raise TypeError(f"Unsupported type {type(x)}")  # CuPy will not mix in host arrays
    return x


def _unwrap_all(x):
    if type(x) is FakeArray:
        return x._value
    if type(x) in (list, tuple):
        return type(x)(_unwrap_all(v) for v in x)
    if type(x) is dict:
        return {k: _unwrap_all(v) for k, v in x.items()}
    if type(x) is np.ndarray:
        if x.dtype.kind in "biu":  # index arrays are accepted (CuPy copies them over)
            return x
        raise TypeError(f"Unsupported type {type(x)}")
    return x


def _wrap(x):
    if type(x) is np.ndarray:
        return FakeArray(x)
    if isinstance(x, np.generic):  # CuPy returns 0-d device arrays, never host scalars
        return FakeArray(np.asarray(x))
    if type(x) is tuple:
        return tuple(_wrap(v) for v in x)
    if type(x) is list:
        return [_wrap(v) for v in x]
    if hasattr(x, "_fields") and isinstance(x, tuple):  # named results (slogdet, eigh)
        return type(x)(*(_wrap(v) for v in x))
    return x


class _FakeModule:
    """``fakecupy``: numpy's functions, taking and returning FakeArrays."""

    __name__ = "fakecupy"
    ndarray = FakeArray

    def __getattr__(self, name):
        fn = getattr(np, name)
        if not callable(fn):
            return fn
        return lambda *a, **k: _wrap(fn(*_unwrap_all(a), **_unwrap_all(k)))

    def asarray(self, x, dtype=None):
        if type(x) is FakeArray:
            return x if dtype is None else FakeArray(x._value.astype(dtype))
        return FakeArray(np.array(x, dtype=dtype))

    def asnumpy(self, x):
        return x._value.copy() if type(x) is FakeArray else np.asarray(x)

    def get_array_module(self, *args):
        return self if any(type(a) is FakeArray for a in args) else np


fakecupy = _FakeModule()
