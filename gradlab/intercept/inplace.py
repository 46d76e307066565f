"""In-place numpy updates in traced code: ``acc += v`` and ``np.exp(x, out=buf)``.

numpy writes these into an existing array, which cannot hold a traced value. The
call-site rewrite (``source.CallSiteRewriter``) turns them into rebindings, and the
helpers here do the work at run time:

- ``acc += v`` becomes ``acc = __gradlab_resolve__.inplace("Add", acc, v)``;
- ``np.exp(x, out=buf)`` (``buf`` a local name) becomes
  ``__gradlab_resolve__.out_value(buf := __gradlab_resolve__.out_binding(np.exp, False, x,
  out=buf))`` (False: the call unpacks no ``*args``/``**kwargs``);
- ``np.exp(x, out=np.empty(3))`` becomes
  ``__gradlab_resolve__.with_out(np.exp, False, x, out=np.empty(3))``.

With nothing traced, each does exactly what Python and numpy do (the array is updated in
place). With a traced operand and a plain ndarray target, the result is computed out of
place (traced), cast to the target's dtype as numpy's in-place op casts (``same_kind``
for ufuncs, numpy's own error when that fails), and the traced result is what the name
is rebound to.

Only an array that nothing else can read is replaced that way: if another name, a list,
a dict, a view or the caller holds the target, those holders would keep the old value
and no derivative, so the update raises ``InPlaceMutationError`` instead (found by
reference counts, calibrated once at import against the very call paths the rewrite
makes). Once rebound, the old array is unreachable, so it is left as it was.
"""

from __future__ import annotations

import operator
import sys

import numpy as np

from ..core.errors import InPlaceMutationError, user_location
from ..core.threads import local
from ..core.trace import Tracer, seq_has_tracer

# The tag the rewrite passes (the ``ast`` operator's class name): Python's in-place
# operator, and the ufunc numpy's in-place method calls with ``out=``.
_IN_PLACE = {
    "Add": operator.iadd, "Sub": operator.isub, "Mult": operator.imul,
    "Div": operator.itruediv, "FloorDiv": operator.ifloordiv, "Mod": operator.imod,
    "Pow": operator.ipow, "MatMult": operator.imatmul, "LShift": operator.ilshift,
    "RShift": operator.irshift, "BitOr": operator.ior, "BitXor": operator.ixor,
    "BitAnd": operator.iand,
}
_UFUNCS = {
    "Add": np.add, "Sub": np.subtract, "Mult": np.multiply, "Div": np.true_divide,
    "FloorDiv": np.floor_divide, "Mod": np.remainder, "Pow": np.power, "MatMult": np.matmul,
    "LShift": np.left_shift, "RShift": np.right_shift, "BitOr": np.bitwise_or,
    "BitXor": np.bitwise_xor, "BitAnd": np.bitwise_and,
}
_SYMBOLS = {"Add": "+", "Sub": "-", "Mult": "*", "Div": "/", "FloorDiv": "//", "Mod": "%",
            "Pow": "**", "MatMult": "@", "LShift": "<<", "RShift": ">>", "BitOr": "|",
            "BitXor": "^", "BitAnd": "&"}

_resolve = None  # set by ``attach`` (resolve.py imports this module)
_pending = local()  # out_binding -> out_value: the call's own value


_SEQUENCES = (list, tuple)


def _traced(value) -> bool:
    return isinstance(value, Tracer) or (type(value) in _SEQUENCES and seq_has_tracer(value))


def inplace(op: str, target, value):
    """``target op= value`` as Python runs it; for a plain ndarray ``target`` and a traced
    ``value``, the traced result (which the rewritten assignment rebinds).

    >>> import numpy as np
    >>> from gradlab.intercept import resolve
    >>> acc = np.zeros(2)
    >>> resolve.inplace("Add", acc, np.ones(2)) is acc     # untraced: numpy's own +=
    True
    """
    if type(target) is np.ndarray and (isinstance(value, Tracer) or (
            type(value) in _SEQUENCES and seq_has_tracer(value))):
        return _update_traced(op, target, value, sys.getrefcount(target))
    return _IN_PLACE[op](target, value)


def _update_traced(op, target, value, refs):
    if value is _PROBE:
        return refs
    _refuse_shared(target, refs > _LIMITS["inplace"], f"{_SYMBOLS[op]}=")
    ufunc = _UFUNCS[op]
    return _as_stored_in(target, _resolve(ufunc)(target, value), ufunc, "same_kind")


def with_out(fn, unpacked, /, *args, out, **kwargs):
    """``fn(*args, out=out, **kwargs)`` where ``out`` is a fresh array (``np.empty(3)``):
    numpy's call when nothing is traced, else the traced result. ``unpacked``: the call
    site unpacks ``*args`` or ``**kwargs`` (whose dict also holds ``out`` meanwhile)."""
    refs = sys.getrefcount(out)
    value, _ = _call_with_out(fn, args, kwargs, out, refs, ("with_out", unpacked))
    return value


def out_binding(fn, unpacked, /, *args, out, **kwargs):
    """``fn(*args, out=NAME, ...)`` for a local ``NAME``: what ``NAME`` is rebound to (the
    traced result, or ``out`` itself); the call's own value waits for ``out_value``."""
    refs = sys.getrefcount(out)
    value, traced = _call_with_out(fn, args, kwargs, out, refs, ("out_binding", unpacked))
    _pending.value = value
    return value if traced else out


def out_value(binding):
    """The value of the call ``out_binding`` just made (``binding`` is its rebinding)."""
    value = _pending.value
    _pending.value = None
    return value


