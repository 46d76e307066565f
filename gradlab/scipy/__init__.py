"""SciPy rules: ``scipy.special``, ``stats``, ``signal``, ``integrate`` and ``linalg``.

SciPy is optional, and its subpackages are slow to import (``scipy.stats`` and
``scipy.signal`` about a second together), so neither ``import gradlab`` nor this
package loads any rule. Each submodule is imported the first time traced code calls
a function of the matching SciPy subpackage (``gradlab.intercept.lazy_rules``): a
program that calls only ``scipy.special`` never imports ``scipy.stats``.
``load_all()`` declares every SciPy rule at once (the registry test and the ops list
use it):

>>> import gradlab.scipy
>>> gradlab.scipy.load_all()   # doctest: +SKIP
"""

import importlib

SUBMODULES = ("special", "stats", "signal", "integrate", "linalg")


def load_all() -> None:
    """Import every SciPy rule module (declaring all their primitives)."""
    for name in SUBMODULES:
        importlib.import_module(f"{__name__}.{name}")
