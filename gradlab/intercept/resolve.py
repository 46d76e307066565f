"""Resolve a callee at a call site: numpy -> primitive, user helper -> instrumented copy.

``resolve`` is what every rewritten call site calls, so its common case is one
dict lookup. The cache holds the numpy/math/scipy table (derived from the op
declarations) and every callable seen before; user entries are bounded, and a
redefined function (a new object, as in a re-run notebook cell) gets a new entry.
"""

from __future__ import annotations

import functools
import os
import types
import warnings
from types import FunctionType, MethodType

import numpy as np

from ..core.errors import NoRuleError, TracerConversionError, is_library_file, user_location
from ..core.primitive import NUMPY_TABLE, TABLE_LISTENERS
from ..core.trace import Tracer
from ..ops.constants import PASS_THROUGH  # the documented list of constant functions
from .lazy_rules import load_rules_for
from .source import RESOLVER, NoSourceError, compile_instrumented

MAX_USER_ENTRIES = 4096

_CACHE: dict = {}  # callable -> what traced code calls instead
_CODE_CACHE: dict = {}  # original code object -> instrumented code object
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
    out = _resolve_new(fn)
    # Bound methods are made anew at every access. A closure left as it is (library
    # code: the transforms' per-call helpers) gains nothing from a cache entry, which
    # would keep what it closes over (tapes, activations) alive.
    if type(fn) is not MethodType and not (out is fn and getattr(fn, "__closure__", None)):
        _remember(fn, out)
    return out


def _assigned(container, value):
    """Checks ``container[i] = value`` in traced code (see CallSiteRewriter)."""
    if isinstance(value, Tracer) and isinstance(container, np.ndarray):
        raise TracerConversionError(
            f"storing a traced value into a plain numpy array at {user_location()}: the "
            "array cannot hold a derivative. Build the result functionally instead: "
            "collect values in a list and np.stack them, or use x.at[idx].set(value) "
            "on a traced array.")
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
    _CACHE.update(NUMPY_TABLE)
    _user_entries = 0


def _remember(fn, out):
    global _user_entries
    if _user_entries >= MAX_USER_ENTRIES:
        clear_cache()
    _CACHE[fn] = out
    _user_entries += 1


def _resolve_new(fn):
    try:
        entry = NUMPY_TABLE.get(fn)
    except TypeError:  # unhashable (a dead weakref, a callable with __eq__ only): not numpy's
        entry = None
    if entry is not None:
        return entry
    if load_rules_for(fn):  # SciPy's rules are declared on first use
        return _resolve_new(fn)
    t = type(fn)
    call = getattr(t, "__call__", None)  # noqa: B004 - a callable object with a rule for
    if type(call) is FunctionType:       # its class's __call__ (np.vectorize, Polynomial)
        entry = NUMPY_TABLE.get(call)
        if entry is not None:
            return MethodType(entry, fn)
    if t is FunctionType:
        return _instrument_function(fn)
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
    if new_code is None:
        try:
            new_code = compile_instrumented(fn)
        except NoSourceError:
            return fn  # no source (exec'd code): ufuncs still dispatch via __array_ufunc__
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
    new.__wrapped__ = fn
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


def _qualified_name(fn) -> str:
    module = getattr(fn, "__module__", None) or ("numpy" if type(fn).__name__ == "ufunc" else "")
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", repr(fn))
    return f"{module}.{name}" if module else name


def _no_rule_guard(fn):
    """``fn`` for constant arguments; a ``NoRuleError`` when a traced value reaches it."""
    if fn in PASS_THROUGH:
        return fn
    name = _qualified_name(fn)

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        if _has_tracer(args) or _has_tracer(kwargs):
            raise NoRuleError(
                f"{name} has no gradlab differentiation rule, and a traced value reached "
                f"it at {user_location()}.\nTo add one, declare a primitive:\n"
                f"    gradlab.primitive('{getattr(fn, '__name__', 'op')}', impl={name}, "
                "vjp=lambda g, ans, x: ..., jvp=lambda t, ans, x: ..., numpy=(" + name + ",))\n"
                "or wrap the call in gradlab.stop_gradient(...) if no derivative should "
                "flow through it (see docs/rules.md).")
        return fn(*args, **kwargs)

    return guarded


clear_cache()
TABLE_LISTENERS.append(lambda original: _CACHE.pop(original, None))
