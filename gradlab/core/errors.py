"""The errors gradlab raises, and how they point at the user's own line."""

from __future__ import annotations

import functools
import linecache
import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
@functools.lru_cache(maxsize=1)
def library_dirs() -> tuple:
    """Library code (the standard library, site-packages, gradlab itself): never "the
    user's line" in an error message, and never instrumented."""
    import sysconfig  # on first use: ``import gradlab`` stays cheap

    paths = sysconfig.get_paths()
    return tuple(sorted({os.path.realpath(p) for p in (
        paths.get("stdlib"), paths.get("platstdlib"), paths.get("purelib"),
        paths.get("platlib"), _PACKAGE_DIR) if p}))


@functools.lru_cache(maxsize=4096)
def is_library_file(filename: str) -> bool:
    """Whether ``filename`` belongs to library code rather than the user's."""
    if filename.startswith("<"):
        return filename.startswith("<frozen")
    return os.path.realpath(filename).startswith(library_dirs())


class NoRuleError(TypeError):
    """A numpy/scipy/math function with no differentiation rule reached a traced value."""


def qualified_name(fn) -> str:
    """``numpy.linalg.solve``-style name of a callable (ufuncs have no ``__module__``)."""
    module = getattr(fn, "__module__", None) or ("numpy" if type(fn).__name__ == "ufunc" else "")
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", repr(fn))
    return f"{module}.{name}" if module else name


def no_rule_error(fn) -> NoRuleError:
    """The error for a numpy/scipy/math ``fn`` with no rule that a traced value reached,
    whichever path found it (the call-site rewrite or numpy's own dispatch protocols)."""
    name = qualified_name(fn)
    short = getattr(fn, "__name__", "op")
    return NoRuleError(
        f"{name} has no gradlab differentiation rule, and a traced value reached it at "
        f"{user_location()}.\nTo add one, declare a primitive:\n"
        f"    gradlab.primitive('{short}', impl={name}, vjp=lambda g, ans, x: ..., "
        f"jvp=lambda t, ans, x: ..., numpy=({name},))\n"
        "or wrap the call in gradlab.stop_gradient(...) if no derivative should flow "
        "through it (see docs/rules.md).")


class ShapeError(ValueError):
    """Operand shapes that an op cannot combine; names the op, the shapes and the user's line."""


class TracerConversionError(TypeError):
    """A traced value was about to be silently turned into a plain number or array."""


class InPlaceMutationError(TypeError):
    """A traced array was mutated in place; gradients need the functional ``x.at[i].set(v)``."""


class ConcretizationError(TypeError):
    """Python control flow asked for the concrete value of a batched or abstract tracer."""


class DeviceError(TypeError):
    """A primitive met arrays it has no path for (a CuPy array in a SciPy-only op, or
    arrays of two devices); names the op, the operands and the user's line."""


def user_frame():
    """The innermost stack frame of the user's code (not gradlab's, numpy's, the stdlib's)."""
    frame = sys._getframe(1)
    while frame is not None:
        if not is_library_file(frame.f_code.co_filename):
            return frame
        frame = frame.f_back
    return None


# Callables ``(filename, lineno) -> str | None`` that know a line's text as the user wrote
# it, where the interpreter ran a rewritten version (the IPython DSL registers one).
SOURCE_LINE_HOOKS: list = []


def source_line(filename: str, lineno: int) -> str:
    """The user's own text of a line (a hook's, else what ``linecache`` holds)."""
    for hook in SOURCE_LINE_HOOKS:
        line = hook(filename, lineno)
        if line is not None:
            return line
    return linecache.getline(filename, lineno)


def user_location() -> str:
    """``file:line: source`` of the user's innermost frame, for error messages."""
    frame = user_frame()
    if frame is None:
        return "<unknown location>"
    fname, lineno = frame.f_code.co_filename, frame.f_lineno
    src = source_line(fname, lineno).strip()
    return f"{fname}:{lineno}: {src}" if src else f"{fname}:{lineno}"


_UPDATE_METHODS = {"Add": "add", "Mult": "multiply", "Div": "divide", "Pow": "power",
                   "Sub": "add"}


def functional_update(plain_container: bool) -> str:
    """The functional form of the in-place ``x[i] = v`` on the user's current line:
    ``x = x.at[i].set(v)`` (``x = gl.at(x)[i].set(v)`` where ``x`` is a plain numpy
    array, which has no ``.at``)."""
    import ast  # only when an error is being raised

    stmt = _user_statement(lambda s: isinstance(
        getattr(s, "targets", [getattr(s, "target", None)])[0], ast.Subscript))
    if stmt is None:
        at = "gl.at(x)" if plain_container else "x.at"
        return f"x = {at}[idx].set(value)"
    target = getattr(stmt, "targets", [getattr(stmt, "target", None)])[0]
    name, idx = ast.unparse(target.value), ast.unparse(target.slice)
    value = ast.unparse(stmt.value)
    method = "set"
    if isinstance(stmt, ast.AugAssign):
        method = _UPDATE_METHODS.get(type(stmt.op).__name__, "set")
        if type(stmt.op).__name__ == "Sub":
            value = f"-({value})"
    at = f"gl.at({name})" if plain_container else f"{name}.at"
    return f"{name} = {at}[{idx}].{method}({value})"


