"""Graphs: capture a function into a flat SSA IR, evaluate, differentiate and compile it.

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x: np.sum(np.sin(x)), np.zeros(3))
>>> float(g(np.zeros(3)))
0.0

See ``docs/graphs.md``. Modules: ``ir`` (the data structure, documented for
translators), ``capture`` (the recording level), ``printing``, ``serialize``.
"""

from .capture import GraphTrace, GraphTracer, Variable, capture
from .ir import Eqn, Graph, Guard, GuardError
from .just_in_time import jit
from .passes import bind_inputs, optimize
from .reference import Certificate, backprop_reference, certify
from .symbolic import grad_graph, hessian_graph, jvp_graph, vjp_graph
from .tape import Tape, compile  # noqa: A004 - gl.compile, the graph compiler

__all__ = ["Eqn", "Graph", "GraphTrace", "GraphTracer", "Guard", "GuardError", "Variable",
           "Certificate", "Tape", "backprop_reference", "bind_inputs", "capture", "certify",
           "compile", "grad_graph", "hessian_graph", "jit", "jvp_graph",
           "optimize", "vjp_graph"]
