"""Abstract values: shapes and dtypes without data, and axis arithmetic."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ShapeDtypeStruct(NamedTuple):
    """An array's shape and dtype, standing in for the array in ``eval_shape``."""

    shape: tuple
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


# Python numbers: the operands without ``.shape`` that rules meet most (``1.0 + x``).
PYTHON_NUMBERS = frozenset({float, int, complex, bool})


def shape_of(x) -> tuple:
    """``np.shape(x)`` without numpy's dispatch overhead (rules call this a lot)."""
    try:
        return x.shape
    except AttributeError:
        return () if type(x) in PYTHON_NUMBERS else np.shape(x)


def ndim_of(x) -> int:
    """``np.ndim(x)`` without numpy's dispatch overhead."""
    try:
        return x.ndim
    except AttributeError:
        return 0 if type(x) in PYTHON_NUMBERS else np.ndim(x)


def normalize_axes(axis, ndim: int) -> tuple:
    """``axis`` (None, int or tuple, possibly negative) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim)
    return tuple(sorted(out))


def reduced_shape(shape: tuple, axis, keepdims: bool) -> tuple:
    """The shape a reduction over ``axis`` leaves behind."""
    axes = normalize_axes(axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)
