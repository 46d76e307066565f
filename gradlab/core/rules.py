"""Helpers for declaring rules compactly: per-operand rule families, variadic rules."""

from __future__ import annotations

import functools


class PerOperand:
    """The rule for operand ``i`` of a variadic primitive: ``fn(i, g, ans, *xs, **params)``."""

    def __init__(self, fn):
        self.fn = fn

    def __getitem__(self, i):
        return functools.partial(self.fn, i)

    def __len__(self):  # variadic: any number of operands
        return 0
