"""Interpreter levels (JAX's autodidax design): ``bind`` dispatches to the top trace.

Every transform (reverse mode, forward mode, batching, shape evaluation) is a
``Trace`` subclass whose tracers box the values of the level below. ``bind`` finds
the highest-level trace among a primitive's operands and lets it process the
primitive; with no tracer among the operands it calls ``impl`` directly, so code
that runs with no transform live pays nothing for the generality.

Levels are positions on a stack: a transform entered later (nested deeper) has a
higher level, which is what keeps nested ``grad`` calls from confusing their
perturbations (``grad(lambda x: x * grad(lambda y: x * y)(2.0))(1.0) == 2``).
The stack is per thread (and per ``asyncio`` task): a ``ContextVar`` holding a tuple,
so transforms running concurrently never see each other's levels.
"""

from __future__ import annotations

import contextvars
import itertools

import numpy as np

from .errors import TracerConversionError, warn_at_user_line

# The live levels of this thread (or task), innermost last. A tuple, set anew at each
# push: a new thread starts from the empty default, and a copied context (a task, a
# ``contextvars.copy_context().run``) cannot change its parent's stack.
_LEVELS: contextvars.ContextVar[tuple] = contextvars.ContextVar("gradlab_levels", default=())
_IDS = itertools.count()


def _user_line_errstate():
    """numpy's error state while a transform runs, and the state it replaces: numpy's
    default one, with its "warn" entries turned into calls of ``warn_at_user_line`` so
    that a RuntimeWarning from a rule points at the user's line. ``(None, None)`` where
    numpy's internals differ; a state the user set (``np.seterr``) is never replaced."""
    try:
        from numpy._core.umath import _extobj_contextvar, _get_extobj_dict, _make_extobj
    except ImportError:  # pragma: no cover - another numpy
        return None, None, None
    defaults = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn",
                "call": None}
    current = _extobj_contextvar.get()
    if {k: _get_extobj_dict().get(k) for k in defaults} != defaults:
        return None, None, None
    return _extobj_contextvar, current, _make_extobj(
        divide="call", over="call", invalid="call", call=warn_at_user_line)


_ERRSTATE, _NUMPY_DEFAULT_ERRSTATE, _USER_LINE_ERRSTATE = _user_line_errstate()


def warnings_at_user_line():
    """Enter numpy's error state that reports RuntimeWarnings at the user's line; returns
    the token for ``restore_warnings`` (None when numpy's state is not its default)."""
    if _ERRSTATE is not None and _ERRSTATE.get() is _NUMPY_DEFAULT_ERRSTATE:
        return _ERRSTATE.set(_USER_LINE_ERRSTATE)
    return None


def restore_warnings(token) -> None:
    if token is not None:
        _ERRSTATE.reset(token)


def live_levels() -> tuple:
    """The transform levels live in this thread, outermost first."""
    return _LEVELS.get()


class Trace:
    """One live transform. Subclasses implement ``process(prim, args, params)``."""

    def __init__(self):
        self.level = len(_LEVELS.get())
        self.id = next(_IDS)

    def process(self, prim, args, params):  # pragma: no cover - interface
        raise NotImplementedError

    def lower(self, x):
        """The value ``x`` has at the level below this one (unboxes this trace's tracers)."""
        raise NotImplementedError  # pragma: no cover - interface


class new_trace:  # noqa: N801 - used like a function: ``with new_trace(Cls) as trace``
    """Push a new level of kind ``cls`` for the duration of the block.

    A class rather than a ``contextlib`` generator: every transform call enters one, and
    this costs a third as much.
    """

    __slots__ = ("trace", "token", "errstate_token")

    def __init__(self, cls, *args, **kwargs):
        self.trace = cls(*args, **kwargs)

    def __enter__(self):
        levels = _LEVELS.get()
        # The outermost level reports RuntimeWarnings at the user's line (inlined
        # ``warnings_at_user_line``: every transform call enters here).
        self.errstate_token = _ERRSTATE.set(_USER_LINE_ERRSTATE) if (
            not levels and _ERRSTATE is not None
            and _ERRSTATE.get() is _NUMPY_DEFAULT_ERRSTATE) else None
        self.token = _LEVELS.set(levels + (self.trace,))
        return self.trace

    def __exit__(self, *exc):
        top = _LEVELS.get()
        assert top and top[-1] is self.trace, "transform levels exited out of order"
        _LEVELS.reset(self.token)
        if self.errstate_token is not None:
            _ERRSTATE.reset(self.errstate_token)
        return False


