"""Locks and per-thread state, from ``_thread``: the C core that ``threading`` itself
binds, so ``Lock()``, ``RLock()`` and ``local()`` here are the objects ``threading``'s
return. ``import gradlab`` does not import ``threading`` (0.7 ms of a budget of about
25 ms; numpy does not import it either).
"""

from _thread import RLock
from _thread import _local as local
from _thread import allocate_lock as Lock

__all__ = ["Lock", "RLock", "local"]
