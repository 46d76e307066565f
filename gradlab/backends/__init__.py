"""Backends and export: run a captured gradlab function on PyTorch or JAX, cross-check its
gradients there, and ship it as ONNX, TorchScript or a ``torch.nn.Module``.

>>> import numpy as np, gradlab as gl
>>> f = lambda w, x: np.sum(np.tanh(x @ w) ** 2)
>>> w, x = np.ones(3) / 3, np.eye(3)
>>> f_torch = gl.compile_to(f, "torch", w, x)          # a function of torch tensors
>>> import torch
>>> round(float(f_torch(torch.tensor(w), torch.tensor(x))), 6) == round(f(w, x), 6)
True

One translation rule per primitive and backend lives in ``torch_rules.py`` and
``jax_rules.py``; docs/backends.md lists what each covers (generated from them).
"""

from .api import (
    compile_to,
    coverage,
    export_onnx,
    export_torchscript,
    run_onnx,
    to_torch_module,
    value_and_grad,
)
from .translate import MissingTranslationError, UnsupportedParamsError

__all__ = ["MissingTranslationError", "UnsupportedParamsError", "compile_to", "coverage",
           "export_onnx", "export_torchscript", "run_onnx", "to_torch_module",
           "value_and_grad"]
