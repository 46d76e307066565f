"""Pytrees: nested tuples, lists, dicts, namedtuples, registered classes, ``None``.

>>> leaves, treedef = tree_flatten({"w": 1.0, "b": (2.0, None)})
>>> leaves
[2.0, 1.0]
>>> tree_unflatten(treedef, [20.0, 10.0])
{'b': (20.0, None), 'w': 10.0}

Dict keys are visited in sorted order (like JAX), so two dicts with the same keys
flatten the same way whatever their insertion order; ``None`` is an empty subtree.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any, Callable, NamedTuple

import numpy as np

from .trace import Tracer

_REGISTRY: dict[type, tuple[Callable, Callable]] = {}


def register_pytree(cls: type, flatten: Callable, unflatten: Callable) -> type:
    """Register ``cls`` as a pytree node.

    ``flatten(obj) -> (children, aux)`` and ``unflatten(aux, children) -> obj``.
    """
    _REGISTRY[cls] = (flatten, unflatten)
    return cls



# The standard library's ordered and defaulting dicts are nodes too (in their own key
# order, as in JAX): parameters kept in an OrderedDict differentiate like a dict's.
register_pytree(collections.OrderedDict, lambda d: (list(d.values()), tuple(d)),
                lambda keys, children: collections.OrderedDict(zip(keys, children)))
register_pytree(collections.defaultdict,
                lambda d: (list(d.values()), (d.default_factory, tuple(d))),
                lambda aux, children: collections.defaultdict(aux[0], zip(aux[1], children)))

def register_dataclass(cls: type) -> type:
    """Register a dataclass whose fields are all pytree children (usable as a decorator).

    >>> import dataclasses
    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class P:
    ...     w: float
    ...     b: float
    >>> tree_leaves(P(1.0, 2.0))
    [1.0, 2.0]
    """
    import dataclasses  # here, not at import time: ``import gradlab`` stays cheap

    names = tuple(f.name for f in dataclasses.fields(cls))
    return register_pytree(
        cls,
        lambda obj: ([getattr(obj, n) for n in names], None),
        lambda aux, children: cls(**dict(zip(names, children))),
    )


class TreeDef(NamedTuple):
    """The structure of a pytree: node kind, auxiliary data and child structures."""

    kind: Any  # None for a leaf, else the node type
    aux: Any
    children: tuple

    @property
    def num_leaves(self) -> int:
        if self.kind is None:
            return 1
        return sum(c.num_leaves for c in self.children)


_LEAF = TreeDef(None, None, ())
_NONE_TYPE = type(None)
# Types that are always leaves: checked first, so flattening arrays costs one set lookup.
_ATOMS = frozenset({np.ndarray, float, int, complex, bool, np.float64, np.float32})


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _node(x):
    """``(kind, aux, children)`` for a container, or ``None`` for a leaf."""
    t = type(x)
    if t is tuple or t is list:
        return t, None, list(x)
    if t is dict:
        keys = sorted(x)
        return dict, tuple(keys), [x[k] for k in keys]
    if x is None:
        return type(None), None, []
    if t in _REGISTRY:
        children, aux = _REGISTRY[t][0](x)
        return t, aux, list(children)
    if _is_namedtuple(x):
        return t, None, list(x)
    return None


def _flatten_into(x, leaves: list, is_leaf) -> TreeDef:
    t = type(x)
    if t in _ATOMS or isinstance(x, Tracer) or (is_leaf is not None and is_leaf(x)):
        leaves.append(x)
        return _LEAF
    node = _node(x)
    if node is None:
        leaves.append(x)
        return _LEAF
    kind, aux, children = node
    return TreeDef(kind, aux, tuple([_flatten_into(c, leaves, is_leaf) for c in children]))


def tree_flatten(tree: Any, is_leaf: Callable | None = None) -> tuple[list, TreeDef]:
    """``(leaves, treedef)`` of ``tree``; ``is_leaf(x)`` can stop the descent early."""
    leaves: list = []
    return leaves, _flatten_into(tree, leaves, is_leaf)


def _build(td: TreeDef, it):
    kind = td.kind
    if kind is None:
        return next(it)
    children = [_build(c, it) for c in td.children]
    if kind is tuple or kind is list:
        return kind(children)
    if kind is dict:
        return dict(zip(td.aux, children))
    if kind is _NONE_TYPE:
        return None
    if kind in _REGISTRY:
        return _REGISTRY[kind][1](td.aux, children)
    return kind(*children)  # namedtuple


def leaf_paths(tree) -> list[str]:
    """The path of every leaf of ``tree``, in ``tree_flatten``'s order (for messages).

    >>> leaf_paths({"w": 1.0, "b": (2.0, None)})
    ["['b'][0]", "['w']"]
    """
    paths: list[str] = []
    stack = [(tree, "")]
    while stack:
        x, path = stack.pop()
        node = None if type(x) in _ATOMS else _node(x)
        if node is None:
            paths.append(path)
            continue
        kind, aux, children = node
        if kind is dict:
            names = [f"[{k!r}]" for k in aux]
        elif _is_namedtuple(x):
            names = [f".{f}" for f in type(x)._fields]
        else:
            names = [f"[{i}]" for i in range(len(children))]
        stack.extend(reversed([(c, path + n) for c, n in zip(children, names)]))
    return paths


def tree_unflatten(treedef: TreeDef, leaves: Sequence[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``."""
    if treedef.kind is None:
        (leaf,) = leaves
        return leaf
    return _build(treedef, iter(leaves))


def tree_leaves(tree: Any, is_leaf: Callable | None = None) -> list:
    """The leaves of ``tree`` in flattening order."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any) -> TreeDef:
    """The ``TreeDef`` of ``tree``."""
    return tree_flatten(tree)[1]


def tree_map(f: Callable, tree: Any, *rest: Any, is_leaf: Callable | None = None) -> Any:
    """Apply ``f`` leafwise across ``tree`` and trees of the same structure.

    >>> tree_map(lambda a, b: a + b, {"x": 1, "y": (2, 3)}, {"x": 10, "y": (20, 30)})
    {'x': 11, 'y': (22, 33)}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = [tree_flatten(r, is_leaf) for r in rest]
    for _, other_def in others:
        if other_def != treedef:
            raise ValueError(f"tree_map: structures differ: {treedef} vs {other_def}")
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *(o[0] for o in others))])