def _user_statement(wanted):
    """The first statement on the user's current line for which ``wanted`` holds, or None."""
    import ast  # only when an error is being raised

    frame = user_frame()
    line = source_line(frame.f_code.co_filename, frame.f_lineno).strip() if frame else ""
    try:
        body = ast.parse(line).body
    except SyntaxError:
        return None
    return next((stmt for stmt in body if wanted(stmt)), None)


def out_refused(name: str, traced_out: bool) -> InPlaceMutationError:
    """The error for ``name(..., out=...)`` with a traced operand, saying what works: the
    returned value, ``acc = acc + v`` for the user's ``acc += v``, or (in code gradlab
    instruments) ``out=`` naming a local variable or a fresh array."""
    import ast  # only when an error is being raised

    where = user_location()
    if traced_out:
        return InPlaceMutationError(
            f"{name}(..., out=...) writes into a traced array (at {where}); traced arrays are "
            f"immutable: use the returned value, y = {name}(...) without out= (for part of "
            "an array, x = x.at[idx].set(v)).")
    stmt = _user_statement(lambda s: isinstance(s, ast.AugAssign))
    if stmt is not None:
        target, value = ast.unparse(stmt.target), ast.unparse(stmt.value)
        op = ast.unparse(ast.BinOp(ast.Name("a"), stmt.op, ast.Name("b")))[2:-2]
        return InPlaceMutationError(
            f"{target} {op}= ... writes into a numpy array in place ({name}(..., out=...)), "
            f"which cannot hold a traced value (at {where}). Rebind instead: {target} = "
            f"{target} {op} ({value}). In a function gradlab instruments, {op}= on a local "
            "name or an attribute (acc += v, self.total += v) works as written.")
    return InPlaceMutationError(
        f"{name}(..., out=...) writes its result into an existing array, which a traced "
        f"result cannot be (at {where}): use the returned value instead (y = ... without "
        "out=). In a function gradlab instruments, out= also works when it names a local "
        "variable (out=buf) or a fresh array (out=np.empty_like(x)); not an attribute "
        "(out=self.buf), a tuple, or a name declared global.")


def describe(x) -> str:
    """A short ``float64[3,4]`` style description of an operand."""
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is None:
        return type(x).__name__
    return f"{dtype}[{','.join(map(str, shape))}]"


def _array_library(x):
    """The top-level module of an array operand's type ('numpy', 'cupy'); None otherwise."""
    if isinstance(x, (list, tuple)):  # the operand list of a variadic op (concatenate)
        found = {_array_library(v) for v in x} - {None, "numpy"}
        return min(found) if found else None
    if not hasattr(x, "shape"):
        return None
    return type(x).__module__.split(".")[0]


def device_error(prim, args, exc):
    """A ``DeviceError`` for ``exc`` raised by ``prim``'s impl among non-numpy arrays; ``exc``
    itself where every operand is numpy's (an ordinary TypeError)."""
    libraries = {lib for lib in map(_array_library, args) if lib is not None}
    foreign = sorted(libraries - {"numpy"})
    if not foreign:
        return exc
    shown = ", ".join(f"{_array_library(a) or type(a).__name__} {describe(a)}" for a in args)
    if "numpy" in libraries:
        what = (f"{prim.name}({shown}): its operands live on different devices; move them "
                f"to one first, e.g. gradlab.to_device(x, {foreign[0]!r})")
    else:
        what = (f"{prim.name}({shown}) has no {foreign[0]} path: its implementation raised "
                f"{type(exc).__name__}: {exc}. Compute this op on the CPU: "
                "gradlab.to_device(x, 'cpu')")
    return DeviceError(f"{what}\n  at {user_location()}")


def warn_at_user_line(kind: str, flag: int) -> None:
    """numpy's floating-point error callback while a transform runs: the RuntimeWarning
    numpy would raise (``divide by zero encountered in log``), attributed to the user's
    line rather than to the gradlab rule or level that called the ufunc."""
    import warnings  # only when a warning is being raised

    frame, op = sys._getframe(1), "a differentiated operation"
    while frame is not None and is_library_file(frame.f_code.co_filename):
        name = getattr(frame.f_locals.get("prim"), "name", None)  # the op being applied
        if name is not None:
            backward = frame.f_code.co_name == "_walk"  # a VJP rule of that op (tape.py)
            op = f"the derivative of {name}" if backward else name
            break
        frame = frame.f_back
    user = user_frame()
    message = f"{kind} encountered in {op}"
    if user is None:
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        return
    registry = user.f_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(message, RuntimeWarning, user.f_code.co_filename, user.f_lineno,
                           module=user.f_globals.get("__name__"), registry=registry)
