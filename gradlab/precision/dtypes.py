"""Low-precision float dtypes: what counts as a float, and what a sum accumulates in.

``ml_dtypes`` adds ``bfloat16``, ``float8_e4m3fn`` and ``float8_e5m2`` to numpy as
user dtypes that ``np.issubdtype(..., np.inexact)`` does not recognise, and numpy's own
``float16``, like them, loses most of a long sum when it accumulates in its own dtype.
Primitives that accumulate (sums, matmuls, softmax, norms) ask
:func:`accumulation_dtype` and compute in ``float32``; every other dtype gets ``None``
back from one dictionary look-up, so the float64 path does no extra work.

>>> import numpy as np, ml_dtypes
>>> from gradlab.precision.dtypes import accumulation_dtype, is_float_dtype
>>> is_float_dtype(ml_dtypes.bfloat16), np.issubdtype(ml_dtypes.bfloat16, np.inexact)
(True, False)
>>> accumulation_dtype(np.dtype(ml_dtypes.bfloat16)), accumulation_dtype(np.dtype(float))
(dtype('float32'), None)
"""

from __future__ import annotations

import functools

import numpy as np

LOW_PRECISION_NAMES = ("bfloat16", "float16", "float8_e4m3fn", "float8_e5m2")
_FLOAT32 = np.dtype(np.float32)
# dtype -> float32 for a float narrower than float32, None for every other dtype (a memo:
# the first look-up of a dtype decides, later ones are one dict access).
_ACCUMULATE: dict = {np.dtype(np.float64): None, _FLOAT32: None,
                     np.dtype(np.float16): _FLOAT32}


def _is_ml_float(dt: np.dtype) -> bool:
    if getattr(dt.type, "__module__", "") != "ml_dtypes":
        return False
    import ml_dtypes  # already imported: an array of its dtype exists

    try:
        ml_dtypes.finfo(dt)
    except ValueError:  # int4 and friends
        return False
    return True


def is_float_dtype(dtype) -> bool:
    """True for numpy's float and complex dtypes and for ml_dtypes' floats (bfloat16, float8).

    >>> import ml_dtypes
    >>> is_float_dtype(ml_dtypes.float8_e4m3fn), is_float_dtype(int)
    (True, False)
    """
    dt = np.dtype(dtype)
    if getattr(dt.type, "__module__", "") == "ml_dtypes":
        return _is_ml_float(dt)
    return dt.kind in "fc"


def is_low_precision(dtype) -> bool:
    """A float narrower than float32 (float16, bfloat16, the float8 formats)."""
    return accumulation_dtype(np.dtype(dtype)) is not None


def accumulation_dtype(dtype):
    """``float32`` where a reduction over ``dtype`` must not accumulate in ``dtype``, else None.

    >>> import numpy as np
    >>> accumulation_dtype(np.dtype(np.float16)), accumulation_dtype(np.dtype(np.int8))
    (dtype('float32'), None)
    """
    try:
        return _ACCUMULATE[dtype]
    except (KeyError, TypeError):
        pass
    dt = np.dtype(dtype)
    acc = _FLOAT32 if is_float_dtype(dt) and dt.kind != "c" and dt.itemsize < 4 else None
    _ACCUMULATE[dtype] = acc
    if acc is None:
        PLAIN_DTYPES[dt] = None
    return acc


def resolve_dtype(dtype) -> np.dtype:
    """``np.dtype(dtype)``, with the ml_dtypes names (``"bfloat16"``, ``"float8_e4m3fn"``).

    >>> resolve_dtype("bfloat16")
    dtype(bfloat16)
    """
    if isinstance(dtype, str) and dtype != "float16" and dtype in LOW_PRECISION_NAMES:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, dtype))
    return np.dtype(dtype)


def finfo(dtype):
    """``np.finfo`` that also knows ml_dtypes' floats."""
    dt = np.dtype(dtype)
    if _is_ml_float(dt):
        import ml_dtypes

        return ml_dtypes.finfo(dt)
    return np.finfo(dt)


