"""The errors gradlab raises, and how they point at the user's own line."""

from __future__ import annotations

import linecache
import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def user_frame():
    """The innermost stack frame that is not gradlab's own (or the stdlib's functools)."""
    frame = sys._getframe(1)
    while frame is not None:
        fname = frame.f_code.co_filename
        if not fname.startswith(_PACKAGE_DIR) and not fname.endswith("functools.py"):
            return frame
        frame = frame.f_back
    return None


def user_location() -> str:
    """``file:line: source`` of the user's innermost frame, for error messages."""
    frame = user_frame()
    if frame is None:
        return "<unknown location>"
    fname, lineno = frame.f_code.co_filename, frame.f_lineno
    src = linecache.getline(fname, lineno).strip()
    return f"{fname}:{lineno}: {src}" if src else f"{fname}:{lineno}"


def describe(x) -> str:
    """A short ``float64[3,4]`` style description of an operand."""
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is None:
        return type(x).__name__
    return f"{dtype}[{','.join(map(str, shape))}]"
