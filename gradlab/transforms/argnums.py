"""``argnums=``: JAX's spelling of autograd's ``argnum``, accepted by every transform.

>>> import numpy as np, gradlab as gl
>>> float(gl.grad(lambda x, y: x * y, argnums=1)(2.0, 3.0))
2.0
"""

from __future__ import annotations

import functools


def accepts_argnums(transform):
    """``transform(fun, ..., argnums=n)`` as ``transform(fun, ..., argnum=n)``."""

    @functools.wraps(transform)
    def wrapper(*args, argnums=None, **kwargs):
        if argnums is not None:
            if "argnum" in kwargs:
                raise TypeError(f"{transform.__name__}: pass argnum or argnums, not both")
            kwargs["argnum"] = tuple(argnums) if isinstance(argnums, list) else argnums
        return transform(*args, **kwargs)

    return wrapper