def computes_in_float32(impl):
    """Wrap a primitive's ``impl`` (LAPACK, SciPy) that has no low-precision loop: low-precision
    float operands are computed in float32 and float results cast back to their dtype.

    >>> import numpy as np, ml_dtypes
    >>> inv = computes_in_float32(np.linalg.inv)
    >>> inv(np.eye(2, dtype=ml_dtypes.bfloat16)).dtype
    dtype(bfloat16)
    """

    @functools.wraps(impl)
    def wrapped(*args, **params):
        low = None
        for a in args:
            dt = getattr(a, "dtype", None)
            if dt is not None and accumulation_dtype(dt) is not None:
                low = dt
                break
        if low is None:
            return impl(*args, **params)
        up = [a.astype(_FLOAT32) if accumulation_dtype(getattr(a, "dtype", None))
              is not None else a for a in args]
        return _cast_floats(impl(*up, **params), low)

    return wrapped


def _cast_floats(out, dtype):
    if isinstance(out, tuple):
        return tuple(_cast_floats(o, dtype) for o in out)
    dt = getattr(out, "dtype", None)
    if dt is not None and dt.kind == "f":
        return out.astype(dtype)
    return out


_UNSEEN = object()

# dtype -> None for the dtypes numpy computes in well (float64, float32, complex, ints,
# bool): ``PLAIN_DTYPES.get(x.dtype, 1) is None`` is the fast path's whole check; a low
# precision or not yet seen dtype misses and takes the careful path.
PLAIN_DTYPES: dict = {np.dtype(c): None for c in "?bhilqBHILQfdgFDG"}


def low_precision_of(*operands):
    """The first operand dtype narrower than float32 (float16, bfloat16, float8), or None.

    One dictionary look-up per operand: the check primitives that accumulate make on
    every call, so float64 and float32 operands pass at almost no cost.
    """
    for a in operands:
        dt = getattr(a, "dtype", None)
        if dt is None:
            continue
        acc = _ACCUMULATE.get(dt, _UNSEEN)
        if acc is _UNSEEN:
            acc = accumulation_dtype(dt)
        if acc is not None:
            return dt
    return None


def float32_matmul(a, b):
    """``a @ b`` for low-precision operands: products and sums in float32, the result
    rounded once to the operands' dtype (ml_dtypes' own loop accumulates in bfloat16)."""
    low = low_precision_of(a, b)
    if low is None:
        return np.matmul(a, b)
    return np.matmul(_up(a), _up(b)).astype(low)


def _up(x):
    return x.astype(_FLOAT32) if low_precision_of(x) is not None else x


def float32_sum(x, axis, keepdims):
    """``np.sum`` accumulating in float32 for a low-precision ``x``, rounded once at the end."""
    low = low_precision_of(x)
    if low is None:
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return np.add.reduce(x, axis=axis, keepdims=keepdims, dtype=_FLOAT32).astype(low)


def float32_einsum(subscripts, *operands, **options):
    """``np.einsum`` with low-precision operands contracted in float32 (one rounding)."""
    low = low_precision_of(*operands)
    if low is None:
        return np.einsum(subscripts, *operands, **options)
    return np.einsum(subscripts, *map(_up, operands), **options).astype(low)


def computes_in_float32_composition(fn):
    """Run a composition (softmax, logsumexp, norm) in float32 for a low-precision first
    argument and convert the result back; derivatives flow through both conversions, so
    the gradient comes back in the argument's dtype.

    >>> import numpy as np, ml_dtypes, gradlab as gl
    >>> x = np.full(4096, 0.01, ml_dtypes.bfloat16)
    >>> float(gl.nn.logsumexp(x))   # log(4096) + 0.01, not a bfloat16 running sum's
    8.3125
    """

    @functools.wraps(fn)
    def wrapped(x, *args, **kwargs):
        if PLAIN_DTYPES.get(getattr(x, "dtype", None), 1) is None:
            return fn(x, *args, **kwargs)  # float64, float32: one look-up
        low = low_precision_of(x)
        if low is None:
            return fn(x, *args, **kwargs)
        from ..ops.misc import convert  # the ops import this module

        return convert(fn(convert(x, _FLOAT32), *args, **kwargs), low)

    return wrapped
