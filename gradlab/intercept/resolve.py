"""Resolve a callee at a call site: numpy -> primitive, user helper -> instrumented copy.

``resolve`` is what every rewritten call site calls, so its common case is one
dict lookup. The cache holds the numpy/math/scipy table (derived from the op
declarations) and every callable seen before; user entries are bounded, and a
redefined function (a new object, as in a re-run notebook cell) gets a new entry.
"""

from __future__ import annotations

import functools
import itertools
import operator
import os
import types
import warnings
import weakref
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType

import numpy as np

from ..core.errors import (
    TracerConversionError,
    functional_update,
    is_library_file,
    no_rule_error,
    user_location,
)
from ..core.primitive import NUMPY_TABLE, RULE_INSTRUMENTERS, TABLE_LISTENERS, table_entry
from ..core.trace import Tracer
from ..ops.constants import PASS_THROUGH  # the documented list of constant functions
from . import lazy_rules  # noqa: F401 - registers its rule loader into core
from .inplace import attach as _attach_in_place_helpers

# The name instrumented code calls the resolver by (the rewriter, source.py, is imported on
# the first function it rewrites: ``import gradlab`` does without it).
RESOLVER = "__gradlab_resolve__"
MAX_USER_ENTRIES = 4096

# What traced code calls instead of a callable, for callables that hold no user value
# (functions defined at module or class level, builtins, classes, the numpy table): an
# entry keeps alive nothing that its module does not already.
_CACHE: dict = {}
# Functions made at run time (a nested def, a lambda inside a function) close over the
# user's values (arrays, tracers): their instrumented copies are held only as long as
# the function itself is alive. ``id(fn) -> (weakref to fn, copy)``; the weakref's
# callback drops the entry (a WeakKeyDictionary would cost four times as much a lookup).
_RUNTIME_COPIES: dict = {}
_CODE_CACHE: dict = {}  # original code object -> instrumented code object (or _NO_SOURCE)
_NO_SOURCE = object()
_user_entries = 0

_GRADLAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NUMERIC_MODULES = ("numpy", "math", "scipy", "cmath")


def resolve(fn):
    """What a traced call site calls in place of ``fn`` (``fn`` itself for most callees)."""
    try:
        return _CACHE[fn]
    except KeyError:
        pass
    except TypeError:  # unhashable callable object
        return _resolve_new(fn)
    if type(fn) is FunctionType:  # made at run time (the others are in _CACHE)?
        entry = _RUNTIME_COPIES.get(id(fn))
        if entry is not None and entry[0]() is fn:
            return entry[1]
    out = _resolve_new(fn)
    if _lives_with_its_module(fn):
        _remember(fn, out)
    return out


def _lives_with_its_module(fn) -> bool:
    """Whether a strong cache entry for ``fn`` keeps no user value alive. Bound methods
    (``lst.append`` holds the list), partials, callable objects and functions made at
    run time all hold values of the user's, so they are never cached here."""
    t = type(fn)
    if t is FunctionType:
        return fn.__closure__ is None and "<locals>" not in fn.__qualname__
    if t is BuiltinFunctionType:
        owner = fn.__self__
        return owner is None or type(owner) is ModuleType
    return t is np.ufunc or isinstance(fn, type)


def _runtime_function(fn: FunctionType):
    """The instrumented copy of a function made at run time, held weakly (see above)."""
    out = _instrument_function(fn)
    if out is not fn:  # nothing to remember for a function run as it is
        key = id(fn)
        _RUNTIME_COPIES[key] = (weakref.ref(fn, lambda _, key=key: _RUNTIME_COPIES.pop(key, None)),
                                out)
    return out


def _resolving_callbacks(taker):
    """``map``, ``sorted``, ``functools.reduce``...: call ``taker`` with its callable
    arguments resolved, so that a user function passed as a value (``map(h, xs)``,
    ``sorted(xs, key=h)``) is instrumented as if it were called directly."""

    @functools.wraps(taker)
    def call(*args, **kwargs):
        args = [resolve(a) if callable(a) else a for a in args]
        for name in ("key", "func"):
            if kwargs.get(name) is not None:
                kwargs[name] = resolve(kwargs[name])
        return taker(*args, **kwargs)

    return call


