"""The workloads of issue 5, one module per family.

=====  ==============================================  ====================
key    workload                                        module
=====  ==============================================  ====================
A, B   tiny and medium MLP value_and_grad              :mod:`.mlp`
C      1000-step Python loop                           :mod:`.loop`
D1-2   per-example gradients, ``vmap(grad)``           :mod:`.per_example`
E1-2   full Hessian, Hessian-vector product            :mod:`.hessian`
F      2000 sequential tanh layers; 100,000 layers     :mod:`.chain`
G      activation memory with and without checkpoint   :mod:`.memory`
H, I   import time; first call of a new function       :mod:`.startup`
J      gl.jit capture + compile of a 1000-op function  :mod:`.graph`
K      compiled tape vs reference, random DAGs         :mod:`.graph`
L, L2  backward of np.stack; of x[i] loops; 1k-16k     :mod:`.variadic`
=====  ==============================================  ====================
"""

from __future__ import annotations

import importlib

MODULES = ("mlp", "loop", "per_example", "hessian", "chain", "memory", "startup", "graph",
           "variadic")


def all_workloads() -> list:
    """Every workload, in the order of the issue."""
    found = []
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        found.extend(module.workloads())
    return found


def select(keys: list[str]) -> list:
    """The workloads named by ``keys``; a letter selects its family (D: D1, D2).

    Raises ``KeyError`` naming any key that matches nothing.
    """
    workloads = all_workloads()
    if not keys:
        return workloads
    chosen, unknown = [], []
    for key in keys:
        if len(key) == 1:  # a family: D is D1 and D2, F is F and F100k
            hits = [w for w in workloads if w.key[0].lower() == key.lower()]
        else:
            hits = [w for w in workloads if w.key.lower() == key.lower()]
        if not hits:
            unknown.append(key)
        chosen.extend(w for w in hits if w not in chosen)
    if unknown:
        known = ", ".join(w.key for w in workloads)
        raise KeyError(f"unknown workload {', '.join(unknown)}; known: {known}")
    return chosen
