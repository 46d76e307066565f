"""Workloads L and L2: linear-cost backward passes over n traced pieces, n = 1k/4k/16k.

L: ``value_and_grad`` through ``np.stack`` of n traced scalars (a list of n parameters,
``np.stack([x * w ...])``), as a loop that collects per-step results does. A variadic
primitive whose backward hands every operand's rule all n operands costs O(n^2) (5 s
at n = 8k before joint rules).

L2: loops that read one array (n rows of 4) row by row, ``s = s + np.sum(x[i] ** 2) *
w[i]``, and element by element, ``np.array([x[i, 0] * w[i] ...])``. As a dense array
the size of ``x`` (what JAX and PyTorch build), each read's cotangent makes the
backward pass O(n^2) (13 s for n = 16k rows of 8 before); the walk's indexed cotangents
(``gradlab/core/sparse.py``) keep it O(n).

The target is linear growth: the 16k case at most 20 times the 1k case (16 times is
exactly linear). gradlab only: the question is its own scaling.

The sizes run in a fresh interpreter that imports only gradlab (``python -m
benchmarks.workloads.variadic``): in the benchmark's own process the peers' imports
(torch, jax) leave millions of objects that every full garbage collection walks, which
times the collector over their heap, not gradlab's scaling. Each size is the best of 9
samples of equal length (``16k / n`` calls each), timed in CPU seconds of the process
(garbage collection included): the question is how gradlab's own work grows, which
wall time on a shared machine blurs (a second-long call is the likelier to lose the CPU
to another process), and samples of unequal length would meet its busy spells
unequally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..harness import Config, Summary, Table, compare, fmt_seconds

SIZES = (1_000, 4_000, 16_000)


def stacked(xs, w):
    """The user's function, plain numpy: ``xs`` is a list of n scalars."""
    return np.sum(np.stack([x * w_i for x, w_i in zip(xs, w)]) ** 2)


def stacked_floor(x, w):
    return np.sum((x * w) ** 2), 2 * x * w * w


def element_reads(x, w):
    """The user's function, plain numpy: ``x`` (n rows of 4) is one array, read row by
    row and element by element."""
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sum(x[i] ** 2) * w[i]
    return s + np.sum(np.array([x[i, 0] * w[i] for i in range(x.shape[0])]) ** 2)


def element_reads_floor(x, w):
    grad = 2 * x * w[:, None]
    grad[:, 0] += 2 * x[:, 0] * w * w
    return np.sum(x * x, axis=1) @ w + np.sum((x[:, 0] * w) ** 2), grad


# key: (the function, its closed form, the width of x's rows (1: a vector), whether x
# goes in as a list of scalars)
CASES = {"L": (stacked, stacked_floor, 1, True),
         "L2": (element_reads, element_reads_floor, 4, False)}


def case_data(key: str, n: int, rng) -> tuple:
    """``(x, w)`` for case ``key`` at size ``n``."""
    width = CASES[key][2]
    x = rng.standard_normal((n, width))
    return (x[:, 0] if width == 1 else x), rng.standard_normal(n)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPEATS = 9  # samples per size (each 16k / n calls), the best of which counts


def time_sizes(key: str = "L", repeats: int = REPEATS) -> dict:
    """Per size: the best CPU time per call over ``repeats`` samples of case ``key``, and
    whether the result is right (``{"error": ...}`` where the call raised).

    A sample of size ``n`` is ``16k / n`` consecutive calls, so every sample lasts about
    as long: a one-call sample of the 16k case and a one-call sample of the 1k case (16
    times shorter) would meet a busy spell of the machine unequally, and the best of a
    few short ones would be the cleaner. Sizes run in order, smallest first."""
    import gradlab as gl

    fun, floor, _, as_list = CASES[key]
    results = {}
    for n in SIZES:
        x, w = case_data(key, n, np.random.default_rng(n))
        args = (list(x) if as_list else x, w)
        step = gl.value_and_grad(fun)
        calls = SIZES[-1] // n
        try:
            best = None
            for _ in range(repeats):
                start = time.process_time()
                for _ in range(calls):
                    value, grad = step(*args)
                took = (time.process_time() - start) / calls
                best = took if best is None else min(best, took)
        except Exception as exc:  # noqa: BLE001 - a failing row is reported, not raised
            results[n] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
            continue
        ref_value, ref_grad = floor(x, w)
        _, wrong = compare([np.asarray(ref_value), ref_grad],
                           [np.asarray(value), np.array(grad)], rtol=1e-9)
        results[n] = {"seconds": best, "wrong": wrong}
    return results


def _run_child(key: str, timeout: int = 600) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.workloads.variadic", key],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    try:
        return {int(n): r for n, r in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    except (IndexError, ValueError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {n: {"error": f"child exited {proc.returncode}: {tail[:200]}"} for n in SIZES}


TITLES = {
    "L": "value_and_grad of np.stack of n traced scalars, n = 1k / 4k / 16k: linear cost",
    "L2": "value_and_grad of loops over x[i] of one traced array, n = 1k / 4k / 16k rows: "
          "linear cost",
}


@dataclass
class StackScaling:
    """The sizes timed in a fresh interpreter (the best of 9 equal-length samples each),
    and 16k / 1k against 20."""

    key: str = "L"
    target: float = 20.0

    @property
    def title(self):
        return TITLES[self.key]

    def run(self, config: Config) -> Table:
        rows, seconds = [], {}
        for n, result in _run_child(self.key).items():
            if "error" in result:
                rows.append([f"{n:,}", "-", "-", result["error"]])
                continue
            seconds[n] = result["seconds"]
            ratio = seconds[n] / seconds[SIZES[0]] if SIZES[0] in seconds else None
            wrong = result["wrong"]
            rows.append([f"{n:,}", fmt_seconds(seconds[n]),
                         "-" if ratio is None else f"{ratio:.1f}x",
                         "ok" if wrong is None else f"WRONG: {wrong}"])
        ratio = (seconds[SIZES[-1]] / seconds[SIZES[0]]
                 if SIZES[0] in seconds and SIZES[-1] in seconds else None)
        summary = Summary(self.key, "-" if ratio is None else f"{ratio:.1f}x",
                          f"16k <= {self.target:.0f}x 1k",
                          None if ratio is None else ratio <= self.target)
        return Table(self.key, self.title, ["n", "gradlab (CPU)", "vs 1k", "result"], rows,
                     notes=["16x is exactly linear; quadratic would be 256x",
                            "each size: the best CPU time per call (the process's, garbage "
                            f"collection included) of {REPEATS} samples of 16k / n calls, "
                            "in a fresh interpreter that imports only gradlab"],
                     summary=[summary])


def workloads():
    return [StackScaling("L"), StackScaling("L2")]


if __name__ == "__main__":
    print(json.dumps(time_sizes(sys.argv[1] if len(sys.argv) > 1 else "L")))
