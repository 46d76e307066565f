"""Rule modules declared on first use, one per SciPy subpackage.

``import gradlab`` does not import SciPy, and a program that only calls
``scipy.special`` must not pay for ``scipy.stats``/``scipy.signal`` (about a second
of imports). The first time the call-site resolver (or a tracer's ufunc protocol)
meets a SciPy callable it has no entry for, it asks ``load_rules_for``, which imports
the gradlab module for that callable's subpackage once; the resolver then looks the
callable up again.
"""

from __future__ import annotations

import importlib
import sys
import threading

import numpy as np

from ..scipy import SUBMODULES  # the one list of SciPy rule modules

# scipy subpackage -> the gradlab module declaring its rules
RULE_MODULES = {name: f"gradlab.scipy.{name}" for name in SUBMODULES}
_loaded: set[str] = set()
_LOADING = threading.RLock()


def _scipy_subpackage(fn) -> str | None:
    """``"special"`` for ``scipy.special.gammaln``, ``"stats"`` for ``norm.logpdf``..."""
    module = getattr(fn, "__module__", None) or ""
    parts = module.split(".")
    if parts[0] == "scipy":
        return parts[1] if len(parts) > 1 else ""
    # scipy.special's ufuncs have no __module__; numpy's are attributes of numpy.
    if type(fn).__name__ == "ufunc" and getattr(np, fn.__name__, None) is not fn:
        return "special"
    return None


def load_rules_for(fn) -> bool:
    """Declare the rules of ``fn``'s SciPy subpackage if not yet done; True if this did it.

    A SciPy callable outside the subpackages gradlab covers loads nothing.
    """
    if "scipy" not in sys.modules:
        return False
    sub = _scipy_subpackage(fn)
    if sub is None:
        return False
    module = RULE_MODULES.get(sub)
    with _LOADING:  # another thread meeting SciPy meanwhile waits for these rules
        if module is None or module in _loaded:
            return False
        importlib.import_module(module)
        _loaded.add(module)
    return True
