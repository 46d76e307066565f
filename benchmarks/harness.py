"""The shared harness: correctness check, interleaved timing, tables.

Every timed workload runs all its peers in this one process. Before any timing,
each peer's result (value and gradients) is compared with the numpy floor's; a
peer whose result differs by more than ``rtol`` times the floor's largest entry
is disqualified and never timed. Timing then interleaves the peers round by
round (peer order rotating each round, so drift in machine load spreads evenly),
and reports the median of the rounds. The garbage collector stays enabled: an
engine that makes reference cycles pays for collecting them, as its users do.
"""

from __future__ import annotations

import statistics
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from .peers import FLOOR, Builder, Skip, Step, to_numpy


@dataclass
class Config:
    """What the command line chose.

    ``budget`` is the wall time, in seconds, spent in timed rounds per workload;
    ``quick`` shrinks budgets and the memory workload for a fast look.
    """

    quick: bool = False
    budget: float = 6.0
    verbose: bool = False
    min_rounds: int = 5
    max_rounds: int = 151
    sample_seconds: float = 5e-3


@dataclass
class Summary:
    """One line of the closing summary: gradlab's measure against its target."""

    key: str
    measured: str
    target: str
    met: bool | None  # None: gradlab did not run


@dataclass
class Table:
    """A workload's printed result."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    summary: list[Summary] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"### {self.key}: {self.title}", "", *pipe_table(self.headers, self.rows)]
        if self.notes:
            lines += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines)


class Workload(Protocol):
    key: str
    title: str

    def run(self, config: Config) -> Table: ...


def pipe_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table with aligned columns, readable as plain text too.

    >>> print("\\n".join(pipe_table(["a", "bb"], [["1", "2"]])))
    | a | bb |
    |---|----|
    | 1 | 2  |
    """
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"
             for row in [headers, *rows]]
    return [lines[0], rule, *lines[1:]]


def fmt_seconds(seconds: float | None) -> str:
    """Human units: ``fmt_seconds(1.5e-5) == '15.0 µs'``."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def describe(exc: BaseException, config: Config) -> str:
    """A one-line account of a peer's failure (the traceback when verbose)."""
    if config.verbose:
        traceback.print_exception(exc)
    text = str(exc).strip().splitlines()
    return f"error: {type(exc).__name__}: {text[0] if text else ''}"[:160]


def compare(
    expected: list[np.ndarray], got: list[np.ndarray], rtol: float
) -> tuple[float, str | None]:
    """Largest absolute difference, and why ``got`` is wrong (None when right).

    The tolerance is relative to the floor's largest entry, per array, so a
    gradient that is correctly tiny (a long tanh chain) is still checked.

    >>> compare([np.ones(2)], [np.ones(2) + 1e-12], rtol=1e-6)
    (1.000088900582341e-12, None)
    >>> compare([np.ones(2)], [np.zeros(2)], rtol=1e-6)[1]
    'max abs diff 1.0e+00 in array 0 (floor scale 1.0e+00)'
    """
    if len(got) != len(expected):
        return np.inf, f"returned {len(got)} arrays, the floor {len(expected)}"
    worst = 0.0
    for i, (e, g) in enumerate(zip(expected, got)):
        if e.shape != g.shape:
            return np.inf, f"array {i} has shape {g.shape}, the floor {e.shape}"
        if not np.all(np.isfinite(g)):
            return np.inf, f"array {i} has non-finite entries"
        diff = float(np.max(np.abs(e - g), initial=0.0))
        scale = float(np.max(np.abs(e), initial=0.0))
        worst = max(worst, diff)
        if diff > rtol * scale:
            return worst, f"max abs diff {diff:.1e} in array {i} (floor scale {scale:.1e})"
    return worst, None


def call_once(step: Step) -> tuple[object, float]:
    start = time.perf_counter()
    out = step()
    return out, time.perf_counter() - start


def time_steps(
    steps: dict[str, Step], config: Config, budget: float
) -> tuple[dict[str, float], dict[str, str]]:
    """Median seconds per call of each step, timed in interleaved rounds; and,
    for any step that raised while being timed, why it was dropped.

    A sample repeats a fast step enough times to last ``sample_seconds`` (so the
    clock's resolution does not matter), and the number of rounds fills
    ``budget`` within ``[min_rounds, max_rounds]``.
    """
    per_call = {name: min(call_once(step)[1] for _ in range(3)) for name, step in steps.items()}
    number = {name: max(1, int(config.sample_seconds / t)) for name, t in per_call.items()}
    round_cost = sum(number[name] * per_call[name] for name in steps)
    rounds = int(np.clip(budget / max(round_cost, 1e-9), config.min_rounds, config.max_rounds))
    names = list(steps)
    samples: dict[str, list[float]] = {name: [] for name in names}
    failed: dict[str, str] = {}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            if name in failed:
                continue
            step, n = steps[name], number[name]
            start = time.perf_counter()
            try:
                for _ in range(n):
                    step()
            except Exception as exc:
                failed[name] = f"while timing: {describe(exc, config)}"
                continue
            samples[name].append((time.perf_counter() - start) / n)
    medians = {name: statistics.median(s) for name, s in samples.items() if name not in failed}
    return medians, failed


