"""More ``ndarray`` methods on traced values (the arithmetic core lives in ``operators.py``).

``x.argmax()``, ``x.cumsum(axis)``, ``x.round(2)``, ``x.take(i)``, ``x.diagonal()``...
call the same gradlab functions as their ``np.*`` spellings. The methods that mutate
an ndarray in place (``x.sort()``, ``x.fill(v)``, ``x.put(...)``) raise
``InPlaceMutationError`` naming the functional spelling, and ``x.item()``/``x.tolist()``
refuse like ``float(x)`` does (the value would lose its derivative).

>>> import numpy as np, gradlab as gl
>>> gl.grad(lambda x: x.cumsum()[-1] * x.argmax())(np.array([1.0, 3.0])).tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from ..core.errors import InPlaceMutationError, user_location
from ..core.trace import Tracer
from . import constants as C
from . import contract as K
from . import cumulative as U
from . import elementwise as E
from . import index as I
from . import manip as P
from . import sorting as O


def _in_place(method, instead):
    def refuse(self, *args, **kwargs):
        raise InPlaceMutationError(
            f"x.{method}(...) mutates a traced array in place at {user_location()}; traced "
            f"arrays are immutable. Use {instead} instead.")

    return refuse


def _refuse(what):
    def refuse(self, *args, **kwargs):
        self._refuse(what)

    return refuse


_METHODS = {
    "argmax": lambda self, axis=None, out=None, keepdims=False: C.argmax(
        self, axis=axis, keepdims=keepdims),
    "argmin": lambda self, axis=None, out=None, keepdims=False: C.argmin(
        self, axis=axis, keepdims=keepdims),
    "argsort": lambda self, axis=-1, kind=None, order=None: O.argsort(self, axis=axis,
                                                                      kind=kind),
    "all": lambda self, axis=None, out=None, keepdims=False: C.all_(self, axis=axis,
                                                                     keepdims=keepdims),
    "any": lambda self, axis=None, out=None, keepdims=False: C.any_(self, axis=axis,
                                                                     keepdims=keepdims),
    "nonzero": lambda self: C.nonzero(self),
    "cumsum": lambda self, axis=None, dtype=None, out=None: U.cumsum(self, axis, dtype),
    "cumprod": lambda self, axis=None, dtype=None, out=None: U.cumprod(self, axis, dtype),
    "round": lambda self, decimals=0, out=None: E.round(self, decimals=decimals),
    "repeat": lambda self, repeats, axis=None: P.repeat(self, repeats, axis),
    "take": lambda self, indices, axis=None, out=None, mode="raise": I.take(
        self, indices, axis, mode=mode),
    "diagonal": lambda self, offset=0, axis1=0, axis2=1: P.diagonal(self, offset, axis1, axis2),
    "trace": lambda self, offset=0, axis1=0, axis2=1, dtype=None, out=None: K.trace(
        self, offset, axis1, axis2),
    "searchsorted": lambda self, v, side="left", sorter=None: O.searchsorted(
        self, v, side=side, sorter=sorter),
    "copy": lambda self, order="C": self,  # traced arrays are immutable: no copy needed
    "__round__": lambda self, ndigits=None: E.round(self, decimals=ndigits or 0),
    "__floor__": lambda self: E.floor(self),
    "__ceil__": lambda self: E.ceil(self),
    "__trunc__": lambda self: E.trunc(self),
    "sort": _in_place("sort", "x = np.sort(x)"),
    "partition": _in_place("partition", "x = np.partition(x, kth)"),
    "fill": _in_place("fill", "x = np.full_like(x, value)"),
    "put": _in_place("put", "x = x.at[np.unravel_index(ind, x.shape)].set(v)"),
    "item": _refuse("a Python scalar (x.item())"),
    "tolist": _refuse("a Python list (x.tolist())"),
}

for _name, _fn in _METHODS.items():
    if not hasattr(Tracer, _name):  # operators.py (and complex.py) define the core ones
        setattr(Tracer, _name, _fn)
