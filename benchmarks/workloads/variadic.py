"""Workload L: ``value_and_grad`` through ``np.stack`` of n traced pieces, n = 1k/4k/16k.

The user's function builds an array from n traced scalars (a list of n parameters,
``np.stack([x * w ...])``), as a loop that collects per-step results does. The pieces
are separate arguments, not ``x[i]`` of one array: each ``x[i]`` has a dense cotangent
the size of ``x`` (as in JAX and PyTorch), which is O(n^2) on its own. A variadic
primitive whose backward hands every operand's rule all n operands costs O(n^2) (5 s
at n = 8k before joint rules); the target is linear growth: the 16k case at most 20
times the 1k case (16 times is exactly linear). gradlab only: the question is its own scaling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..harness import Config, Summary, Table, compare, describe, fmt_seconds

SIZES = (1_000, 4_000, 16_000)


def stacked(xs, w):
    """The user's function, plain numpy: ``xs`` is a list of n scalars."""
    return np.sum(np.stack([x * w_i for x, w_i in zip(xs, w)]) ** 2)


def stacked_floor(x, w):
    return np.sum((x * w) ** 2), 2 * x * w * w


@dataclass
class StackScaling:
    """One timed call per size (best of a few), and the 16k / 1k ratio against 20."""

    key: str = "L"
    target: float = 20.0

    @property
    def title(self):
        return "value_and_grad of np.stack of n traced scalars, n = 1k / 4k / 16k: linear cost"

    def run(self, config: Config) -> Table:
        import gradlab as gl

        rows, seconds = [], {}
        repeats = 1 if config.quick else 3
        for n in SIZES:
            rng = np.random.default_rng(n)
            x, w = rng.standard_normal(n), rng.standard_normal(n)
            xs = list(x)
            step = gl.value_and_grad(stacked)
            try:
                best = None
                for _ in range(repeats):
                    start = time.perf_counter()
                    value, grad = step(xs, w)
                    took = time.perf_counter() - start
                    best = took if best is None else min(best, took)
            except Exception as exc:  # noqa: BLE001 - a failing row is reported, not raised
                rows.append([f"{n:,}", "-", "-", describe(exc, config)])
                continue
            ref_value, ref_grad = stacked_floor(x, w)
            _, wrong = compare([np.asarray(ref_value), ref_grad], [np.asarray(value),
                                                                 np.array(grad)],
                               rtol=1e-9)
            seconds[n] = best
            ratio = best / seconds[SIZES[0]] if SIZES[0] in seconds else None
            rows.append([f"{n:,}", fmt_seconds(best), "-" if ratio is None else f"{ratio:.1f}x",
                         "ok" if wrong is None else f"WRONG: {wrong}"])
        ratio = (seconds[SIZES[-1]] / seconds[SIZES[0]]
                 if SIZES[0] in seconds and SIZES[-1] in seconds else None)
        summary = Summary(self.key, "-" if ratio is None else f"{ratio:.1f}x",
                          f"16k <= {self.target:.0f}x 1k",
                          None if ratio is None else ratio <= self.target)
        return Table(self.key, self.title, ["n", "gradlab", "vs 1k", "result"], rows,
                     notes=["16x is exactly linear; quadratic would be 256x"],
                     summary=[summary])


def workloads():
    return [StackScaling()]
