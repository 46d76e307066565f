"""Worked examples: ``python -m gradlab.examples`` trains every registered model.

Each model is a module in this package that exposes

- ``NAME``: a short human-readable name (used by ``--only`` and the summary table);
- ``train(quick: bool) -> dict``: gradient-checks the model, trains it, prints its loss
  as it falls and returns metrics (at least ``test_acc``; see ``common.fit_classifier``;
  ``loss_history``, the loss of every step, feeds ``--plot``);
- optionally ``EXPECTED`` and ``EXPECTED_QUICK``: the ``(low, high)`` held-out accuracy
  of a full and of a ``--quick`` run, shown next to the result.

To add a model, write ``gradlab/examples/<model>.py`` and append its module path to
``MODELS``. Modules are imported lazily, so a model whose optional dependency is
missing fails on its own instead of taking the others down.

>>> from gradlab.examples import MODELS
>>> "gradlab.examples.mlp" in MODELS
True
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODELS: list[str] = [
    "gradlab.examples.logreg",
    "gradlab.examples.mlp",
    "gradlab.examples.mlp_bf16",  # the same MLP in bfloat16 compute (gl.precision)
    # Models built from gradlab.nn and trained with gl.train:
    "gradlab.examples.mlp_ln",
    "gradlab.examples.cnn",
    "gradlab.examples.char_transformer",
    "gradlab.examples.char_gru",
    # A spiking network trained through a surrogate gradient (gradlab.rules):
    "gradlab.examples.spiking",
    # Hard decisions made differentiable (gradlab.soft):
    "gradlab.examples.soft_decisions",
]


def load_model(path: str) -> ModuleType:
    """Import one registered model module and check that it has the model interface."""
    module = importlib.import_module(path)
    for attr in ("NAME", "train"):
        if not hasattr(module, attr):
            raise TypeError(f"example module {path} must define {attr!r}")
    return module
