"""Rule modules declared on first use: ``numpy.linalg``'s, ``numpy.fft``'s,
``numpy.polynomial``'s, and one per SciPy subpackage.

``import gradlab`` imports neither SciPy nor ``numpy.fft``/``numpy.polynomial`` (numpy
loads those only when asked), nor the rules of ``numpy.linalg``'s decompositions and
solvers, which most programs never call. A program that only calls ``scipy.special``
must not pay for ``scipy.stats``/``scipy.signal`` (about a second of imports). The first
time the call-site resolver (or a tracer's protocol) meets a callable of one of these
packages that it has no entry for, it asks ``load_rules_for``, which imports the gradlab
modules for that callable's package once; the resolver then looks the callable up again.
``load_all()`` imports every one (the registry test and the generated lists use it).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import numpy as np

from ..core.primitive import RULE_LOADERS
from ..core.threads import RLock
from ..scipy import SUBMODULES  # the one list of SciPy rule modules

# scipy subpackage -> the gradlab module declaring its rules
RULE_MODULES = {name: (f"gradlab.scipy.{name}",) for name in SUBMODULES}
# numpy subpackage -> the gradlab modules declaring its rules (``np.linalg.matmul`` and the
# other array-API aliases of core functions are declared with those, at import)
NUMPY_RULE_MODULES = {
    "numpy.polynomial": ("gradlab.ops.series",),
    "numpy.fft": ("gradlab.ops.fft",),
    "numpy.linalg": ("gradlab.ops.linalg_solve", "gradlab.ops.linalg_decomp",
                     "gradlab.ops.linalg_eig", "gradlab.ops.linalg_tensor"),
}
_loaded: set[str] = set()
_LOADING = RLock()


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


def _rule_modules(fn) -> tuple[str, ...] | None:
    """The gradlab modules declaring ``fn``'s rule, if it is one declared on first use."""
    module = getattr(fn, "__module__", None)  # a Polynomial object's class names its module
    if type(module) is str and module.startswith("numpy."):
        for package, rules in NUMPY_RULE_MODULES.items():
            if module.startswith(package) and package in sys.modules:
                return rules
    if "scipy" in sys.modules:
        sub = _scipy_subpackage(fn)
        if sub is not None:
            return RULE_MODULES.get(sub)
    return None


def load_all() -> None:
    """Import every rule module declared on first use (SciPy's where SciPy is installed)."""
    groups = list(NUMPY_RULE_MODULES.values())
    if importlib.util.find_spec("scipy") is not None:
        groups += RULE_MODULES.values()
    for modules in groups:
        _load(modules)


def _load(modules: tuple[str, ...]) -> bool:
    """Import ``modules`` unless done; True if this call imported any."""
    with _LOADING:  # another thread meeting the package meanwhile waits for these rules
        new = [module for module in modules if module not in _loaded]
        for module in new:
            importlib.import_module(module)
            _loaded.add(module)
    return bool(new)


def load_rules_for(fn) -> bool:
    """Declare the rules of ``fn``'s package if not yet done; True if this did it.

    A callable of a package gradlab does not cover loads nothing.
    """
    modules = _rule_modules(fn)
    return modules is not None and _load(modules)


RULE_LOADERS.append(load_rules_for)
