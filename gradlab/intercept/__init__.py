"""Interception: traced code calls gradlab's primitives where it wrote numpy.

``instrument(fn)`` returns a copy of a user function whose every call site
resolves its callee through ``resolve`` (one dict lookup on the hot path):
numpy/math/scipy functions become gradlab's, user helpers become their own
instrumented copies (made on first call, then cached), everything else is
called as written. See ``docs/interception.md`` for the design and its costs.
"""

from .resolve import instrument, resolve  # noqa: F401
