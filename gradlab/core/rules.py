"""Helpers for declaring rules compactly: per-operand rule families, variadic rules."""

from __future__ import annotations

import functools


class PerOperand:
    """The rule for operand ``i`` of a variadic primitive: ``fn(i, g, ans, *xs, **params)``.

    ``joint(needed, g, ans, *xs, **params)``, if given, computes the cotangents of all the
    operands the backward walk needs at once (``needed[i]`` says whether operand ``i``'s
    is wanted; ``None`` stands for the others): for a primitive whose operands share
    most of the work, such as a recomputed checkpoint block, or whose rules would each
    read all ``n`` operands (``concatenate``: one joint call keeps the backward pass
    O(n) where ``n`` per-operand calls are O(n^2)). For JVP rules, ``joint(tangents,
    ans, *xs, **params)`` is the output's tangent from all the operands' (``None``
    where an operand has none).

    ``sparse(i, g, ans, *xs, **params)``, if given, is consulted by the lowest-level
    backward walk alone (``core/tape.py``): an ``IndexedCotangent`` for operand ``i``
    (``core/sparse.py``: ``x[idx]``'s cotangent without a dense array of ``x``'s size),
    or ``None`` where ``fn``'s dense cotangent is wanted. Every other caller of VJP rules
    (graph capture, transposition, rule scopes) calls ``fn`` and gets dense values.
    """

    def __init__(self, fn, joint=None, sparse=None):
        self.fn = fn
        self.joint = joint
        self.sparse = sparse

    def __getitem__(self, i):
        return functools.partial(self.fn, i)

    def __len__(self):  # variadic: any number of operands
        return 0
