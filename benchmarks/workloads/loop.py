"""Workload C: a Python loop of 1000 small steps, the per-op overhead test.

``y = y * 0.99 + np.sin(y)`` on a 10-vector: three primitives a step, so the
engine's cost per recorded op dominates. The iteration converges to fixed
points where ``0.99 + cos(y)`` is near -0.01, so after 1000 steps the exact
gradient underflows to 0.0; correctness is therefore also checked on a
30-step variant, whose gradient (about 1e-50) is tiny but representable.
"""

from __future__ import annotations

import numpy as np

from ..harness import Timed
from ..peers import value_and_grad_builders


def make_loop(steps):
    def loop(y):
        """The user's function, plain numpy."""
        for _ in range(steps):
            y = y * 0.99 + np.sin(y)
        return np.sum(y)

    def loop_xp(xp, y):
        for _ in range(steps):
            y = y * 0.99 + xp.sin(y)
        return xp.sum(y)

    def loop_floor(y):
        """Hand-written forward (keeping each step's input) and backward."""
        inputs = []
        for _ in range(steps):
            inputs.append(y)
            y = y * 0.99 + np.sin(y)
        g = np.ones_like(y)
        for y_in in reversed(inputs):
            g = g * (0.99 + np.cos(y_in))
        return np.sum(y), (g,)

    return loop, loop_xp, loop_floor


def loop_workload(key, steps, check=None):
    def builders():
        y0 = np.random.default_rng(0).standard_normal(10)
        loop, loop_xp, loop_floor = make_loop(steps)
        return value_and_grad_builders(loop, loop_xp, (y0,), (0,), loop_floor)

    return Timed(
        key,
        f"Python loop of {steps} steps y = y*0.99 + np.sin(y) on a 10-vector, value_and_grad",
        target=4.0,
        jit_target=1.5,
        builders=builders,
        check=check,
    )


def workloads():
    return [loop_workload("C", 1000, check=loop_workload("C-check", 30))]
