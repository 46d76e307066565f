"""autograd's ``misc`` under gradlab: ``flatten`` and the ``optimizers`` module, so a
script written for ``autograd.misc`` runs after changing its imports.

>>> from gradlab.misc import flatten
>>> vector, unflatten = flatten({"b": 1.0, "w": [2.0, 3.0]})
>>> vector.tolist()
[1.0, 2.0, 3.0]
"""

from ..transforms.flatten import flatten
from . import optimizers

__all__ = ["flatten", "optimizers"]
