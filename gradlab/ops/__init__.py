"""Declarations of gradlab's primitives and compositions, one module per kind of op.

Importing this package registers everything but ``fft`` and ``series`` (the rules of
``numpy.fft`` and ``numpy.polynomial``, subpackages numpy itself loads only when asked):
those are declared on first use (``gradlab/intercept/lazy_rules.py``). The interception
table is derived from what the modules declare.
"""

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
    linalg_decomp,
    linalg_eig,
    linalg_solve,
    linalg_tensor,
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
