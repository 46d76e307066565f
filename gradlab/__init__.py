"""gradlab: differentiate ordinary numpy programs.

>>> import numpy as np, gradlab as gl
>>> def loss(w, x):
...     return np.sum(np.tanh(x @ w) ** 2)
>>> g = gl.grad(loss)(np.ones(3), np.eye(3))
>>> g.shape
(3,)
"""

from . import ops  # noqa: F401  (declares every primitive; must precede interception)
from .check import check_grads
from .core.errors import (
                          ConcretizationError,
                          InPlaceMutationError,
                          NoRuleError,
                          ShapeError,
                          TracerConversionError,
)
from .core.primitive import Primitive, implements, primitive
from .core.shapes import ShapeDtypeStruct
from .core.tape import Var
from .core.tree import (
                          register_dataclass,
                          register_pytree,
                          tree_flatten,
                          tree_leaves,
                          tree_map,
                          tree_structure,
                          tree_unflatten,
)
from .ops.index import at, put_along_axis
from .ops.misc import stop_gradient
from .transforms.batching import vmap
from .transforms.checkpoint import checkpoint, checkpoint_policies, no_grad
from .transforms.custom import custom_jvp, custom_vjp
from .transforms.forward import deriv, jvp, make_jvp
from .transforms.higher import (
                          hessian,
                          hessian_vector_product,
                          hvp,
                          jacfwd,
                          jacrev,
                          linearize,
                          make_ggnvp,
                          make_hvp,
                          tensor_jacobian_product,
)
from .transforms.reverse import elementwise_grad, grad, jacobian, make_vjp, value_and_grad, vjp
from .transforms.shapes import eval_shape, summary


__all__ = [
    "ConcretizationError", "InPlaceMutationError", "NoRuleError", "Primitive", "ShapeDtypeStruct",
    "ShapeError", "TracerConversionError", "Var", "at", "check_grads", "deriv", "elementwise_grad",
    "grad", "implements", "jacobian", "jvp", "make_jvp", "make_vjp", "primitive",
    "register_dataclass", "register_pytree", "stop_gradient", "tree_flatten", "tree_leaves",
    "tree_map", "tree_structure", "tree_unflatten", "value_and_grad", "vjp",
]
__all__ += [
    "hessian", "hessian_vector_product", "hvp", "jacfwd", "jacrev", "linearize", "make_ggnvp",
    "make_hvp", "tensor_jacobian_product", "vmap", "checkpoint", "checkpoint_policies",
    "no_grad", "custom_jvp", "custom_vjp", "eval_shape", "summary",
]
__all__ += ["put_along_axis"]

# Models and training. ``gl.train`` is the training function (its module, with
# ``minibatches`` and ``TrainResult``, is importable as ``gradlab.train``).
from . import nn, optim, random  # noqa: E402
from .train import train  # noqa: E402

__all__ += ["nn", "optim", "random", "train"]


def load_ipython_extension(shell):
    """``%load_ext gradlab``: the ``|>`` / ``params{...}`` notebook DSL (``gradlab.ipython``)."""
    from .ipython import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell):
    """``%unload_ext gradlab``: remove the DSL, leaving the shell as it was before loading."""
    from .ipython import unload_ipython_extension as unload

    unload(shell)
