"""Soft decisions: differentiable branches, selection, loops and sorting, a dual hard/soft
trace that says what each gradient means, and plain Python ``if`` made visible.

- relaxations: ``soft_if``, ``diff_if``, ``soft_argmax``, ``soft_select``, ``soft_max``,
  ``soft_min``, ``soft_sort``, ``soft_permutation``, ``soft_rank``, ``soft_topk``,
  ``gumbel_softmax``, ``bounded_loop``, ``perturbed`` (each checked to second order;
  each recovers the hard op as the temperature goes to 0);
- the dual trace: ``with trace(fidelity=True) as tr:`` then ``tr.fidelity_report()``,
  ``tr.hard_path()``, ``tr.ledger()``, ``tr.to_json()``, ``tr.export_svg(path)``,
  ``tr.show()``; ``hybrid_loss`` and ``temperature_sweep``;
- plain Python control flow, through a pyccolo tracer active only in these two calls:
  ``audit(f)(*args)`` lists every hard decision taken on a differentiable value, and
  ``relax(f, beta)`` rewrites ``if``/``max``/``min``/``sorted`` into soft versions.

See docs/soft.md.

>>> import numpy as np, gradlab as gl, gradlab.soft as soft
>>> def loss(t):
...     return soft.soft_if(np.array(1.0) - t, 0.0, 1.0, beta=10.0)
>>> float(gl.grad(loss)(1.0))
2.5
"""

from __future__ import annotations

from .dual import Decision, SoftTrace, hybrid_loss, temperature_sweep, trace
from .loops import bounded_loop, perturbed
from .relaxations import (
    diff_if,
    gumbel_softmax,
    soft_argmax,
    soft_if,
    soft_max,
    soft_min,
    soft_permutation,
    soft_rank,
    soft_select,
    soft_sort,
    soft_topk,
    straight_through_onehot,
    straight_through_step,
)

# audit/relax import pyccolo: loaded on first use, so the ordinary path never loads it.
_LAZY = {name: ".decisions" for name in ("audit", "relax", "AuditReport", "RelaxError",
                                          "RelaxWarning", "HardDecisionWarning")}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'gradlab.soft' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AuditReport", "Decision", "HardDecisionWarning", "RelaxError", "RelaxWarning",
    "SoftTrace", "audit",
    "bounded_loop", "diff_if", "gumbel_softmax", "hybrid_loss", "perturbed", "relax",
    "soft_argmax", "soft_if", "soft_max", "soft_min", "soft_permutation", "soft_rank",
    "soft_select", "soft_sort", "soft_topk", "straight_through_onehot",
    "straight_through_step", "temperature_sweep", "trace",
]
