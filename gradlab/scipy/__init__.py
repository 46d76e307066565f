"""SciPy rules: ``scipy.special``, ``scipy.stats`` (normal distributions), ``scipy.signal``.

SciPy is optional, and importing ``scipy.stats`` and ``scipy.signal`` costs about a
second, so ``import gradlab`` does not load these rules. They are declared the first
time traced code calls a SciPy function (the call-site resolver imports this package
then; see ``gradlab.intercept.resolve``), or when this package is imported
explicitly, which is what the registry-wide test and the ops list do:

>>> import gradlab.scipy   # doctest: +SKIP
"""

from . import signal, special, stats  # noqa: F401
