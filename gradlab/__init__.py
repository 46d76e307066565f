"""gradlab: differentiate ordinary numpy programs.

>>> import numpy as np, gradlab as gl
>>> def loss(w, x):
...     return np.sum(np.tanh(x @ w) ** 2)
>>> g = gl.grad(loss)(np.ones(3), np.eye(3))
>>> g.shape
(3,)
"""

from . import ops  # noqa: F401  (declares every primitive; must precede interception)
from ._version import __version__
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
from .transforms.reverse import elementwise_grad, grad, make_vjp, value_and_grad, vjp

# The rest of the API is imported on first use (PEP 562), so that ``import gradlab``
# costs little more than ``import numpy``: public name -> (module, attribute or None for
# the module itself).
_LAZY = {
    "check_grads": (".check", "check_grads"),
    **{name: (".transforms.forward", name) for name in ("deriv", "jvp", "make_jvp")},
    "vmap": (".transforms.batching", "vmap"),
    "checkpoint": (".transforms.checkpoint", "checkpoint"),
    "checkpoint_policies": (".transforms.checkpoint", "checkpoint_policies"),
    "no_grad": (".transforms.checkpoint", "no_grad"),
    "custom_jvp": (".transforms.custom", "custom_jvp"),
    "custom_vjp": (".transforms.custom", "custom_vjp"),
    "eval_shape": (".transforms.shapes", "eval_shape"),
    "flatten": (".transforms.flatten", "flatten"),
    "fixed_point": (".transforms.implicit", "fixed_point"),
    "custom_root": (".transforms.implicit", "custom_root"),
    "summary": (".transforms.shapes", "summary"),
    **{name: (".transforms.higher", name) for name in (
        "hessian", "hessian_vector_product", "hvp", "jacfwd", "jacobian", "jacrev", "linearize",
        "make_ggnvp", "make_hvp", "tensor_jacobian_product")},
    # Models and training. ``gl.train`` is the training function; its module, with
    # ``minibatches`` and ``TrainResult``, is ``gradlab.training``.
    "distributed": (".distributed", None),
    "lax": (".lax", None),  # JAX's control flow: scan, fori_loop, while_loop, cond
    "misc": (".misc", None),  # autograd's misc: flatten, optimizers
    "nn": (".nn", None),
    "optim": (".optim", None),
    "random": (".random", None),
    "rules": (".rules", None),
    "soft": (".soft", None),
    "precision": (".precision", None),
    # Devices (docs/devices.md): numpy on the CPU, CuPy on a GPU.
    "devices": (".devices", None),
    **{name: (".devices", name) for name in ("device", "to_device", "on_cpu", "on_device")},
    "train": (".training", "train"),
    "training": (".training", None),
    # Graphs (gradlab.graph): capture, symbolic derivatives, passes, compiled tapes, jit.
    **{name: (".graph", name) for name in (
        "capture", "Graph", "GuardError", "Variable", "grad_graph", "hessian_graph",
        "jvp_graph", "vjp_graph", "optimize", "jit", "compile", "Tape", "Certificate",
        "backprop_reference", "Executor", "session", "plan_remat", "eval_scheduled",
        "peak_bytes")},
    # Backends and export (gradlab.backends): torch, jax, ONNX, TorchScript.
    "backends": (".backends", None),
    **{name: (".backends", name) for name in (
        "compile_to", "export_onnx", "export_torchscript", "to_torch_module")},
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'gradlab' has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    "ConcretizationError", "InPlaceMutationError", "NoRuleError", "Primitive", "ShapeDtypeStruct",
    "ShapeError", "TracerConversionError", "Var", "at", "elementwise_grad",
    "grad", "implements", "make_vjp", "primitive",
    "put_along_axis", "register_dataclass", "register_pytree", "stop_gradient", "tree_flatten",
    "tree_leaves", "tree_map", "tree_structure", "tree_unflatten", "value_and_grad", "vjp",
    # ``gl.compile`` (graphs) stays out of ``import *``: it would shadow the builtin.
    *(name for name in _LAZY if name != "compile"),
]


def load_ipython_extension(shell):
    """``%load_ext gradlab``: the ``|>`` / ``params{...}`` notebook DSL (``gradlab.ipython``)."""
    from .ipython import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell):
    """``%unload_ext gradlab``: remove the DSL, leaving the shell as it was before loading."""
    from .ipython import unload_ipython_extension as unload

    unload(shell)
