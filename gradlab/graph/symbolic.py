"""Symbolic differentiation: graph in, graph out.

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x: np.sum(np.sin(x) * x), np.zeros(3))
>>> dg = gl.grad_graph(g)
>>> x = np.array([0.1, 0.2, 0.3])
>>> bool(np.allclose(dg(x), np.cos(x) * x + np.sin(x)))
True

A derivative graph is the capture of the graph's own evaluation under ``grad``
(``jacrev`` for a non-scalar output) or ``jvp``: the VJP and JVP rules are written
with gradlab ops, so the backward pass is recorded like any other code. The
capture runs on symbolic ``Variable`` inputs (no data is needed); guards of the
original graph carry over to the derived one.
"""

from __future__ import annotations

import numpy as np

from ..core.tree import tree_unflatten
from .capture import Variable, capture
from .ir import Graph


def symbolic_args(graph: Graph) -> tuple:
    """The graph's arguments as ``Variable`` placeholders (static leaves as captured)."""
    leaves, inputs = [], iter(zip(graph.inputs, graph.input_names))
    for i in range(graph.in_tree.num_leaves):
        if i in graph.static_args:
            leaves.append(graph.static_args[i])
        else:
            vid, name = next(inputs)
            aval = graph.avals[vid]
            leaves.append(Variable(name, aval.shape, aval.dtype))
    return tree_unflatten(graph.in_tree, leaves)


def _scalar_output(graph: Graph) -> bool:
    return len(graph.outputs) == 1 and graph.avals[graph.outputs[0]].shape == ()


def grad_graph(graph: Graph, wrt=0) -> Graph:
    """The reverse-mode derivative of ``graph`` w.r.t. argument ``wrt`` (int or tuple), as a
    graph taking the same arguments: the gradient for a scalar output, else the Jacobian
    (shape ``out.shape + x.shape``). Applying it twice gives the Hessian.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: np.sum(x ** 3), np.ones(2))
    >>> gl.grad_graph(gl.grad_graph(g))(np.array([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    from ..transforms.higher import jacobian
    from ..transforms.reverse import grad

    f = graph.as_function()
    derivative = grad(f, wrt) if _scalar_output(graph) else jacobian(f, wrt)
    return capture(derivative, *symbolic_args(graph))


def vjp_graph(graph: Graph) -> Graph:
    """A graph of ``(args, cotangent) -> cotangents of every argument`` (a tuple).

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: x * 3.0, np.ones(2))
    >>> gl.vjp_graph(g)((np.ones(2),), np.array([1.0, 2.0]))[0].tolist()
    [3.0, 6.0]
    """
    from ..core.tree import tree_unflatten as unflatten
    from ..transforms.reverse import vjp

    f = graph.as_function()

    def pullback(args, cotangent):
        return vjp(f, *args)[1](cotangent)

    out_ct = unflatten(graph.out_tree, [
        Variable(f"ct{i}", graph.avals[o].shape, graph.avals[o].dtype)
        for i, o in enumerate(graph.outputs)])
    return capture(pullback, symbolic_args(graph), out_ct)


def jvp_graph(graph: Graph) -> Graph:
    """A graph of ``(primals, tangents) -> (out, tangent_out)`` by forward mode; primals
    and tangents are tuples shaped like the graph's arguments.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: np.sin(x), np.zeros(2))
    >>> out, t = gl.jvp_graph(g)((np.zeros(2),), (np.array([1.0, 2.0]),))
    >>> t.tolist()
    [1.0, 2.0]
    """
    from ..transforms.forward import jvp

    f = graph.as_function()
    primals = symbolic_args(graph)
    tangents = tree_unflatten(graph.in_tree, [
        Variable(f"d{v.name}", v.shape, v.dtype) if isinstance(v, Variable) else v
        for v in _leaves(primals)])

    def push(primals, tangents):
        return jvp(f, primals, tangents)

    return capture(push, primals, tangents)


def _leaves(tree):
    from ..core.tree import tree_leaves

    return tree_leaves(tree, is_leaf=lambda x: isinstance(x, Variable))


def hessian_graph(graph: Graph, wrt=0) -> Graph:
    """``grad_graph`` applied twice: the Hessian of a scalar graph, as a graph.

    >>> import numpy as np, gradlab as gl
    >>> g = gl.capture(lambda x: x[0] * x[1] ** 2, np.ones(2))
    >>> hessian_graph(g)(np.array([1.0, 3.0])).tolist()
    [[0.0, 6.0], [6.0, 2.0]]
    """
    return grad_graph(grad_graph(graph, wrt), wrt)


del np
