"""Declarations of gradlab's primitives and compositions, one module per kind of op.

Importing this package registers everything: the interception table is derived
from what the modules below declare.
"""

from . import (  # noqa: F401
    binary,
    complex,
    constants,
    contract,
    cumulative,
    elementwise,
    fft,
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