class Tracer:
    """A value boxed by a transform. Operator overloading lives in ``gradlab.ops.operators``."""

    __slots__ = ("_trace",)
    # numpy defers to our reflected operators (``ndarray + tracer`` -> ``tracer.__radd__``).
    __array_priority__ = 1000.0

    @property
    def aval(self):
        """The value of the level below that this tracer stands for (same shape/dtype)."""
        raise NotImplementedError  # pragma: no cover - interface

    # Shape and dtype queries read the boxed value; a level whose tracers have another
    # shape than their value (batching) overrides ``shape`` and ``ndim``.
    @property
    def shape(self):
        return np.shape(self.aval)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self):
        value = self.aval
        dtype = getattr(value, "dtype", None)
        return dtype if dtype is not None else np.result_type(value)

    def concrete_value(self, what: str):
        """The value this tracer boxes, where its level has one (reverse and forward
        mode do; a batch or an abstract shape does not, and raises)."""
        from .errors import ConcretizationError, user_location

        raise ConcretizationError(
            f"{what} needs the concrete value of its argument, which a {type(self).__name__} "
            f"does not have (at {user_location()}): its result's shape or type depends on "
            "the data. Compute it outside the transform, or use a fixed-shape form "
            "(np.where(c, x, y), a mask) instead.")

    # Silent conversion to a plain number or array would detach the value from the
    # transform and give a wrong (zero) derivative, so every route refuses loudly.
    def _refuse(self, what):
        from .errors import user_location

        raise TracerConversionError(
            f"cannot convert a traced {type(self).__name__} of shape {self.shape} to "
            f"{what} at {user_location()}.\nInside a differentiated function keep values "
            "as arrays and use numpy functions on them; to use a value as a constant on "
            "purpose, call gradlab.stop_gradient(x) and read .value of the result outside "
            "the transform, or compute it outside the function."
        )

    def __array__(self, dtype=None, copy=None):
        self._refuse("a numpy array (np.asarray / assignment into an ndarray)")

    def __float__(self):
        self._refuse("float")

    def __int__(self):
        self._refuse("int")

    def __complex__(self):
        self._refuse("complex")

    def __index__(self):
        self._refuse("an index")

    def __format__(self, spec):
        if not spec:  # f"{x}": the tracer's repr, as print(x) shows it
            return str(self)
        from .errors import user_location

        raise TracerConversionError(
            f"cannot format a traced {type(self).__name__} with {{:{spec}}} at "
            f"{user_location()}: formatting needs a plain number, and the value is being "
            "differentiated. Format gradlab.stop_gradient(x) instead (a plain value under "
            "grad and jvp), or format it outside the transform (return it with "
            "has_aux=True).")

    def __hash__(self):
        return id(self)


def bind(prim, *args, **params):
    """Apply ``prim`` to ``args`` at the highest level among them."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
    if top is None:
        try:
            return prim.impl(*args, **params)
        except (ValueError, TypeError) as exc:
            error = shape_error(prim, args, params, exc)
            if error is exc:
                raise
            raise error from exc
    return top.process(prim, args, params)


def shape_error(prim, args, params, exc):
    """A ``ShapeError`` naming the op, its operands' shapes and the user's line (or, for a
    TypeError among non-numpy arrays, a ``DeviceError``; other errors are ``exc`` itself)."""
    from .errors import ShapeError, describe, device_error, user_location

    if isinstance(exc, TypeError):
        return device_error(prim, args, exc)
    if isinstance(exc, ShapeError):
        return exc
    shown = ", ".join(describe(a) for a in args)
    extra = "".join(f", {k}={v!r}" for k, v in params.items())
    return ShapeError(f"{prim.name}({shown}{extra}): {exc}\n  at {user_location()}")


def seq_has_tracer(seq, depth: int = 0) -> bool:
    """A tracer anywhere in nested lists/tuples: ``np.array([[x, 1.0], [2.0, y]])``."""
    for item in seq:
        if isinstance(item, Tracer):
            return True
        if depth < 4 and type(item) in (list, tuple) and seq_has_tracer(item, depth + 1):
            return True
    return False


def concrete(x, what: str = "this function"):
    """``x`` with every level's tracer unboxed, or a ``ConcretizationError`` naming ``what``
    where a level has no concrete value (``vmap``, ``eval_shape``)."""
    while isinstance(x, Tracer):
        x = x.concrete_value(what)
    return x
