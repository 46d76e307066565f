"""Rule modules declared on first use: SciPy's (importing scipy.stats/signal costs ~1 s).

``import gradlab`` does not import SciPy. The first time the call-site resolver
meets a SciPy callable it has no entry for, it asks ``load_rules_for``, which
imports ``gradlab.scipy`` (declaring every SciPy rule) once; the resolver then
looks the callable up again.
"""

from __future__ import annotations

import importlib
import sys
import threading

import numpy as np

_loaded = False
_LOADING = threading.RLock()


def _from_scipy(fn) -> bool:
    module = getattr(fn, "__module__", None) or ""
    if module.split(".", 1)[0] == "scipy":
        return True
    # scipy.special's ufuncs have no __module__; numpy's are attributes of numpy.
    return type(fn).__name__ == "ufunc" and getattr(np, fn.__name__, None) is not fn


def load_rules_for(fn) -> bool:
    """Declare the rules of ``fn``'s library if not yet done; True if this call did it."""
    global _loaded
    if _loaded or "scipy" not in sys.modules or not _from_scipy(fn):
        return False
    with _LOADING:  # another thread meeting SciPy meanwhile waits for every rule
        if not _loaded:
            importlib.import_module("gradlab.scipy")
            _loaded = True
    return True
