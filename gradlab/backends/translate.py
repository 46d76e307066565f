"""Running a captured graph on another framework: one translation rule per primitive.

A backend is a table ``primitive name -> rule(*operands, **params)`` over that
framework's arrays (``torch_rules.py``, ``jax_rules.py``), plus how to move arrays in
and out. ``interpret(graph)`` walks the graph's equations, the same loop as
``Graph.eval_flat``, calling each equation's rule instead of its numpy ``impl``. The
framework's own autodiff then differentiates the result. Nothing else is kept per
primitive, so the coverage table in docs/backends.md is derived from the tables.
"""

from __future__ import annotations

import importlib

import numpy as np

from ..core.tree import tree_flatten, tree_unflatten

# backend name -> the module holding its table (imported on first use: torch and jax are
# optional and heavy)
BACKEND_MODULES = {"torch": "gradlab.backends.torch_rules",
                   "jax": "gradlab.backends.jax_rules"}


class MissingTranslationError(NotImplementedError):
    """A graph uses primitives that the chosen backend has no translation rule for."""


class UnsupportedParamsError(MissingTranslationError):
    """A translation rule exists, but not for these parameters (raised by the rule)."""


def backend(name: str):
    """The table module of backend ``name`` (``RULES``, ``asarray``, ``to_numpy``)."""
    if name not in BACKEND_MODULES:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKEND_MODULES)}")
    try:
        return importlib.import_module(BACKEND_MODULES[name])
    except ImportError as exc:
        extra = "onnx" if name == "onnx" else name
        raise ImportError(f"the {name} backend needs {name}: pip install 'gradlab[{extra}]'"
                          f" ({exc})") from exc


def missing_rules(graph, name: str) -> list[str]:
    """The primitives of ``graph`` that backend ``name`` cannot translate, sorted."""
    rules = backend(name).RULES
    return sorted({e.primitive.name for e in graph.eqns if e.primitive.name not in rules})


def check_translatable(graph, name: str) -> None:
    missing = missing_rules(graph, name)
    if missing:
        raise MissingTranslationError(
            f"the {name} backend has no translation for {', '.join(missing)} (used by the "
            f"captured function). Add a rule to gradlab/backends/{name}_rules.py's RULES, "
            "or keep that part of the program in gradlab; docs/backends.md lists what each "
            "backend covers.")


def interpret(graph, name: str):
    """``fn(*args)`` over backend ``name``'s arrays computing ``graph`` (same pytrees).

    Guards recorded at capture are not re-checked: the function follows the branches the
    captured call took (a framework tracer, under ``jax.jit``, has no concrete values).
    """
    check_translatable(graph, name)
    table = backend(name)
    rules, asarray = table.RULES, table.asarray
    consts = {k: asarray(v) if isinstance(v, np.ndarray) else v
              for k, v in graph.consts.items()}

    def run(*args):
        env = dict(consts)
        env.update(zip(graph.inputs, graph.flat_args(args)))
        for eqn in graph.eqns:
            out = rules[eqn.primitive.name](*[env[i] for i in eqn.inputs], **eqn.params)
            if eqn.multiple:
                env.update(zip(eqn.outputs, out))
            else:
                env[eqn.outputs[0]] = out
        return tree_unflatten(graph.out_tree, [env[o] for o in graph.outputs])

    return run


def to_backend(tree, name: str):
    """Every array leaf of ``tree`` as backend ``name``'s array."""
    table = backend(name)
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [table.asarray(x) if _is_array(x) else x for x in leaves])


def to_numpy(tree, name: str):
    """Every backend array leaf of ``tree`` as a numpy array."""
    table = backend(name)
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [table.to_numpy(x) for x in leaves])


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, float, int, complex)) and not isinstance(
        x, bool)


def kernel_offsets(kernel, stride, dilation, out_hw):
    """``[(i, j, (..., rows, cols))]``: for each kernel offset, the index of the input
    cells it meets, the window geometry of gradlab's ``windows``/``overlap_add``
    primitives (``gradlab/nn/conv.py``), shared by the backends' translations."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    return [(i, j, (Ellipsis, slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                    slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)))
            for i in range(kh) for j in range(kw)]


def windows_out_size(padded_hw, kernel, stride, dilation):
    """``(Ho, Wo)``: how many windows fit along the (padded) last two axes."""
    return tuple((n - d * (k - 1) - 1) // s + 1
                 for n, k, s, d in zip(padded_hw, kernel, stride, dilation))
