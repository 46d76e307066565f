"""Graphs: capture a function into a flat SSA IR, evaluate, differentiate and compile it.

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x: np.sum(np.sin(x)), np.zeros(3))
>>> float(g(np.zeros(3)))
0.0

See ``docs/graphs.md``. Modules: ``ir`` (the data structure, documented for
translators), ``capture`` (the recording level), ``printing``, ``serialize``.
"""

from .capture import GraphTrace, GraphTracer, Variable, capture
from .executor import Executor, session
from .ir import Eqn, Graph, Guard, GuardError
from .just_in_time import jit
from .passes import bind_inputs, optimize
from .reference import Certificate, backprop_reference, certify
from .remat import RematPlan, eval_scheduled, peak_bytes, plan_remat
from .symbolic import grad_graph, hessian_graph, jvp_graph, vjp_graph
from .tape import Tape, compile  # noqa: A004 - gl.compile, the graph compiler

__all__ = ["Certificate", "Eqn", "Executor", "Graph", "GraphTrace", "GraphTracer", "Guard",
           "GuardError", "RematPlan", "Tape", "Variable", "backprop_reference", "bind_inputs",
           "capture", "certify", "compile", "eval_scheduled", "grad_graph", "hessian_graph",
           "jit", "jvp_graph", "optimize", "peak_bytes", "plan_remat", "session", "vjp_graph"]
