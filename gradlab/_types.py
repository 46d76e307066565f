"""Names for the types in gradlab's annotations (documentation as much as checking).

``Array`` is whatever an array argument may be: a numpy array, a Python or numpy
scalar, or, while a transform runs, a gradlab tracer standing for one; hence ``Any``
to the type checker. A ``PyTree`` is nested tuples/lists/dicts (and registered
classes) of arrays; a ``Key`` is a ``gradlab.random`` key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import DTypeLike
else:  # annotations are strings at run time: numpy.typing (~1 ms of import) is not needed
    DTypeLike = Any

__all__ = ["Array", "DTypeLike", "Key", "PyTree", "Shape"]

Array = Any
PyTree = Any
Key = np.ndarray
Shape = Union[int, tuple[int, ...]]