def _call_with_out(fn, args, kwargs, out, refs, kind):
    """``(value, traced)``: the call's value, and whether it is a traced result that
    stands for ``out`` from now on."""
    call = _resolve(fn)
    if (type(out) is not np.ndarray or getattr(call, "__gradlab__", None) is None
            or not (_traced(args) or _traced(tuple(kwargs.values())))):
        # Untraced, not a numpy function, or an out= gradlab refuses (a traced array,
        # a tuple): the call as written.
        return call(*args, out=out, **kwargs), False
    if args and args[0] is _PROBE:
        return refs, True
    # np.multiply(a, x, out=a): the operand's own references are not other holders
    operand = sum(a is out for a in args) + sum(v is out for v in kwargs.values())
    _refuse_shared(out, refs - operand > _LIMITS[kind], "out=")
    ufunc = fn if isinstance(fn, np.ufunc) else None
    value = _as_stored_in(out, call(*args, **kwargs), ufunc, "same_kind" if ufunc else "unsafe")
    return value, True


def _as_stored_in(target, result, ufunc, casting):
    """``result`` as numpy would store it into ``target``: target's shape, cast to its
    dtype (numpy's own error where ``casting`` forbids it).

    ``target`` itself is left as it is: nothing but the name being rebound holds it
    (``_refuse_shared``), so once rebound it is unreachable and its contents unobservable.
    (Writing the value in would also read it at levels where a read is not free: a jit
    capture records a guard on every value read.)"""
    if not target.flags.writeable:
        raise ValueError("output array is read-only")
    if target.dtype.kind == "O":
        raise InPlaceMutationError(
            f"a traced value into a numpy array of dtype object at {user_location()}: "
            "rebind instead (acc = acc + v), or use a float array.")
    dtype = getattr(result, "dtype", None)
    dtype = np.result_type(result) if dtype is None else np.dtype(dtype)
    if dtype != target.dtype:
        if not np.can_cast(dtype, target.dtype, casting):
            _raise_cast_error(ufunc, dtype, target.dtype, casting)
        from ..ops.misc import convert

        result = convert(result, target.dtype)
    shape = np.shape(result)
    if shape != target.shape:
        if ufunc is None or np.broadcast_shapes(shape, target.shape) != target.shape:
            raise ValueError(f"non-broadcastable output operand with shape "
                             f"{_shape_text(target.shape)} doesn't match the broadcast shape "
                             f"{_shape_text(shape)}")
        result = _resolve(np.broadcast_to)(result, target.shape)
    return result


def _shape_text(shape) -> str:
    """A shape as numpy's messages write it: ``(3,)``, ``(3,3)``."""
    return f"({','.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def _raise_cast_error(ufunc, dtype, target_dtype, casting):
    """numpy's own casting error, raised by numpy on 0-d stand-ins of the operands."""
    if ufunc is not None and ufunc.signature is None:
        zeros = [np.zeros((), dtype)] * ufunc.nin
        ufunc(*zeros, out=np.zeros((), target_dtype), casting=casting)
    raise TypeError(f"Cannot cast output from {dtype!r} to {target_dtype!r} with casting "
                    f"rule {casting!r}")


def _refuse_shared(target, held_elsewhere: bool, what: str):
    """An update whose traced result replaces ``target`` only under one name must not
    leave other holders of the array (or of its memory) with a value but no derivative."""
    if held_elsewhere or _memory_shared(target):
        raise InPlaceMutationError(
            f"{what} into a numpy array that is also reachable another way (another name, "
            f"a list or dict, a view, the caller) at {user_location()}: its traced result "
            "can replace the array under this one name only, and the other holders would "
            "miss the derivative. Rebind instead (acc = acc + v; y = np.exp(x) without "
            "out=), or build the values functionally (gl.at(a)[i].add(v), a list and "
            "np.stack).")


def _base_refcounts(array):
    """The reference counts of the arrays (and buffers) whose memory ``array`` views."""
    counts = []
    base = array.base
    while base is not None:
        counts.append(sys.getrefcount(base))
        base = getattr(base, "base", None) if not isinstance(base, memoryview) else base.obj
    return counts


def _memory_shared(array) -> bool:
    return any(c > _LIMITS["base"] for c in _base_refcounts(array))


class _Probe(Tracer):
    """A stand-in traced value for the calibration below (never computed with)."""

    __slots__ = ()


_PROBE = _Probe()


def _calibrate():
    """The reference counts an unshared target has inside each helper, measured through
    the same calls the rewritten code makes (a local name; a fresh array)."""
    acc = np.zeros(1)
    probe = (_PROBE,)
    return {"inplace": inplace("Add", acc, _PROBE),
            ("out_binding", False): out_value(out_binding(np.negative, False, _PROBE, out=acc)),
            ("out_binding", True): out_value(out_binding(np.negative, True, *probe, out=acc)),
            ("with_out", False): with_out(np.negative, False, _PROBE, out=np.zeros(1)),
            ("with_out", True): with_out(np.negative, True, *probe, out=np.zeros(1)),
            "base": _base_refcounts(np.zeros(2)[:1])[0]}


_LIMITS: dict = {}  # what _calibrate measures, by helper (and how its call site unpacks)


def attach(resolve):
    """Make the helpers attributes of ``resolve`` (what rewritten code calls)."""
    global _resolve
    _resolve = resolve
    resolve.inplace, resolve.with_out = inplace, with_out
    resolve.out_binding, resolve.out_value = out_binding, out_value
    _LIMITS.update(_calibrate())
