"""Operator overloading and array methods for every tracer (``Var`` and its kin).

``x + y``, ``x @ w``, ``x[idx]``, ``x.sum(axis=0)``, ``x.T`` ... on a traced value
call the same primitives as the numpy functions do. Comparisons are
zero-derivative primitives, so under ``grad`` they return plain boolean arrays.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import (
    InPlaceMutationError,
    NoRuleError,
    functional_update,
    no_rule_error,
    user_location,
)
from ..core.primitive import NUMPY_TABLE, table_entry
from ..core.trace import Tracer, bind
from . import elementwise as E
from . import index as I
from . import linalg as L
from . import misc as M
from . import reduce as R  # noqa: F401 - registers the np.* reductions the methods call
from . import shape as S
from .constants import PASS_THROUGH

_NO_PARAMS: dict = {}  # shared and never mutated: operators take no parameters


def _op(prim):
    """A binary operator method. With a constant or a tracer of the same level on the other
    side, the tracer's own level processes it directly (bind's search for the top level is
    needed only between levels): operators are the hottest path there is."""

    def method(self, other):
        if isinstance(other, Tracer) and other._trace is not self._trace:
            return bind(prim, self, other)  # two levels: the higher one processes it
        return self._trace.process(prim, (self, other), _NO_PARAMS)

    return method


def _rop(prim):
    def method(self, other):
        if isinstance(other, Tracer) and other._trace is not self._trace:
            return bind(prim, other, self)
        return self._trace.process(prim, (other, self), _NO_PARAMS)

    return method


def _unop(prim):
    return lambda self: self._trace.process(prim, (self,), _NO_PARAMS)


def _shape_arg(args):
    return args[0] if len(args) == 1 and not isinstance(args[0], (int, np.integer)) else args


def _setitem(self, idx, value):
    raise InPlaceMutationError(
        f"in-place assignment to a traced array at {user_location()}\nArrays under a "
        "gradlab transform are immutable; write the functional update instead: "
        f"{functional_update(plain_container=False)}")


def _iter(self):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d traced array")
    return (I.getitem(self, i) for i in range(self.shape[0]))


def _len(self):
    if self.ndim == 0:
        raise TypeError("len() of unsized traced array")
    return self.shape[0]


def _numpy_method(np_fn):
    """``x.sum(...)`` as ``np.sum(x, ...)``: the same positional order and keywords."""
    def method(self, *args, **kwargs):
        return NUMPY_TABLE[np_fn](self, *args, **kwargs)

    method.__name__ = np_fn.__name__
    return method


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """numpy's ufunc protocol (NEP 13): ``ndarray + tracer``, or a ufunc called on a
    traced value from code the call-site rewrite did not reach."""
    if method == "__call__":
        entry = NUMPY_TABLE.get(ufunc)
        if entry is None:
            entry = table_entry(ufunc)
        if entry is not None:
            # ``ndarray * tracer`` in a rule goes straight to gradlab's function; keywords
            # (``where=``, ``dtype=``) go through the entry, which checks them by name
            return entry(*inputs, **kwargs) if kwargs else entry.__gradlab__(*inputs)
        raise no_rule_error(ufunc)
    if method in ("reduce", "accumulate", "outer"):
        out = _ufunc_method(ufunc, method, inputs, kwargs)
        if out is not NotImplemented:
            return out
    raise NoRuleError(
        f"np.{ufunc.__name__}.{method} has no gradlab rule (called on a traced "
        f"value at {user_location()}).\nAdd one with gradlab.primitive(...) (see "
        "docs/rules.md).")


# ufunc methods as the numpy functions they equal (each then takes its own rule path)
_REDUCE = {np.add: np.sum, np.multiply: np.prod, np.maximum: np.max, np.minimum: np.min,
           np.fmax: np.nanmax, np.fmin: np.nanmin, np.logical_and: np.all,
           np.logical_or: np.any}
_ACCUMULATE = {np.add: np.cumsum, np.multiply: np.cumprod}


def _ufunc_method(ufunc, method, inputs, kwargs):
    """``np.add.reduce(x)``, ``np.logaddexp.reduce(x)``, ``np.add.accumulate(x)`` and
    ``ufunc.outer(a, b)`` on traced values; ``NotImplemented`` for the rest."""
    table = NUMPY_TABLE
    if method == "outer":
        a, b = inputs
        a = S.reshape(a, np.shape(a) + (1,) * np.ndim(b))  # a[..., None, ..., None] op b
        return table[ufunc](a, b, **kwargs) if ufunc in table else NotImplemented
    x, *rest = inputs
    axis = rest[0] if rest else kwargs.pop("axis", 0)  # ufunc methods default to axis 0
    if method == "accumulate":
        fn = _ACCUMULATE.get(ufunc)
        return NotImplemented if fn is None else table[fn](x, axis=axis, **kwargs)
    if ufunc is np.logaddexp or ufunc is np.logaddexp2:
        exp, log = (np.exp, np.log) if ufunc is np.logaddexp else (np.exp2, np.log2)
        keepdims = kwargs.pop("keepdims", False)
        if kwargs:
            return NotImplemented
        top = table[np.max](x, axis=axis, keepdims=True)  # the shift cancels in the gradient
        out = top + table[log](table[np.sum](table[exp](x - top), axis=axis, keepdims=True))
        return out if keepdims else table[np.squeeze](out, axis=axis)
    fn = _REDUCE.get(ufunc)
    return NotImplemented if fn is None else table[fn](x, axis=axis, **kwargs)


def _array_function(self, func, types, args, kwargs):
    """numpy's function protocol (NEP 18): a numpy function called on a traced value from
    code the call-site rewrite did not reach (a library's wrapper, a callback through
    ``map``, ``exec``'d code) reaches the same table entry as rewritten code does."""
    if func in PASS_THROUGH:  # reads only shapes and dtypes: numpy's own code, undispatched
        return func._implementation(*args, **kwargs)
    gradlab_fn = table_entry(func)
    if gradlab_fn is not None:
        return gradlab_fn(*args, **kwargs)
    raise no_rule_error(func)


_METHODS = {
    "__add__": _op(E.add), "__radd__": _rop(E.add),
    "__sub__": _op(E.subtract), "__rsub__": _rop(E.subtract),
    "__mul__": _op(E.multiply), "__rmul__": _rop(E.multiply),
    "__truediv__": _op(E.divide), "__rtruediv__": _rop(E.divide),
    "__floordiv__": _op(E.floor_divide), "__rfloordiv__": _rop(E.floor_divide),
    "__mod__": _op(E.remainder), "__rmod__": _rop(E.remainder),
    "__pow__": _op(E.power), "__rpow__": _rop(E.power),
    "__matmul__": _op(L.matmul), "__rmatmul__": _rop(L.matmul),
    "__neg__": _unop(E.negative), "__pos__": lambda self: self, "__abs__": _unop(E.absolute),
    "__lt__": _op(E.less), "__le__": _op(E.less_equal), "__gt__": _op(E.greater),
    "__ge__": _op(E.greater_equal), "__eq__": _op(E.equal), "__ne__": _op(E.not_equal),
    "__getitem__": lambda self, idx: I.getitem(self, idx), "__setitem__": _setitem,
    "__iter__": _iter, "__len__": _len,
    "__array_ufunc__": _array_ufunc, "__array_function__": _array_function,
    "T": property(lambda self: S.transpose(self)),
    "mT": property(lambda self: S.swapaxes(self, -1, -2)),
    "at": property(I.At),
    # Reductions take numpy's keywords (where=, initial=, ddof=...) through np.*'s entry.
    "sum": _numpy_method(np.sum), "mean": _numpy_method(np.mean),
    "max": _numpy_method(np.max), "min": _numpy_method(np.min),
    "prod": _numpy_method(np.prod), "var": _numpy_method(np.var),
    "std": _numpy_method(np.std),
    "reshape": lambda self, *shape, order="C": S.reshape(self, _shape_arg(shape), order=order),
    "transpose": lambda self, *axes: S.transpose(self, _shape_arg(axes) if axes else None),
    "swapaxes": lambda self, a, b: S.swapaxes(self, a, b),
    "squeeze": lambda self, axis=None: S.squeeze(self, axis),
    "ravel": lambda self: S.ravel(self),
    "flatten": lambda self: S.ravel(self),
    "dot": lambda self, other: L.dot(self, other),
    "clip": lambda self, a_min=None, a_max=None: E.clip(self, a_min, a_max),
    # order/casting/subok/copy change nothing for an immutable traced value
    "astype": lambda self, dtype, order="K", casting="unsafe", subok=True, copy=True: M.convert(
        self, dtype),
}

for _name, _fn in _METHODS.items():
    setattr(Tracer, _name, _fn)