@dataclass
class Timed:
    """A workload timed in-process: every peer computes the same derivative.

    ``builders()`` makes the data and returns ``{peer: builder}``, the floor
    first. ``check``, when given, is a smaller variant of the same workload whose
    results also decide correctness: the 1000-step loop of workload C drives its
    gradient to exactly 0.0, which any engine would match.
    """

    key: str
    title: str
    target: float
    builders: Callable[[], dict[str, Builder]]
    check: Timed | None = None
    rtol: float = 1e-6
    budget_scale: float = 1.0
    jit_target: float | None = None  # the "gradlab.jit" row's target, where there is one

    def prepare(self, config: Config) -> tuple[dict[str, Step], dict[str, list[str]]]:
        """Build every peer and check it; return the good steps and each row's cells."""
        steps: dict[str, Step] = {}
        info: dict[str, list[str]] = {}
        expected: list[np.ndarray] | None = None
        check_expected: list[np.ndarray] | None = None
        check_builders = self.check.builders() if self.check else {}
        for name, build in self.builders().items():
            try:
                step = build()
                out, first = call_once(step)
                got = to_numpy(out)
            except Skip as exc:
                info[name] = ["-", "-", "-", "-", f"skipped: {exc}"]
                continue
            except Exception as exc:
                info[name] = ["-", "-", "-", "-", describe(exc, config)]
                continue
            if expected is None:  # the floor comes first
                expected = got
            diff, wrong = compare(expected, got, self.rtol)
            if wrong is None:  # the second call warms up, and catches stale caches
                second_diff, wrong = self._second_call(step, expected, config)
                diff = max(diff, second_diff)
            if wrong is None and name in check_builders:
                check_diff, wrong, check_expected = self._check(
                    check_builders[name], check_expected, config)
                diff = max(diff, check_diff)
            cells = ["-", "-", fmt_seconds(first), f"{diff:.1e}" if np.isfinite(diff) else "-"]
            if wrong is not None:
                info[name] = cells + [f"DISQUALIFIED: {wrong}"]
                continue
            steps[name] = step
            info[name] = cells + [""]
        return steps, info

    def _second_call(self, step, expected, config):
        try:
            diff, wrong = compare(expected, to_numpy(step()), self.rtol)
        except Exception as exc:
            return np.inf, f"second call: {describe(exc, config)}"
        return diff, (None if wrong is None else f"second call: {wrong}")

    def _check(self, build, expected, config):
        """Run the check variant of one peer; returns (diff, wrong, floor result)."""
        try:
            got = to_numpy(build()())
        except Exception as exc:
            return np.inf, f"check variant: {describe(exc, config)}", expected
        if expected is None:
            return 0.0, None, got
        diff, wrong = compare(expected, got, self.rtol)
        return diff, (None if wrong is None else f"check variant: {wrong}"), expected

    def run(self, config: Config) -> Table:
        steps, info = self.prepare(config)
        budget = config.budget * self.budget_scale * (0.3 if config.quick else 1.0)
        medians, failed = time_steps(steps, config, budget) if steps else ({}, {})
        floor = medians.get(FLOOR)
        rows = []
        for name, cells in info.items():
            if name in failed:
                cells[-1] = failed[name]
            if name in medians:
                cells[0] = fmt_seconds(medians[name])
                cells[1] = fmt_ratio(medians[name] / floor) if floor else "-"
            rows.append([name, *cells])
        headers = ["peer", "median", "ratio to floor", "first call", "max abs diff", "note"]
        ratio = medians["gradlab"] / floor if floor and "gradlab" in medians else None
        summary = Summary(
            self.key,
            fmt_ratio(ratio) if ratio is not None else "not run",
            f"≤ {self.target:g}x",
            None if ratio is None else ratio <= self.target,
        )
        summaries = [summary]
        if self.jit_target is not None:
            jit = medians.get("gradlab.jit")
            ratio = jit / floor if floor and jit else None
            summaries.append(Summary(
                f"{self.key} jit", fmt_ratio(ratio) if ratio is not None else "not run",
                f"≤ {self.jit_target:g}x", None if ratio is None else ratio <= self.jit_target))
        return Table(self.key, self.title, headers, rows, summary=summaries)


def summary_table(tables: list[Table]) -> Table:
    """gradlab against every target, one line per measure."""
    rows = []
    for table in tables:
        for item in table.summary:
            met = {True: "yes", False: "NO", None: "-"}[item.met]
            rows.append([item.key, item.measured, item.target, met])
    headers = ["workload", "gradlab", "target", "met"]
    return Table("Summary", "gradlab against its targets", headers, rows)
