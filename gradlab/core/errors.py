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