# Builtins that call a function given as a value.
_CALLBACK_TAKERS = {taker: _resolving_callbacks(taker) for taker in (
    map, filter, sorted, functools.reduce, itertools.starmap,
    itertools.accumulate, itertools.filterfalse, itertools.takewhile, itertools.dropwhile,
    itertools.groupby)}


def _assigned(container, value):
    """Checks ``container[i] = value`` in traced code (see CallSiteRewriter)."""
    if isinstance(value, Tracer) and isinstance(container, np.ndarray):
        raise TracerConversionError(
            f"storing a traced value into a plain numpy array at {user_location()}\nThe "
            "array cannot hold a derivative. Build the result functionally instead: "
            f"{functional_update(plain_container=True)} (or collect the values in a list "
            "and np.stack them).")
    return value


resolve.assigned = _assigned


def instrument(fn):
    """The instrumented version of a user function (the entry point of every transform)."""
    return resolve(fn)


def clear_cache():
    """Forget every instrumented function (the numpy table stays)."""
    global _user_entries
    _CACHE.clear()
    _CODE_CACHE.clear()
    _RUNTIME_COPIES.clear()
    _CACHE.update(NUMPY_TABLE)
    # A builtin with a rule of its own (``max``/``min`` over traced values) keeps it.
    _CACHE.update({t: w for t, w in _CALLBACK_TAKERS.items() if t not in NUMPY_TABLE})
    _user_entries = 0


def _remember(fn, out):
    global _user_entries
    if _user_entries >= MAX_USER_ENTRIES:
        clear_cache()
    _CACHE[fn] = out
    _user_entries += 1


def _resolve_new(fn):
    entry = table_entry(fn)  # SciPy's and numpy.polynomial's rules declared on first use
    if entry is not None:
        return entry
    t = type(fn)
    call = getattr(t, "__call__", None)  # noqa: B004 - a callable object with a rule for
    if type(call) is FunctionType:       # its class's __call__ (np.vectorize, Polynomial)
        entry = NUMPY_TABLE.get(call)
        if entry is not None:
            return MethodType(entry, fn)
    if t is FunctionType:
        if _lives_with_its_module(fn):
            return _instrument_function(fn)
        return _runtime_function(fn)
    if t is MethodType:
        inner = resolve(fn.__func__)
        return fn if inner is fn.__func__ else MethodType(inner, fn.__self__)
    if t is functools.partial:
        inner = resolve(fn.func)
        return fn if inner is fn.func else functools.partial(inner, *fn.args, **fn.keywords)
    if t in (staticmethod, classmethod):
        return resolve(fn.__func__)
    if _is_numeric_library(fn):
        return _no_rule_guard(fn)
    if isinstance(fn, type) or t in (types.BuiltinFunctionType, types.BuiltinMethodType):
        return fn
    call = t.__dict__.get("__call__") or getattr(t, "__call__", None)  # noqa: B004
    if type(call) is FunctionType and _is_user_code(call):
        return MethodType(_instrument_function(call), fn)  # a callable object
    return fn


def _is_user_code(fn: FunctionType) -> bool:
    """User code is instrumented; library code is not, unless its module opts in with a
    module-level ``__gradlab_instrument__ = True`` (an installed package of the user's)."""
    if fn.__globals__.get("__gradlab_instrument__"):
        return True
    fname = fn.__code__.co_filename
    if fname.startswith("<"):  # a notebook cell, <stdin>, exec'd code: try its source
        return not fname.startswith("<frozen")
    return not is_library_file(fname)


