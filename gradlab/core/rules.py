"""Helpers for declaring rules compactly: per-operand rule families, variadic rules."""

from __future__ import annotations

import functools


class PerOperand:
    """The rule for operand ``i`` of a variadic primitive: ``fn(i, g, ans, *xs, **params)``.

    ``joint(needed, g, ans, *xs, **params)``, if given, computes the cotangents of all the
    operands the backward walk needs at once (``needed[i]`` says whether operand ``i``'s
    is wanted; ``None`` stands for the others): for a primitive whose operands share
    most of the work, such as a recomputed checkpoint block.
    """

    def __init__(self, fn, joint=None):
        self.fn = fn
        self.joint = joint

    def __getitem__(self, i):
        return functools.partial(self.fn, i)

    def __len__(self):  # variadic: any number of operands
        return 0
