"""Declarations of gradlab's primitives and compositions, one module per kind of op.

Importing this package registers everything but the rules of ``numpy.linalg``'s
decompositions and solvers (``linalg_solve``, ``linalg_decomp``, ``linalg_eig``,
``linalg_tensor``), of ``numpy.fft`` (``fft``) and of ``numpy.polynomial`` (``series``):
those are declared on first use (``gradlab/intercept/lazy_rules.py``), and reading one
of those modules as an attribute of this package imports it. The interception table is
derived from what the modules declare.
"""

import importlib

from . import (  # noqa: F401
    binary,
    complex,
    constants,
    contract,
    cumulative,
    elementwise,
    functional,
    index,
    linalg,
    manip,
    methods,
    misc,
    numeric,
    operators,
    polynomial,
    pybuiltins,
    reduce,
    shape,
    sorting,
    stacking,
)

# declared on first use; ``gl.ops.linalg_solve`` imports it like ``import`` would
LAZY = ("fft", "series", "linalg_solve", "linalg_decomp", "linalg_eig", "linalg_tensor")


def __getattr__(name):
    if name in LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