def _instrument_function(fn: FunctionType):
    code = fn.__code__
    if RESOLVER in code.co_freevars or not _is_user_code(fn):  # already ours, or a library's
        # gradlab's own wrappers (grad(np.sin)) copy numpy's __module__ via functools.wraps.
        if _is_numeric_library(fn) and not code.co_filename.startswith(_GRADLAB_DIR):
            return _no_rule_guard(fn)
        return fn
    new_code = _CODE_CACHE.get(code)
    if new_code is _NO_SOURCE:
        return fn
    if new_code is None:
        from .source import NoSourceError, compile_instrumented

        try:
            new_code = compile_instrumented(fn)
        except NoSourceError:
            # No source (exec'd code): numpy's protocols still reach the primitives. Noted
            # per code object, so a closure made anew at each call is not searched again.
            _CODE_CACHE[code] = _NO_SOURCE
            return fn
        if not _same_function(code, new_code):
            warnings.warn(
                f"gradlab: the source of {fn.__qualname__} ({code.co_filename}:"
                f"{code.co_firstlineno}) no longer matches the running code (edited since "
                "it was imported?); running it uninstrumented. Reload the module to fix.",
                RuntimeWarning, stacklevel=3)
            return fn
        _CODE_CACHE[code] = new_code
    cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
    cells[RESOLVER] = types.CellType(resolve)
    closure = tuple(cells[name] for name in new_code.co_freevars)
    new = FunctionType(new_code, fn.__globals__, fn.__name__, fn.__defaults__, closure)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__annotations__ = fn.__annotations__
    new.__qualname__ = fn.__qualname__
    new.__dict__.update(fn.__dict__)
    return new


def _same_function(code, new_code) -> bool:
    """Whether re-read source compiled to the function that is running (the rewrite adds
    only the resolver): a file edited after import must not silently run new code. The
    check compares signatures and local names, so it catches most such edits, not all.

    Names containing ``@`` are ignored: they are no Python identifier, only a compile-time
    rewriter's (pytest's assertion rewriting adds ``@py_assert1``, ``@pytest_ar``).
    """

    def real(names):
        return [n for n in names if "@" not in n]

    # Global and attribute names are not compared: such rewriters also add helpers' names.
    return (real(new_code.co_varnames) == real(code.co_varnames)
            and new_code.co_argcount == code.co_argcount
            and new_code.co_kwonlyargcount == code.co_kwonlyargcount
            and set(code.co_freevars) <= set(new_code.co_freevars))


def _is_numeric_library(fn) -> bool:
    module = getattr(fn, "__module__", None) or ""
    if type(fn).__name__ == "ufunc":
        return True
    return module.split(".", 1)[0] in _NUMERIC_MODULES


def _has_tracer(x, depth=0) -> bool:
    if isinstance(x, Tracer):
        return True
    if depth < 3 and type(x) in (list, tuple):
        return any(_has_tracer(y, depth + 1) for y in x)
    if depth < 3 and type(x) is dict:
        return any(_has_tracer(y, depth + 1) for y in x.values())
    return False


def _as_index(x):
    """A traced integer scalar (a size or a seed: nothing to differentiate) as its value,
    where the level knows it (``gl.jit`` records a guard on it); anything else as is."""
    if isinstance(x, Tracer) and x.ndim == 0 and x.dtype.kind in "iub":
        return operator.index(x)
    return x


def _no_rule_guard(fn):
    """``fn`` for constant arguments; a ``NoRuleError`` when a traced value reaches it."""
    if fn in PASS_THROUGH:
        return fn

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        if _has_tracer(args) or _has_tracer(kwargs):
            args = tuple(_as_index(a) for a in args)  # ``rs.randn(n, 3)`` under gl.jit
            kwargs = {k: _as_index(v) for k, v in kwargs.items()}
            if _has_tracer(args) or _has_tracer(kwargs):
                raise no_rule_error(fn)
        return fn(*args, **kwargs)

    return guarded


clear_cache()
TABLE_LISTENERS.append(lambda original: _CACHE.pop(original, None))
RULE_INSTRUMENTERS.append(resolve)  # a user's rule calling np.* differentiates
_attach_in_place_helpers(resolve)  # resolve.inplace, resolve.with_out, ... (inplace.py)
