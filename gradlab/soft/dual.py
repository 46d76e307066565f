"""The dual hard/soft trace: what each soft decision did, and how far it is from the hard one.

``with gradlab.soft.trace(fidelity=True) as tr:`` records every relaxation that runs in
the block (``soft_if``, ``diff_if``, ``soft_select``, ``soft_sort``, ``bounded_loop``,
``perturbed``, and the ``if``/``max``/``sorted`` that ``relax`` rewrote). With
``fidelity=True`` each one also computes its hard semantics alongside the soft value, so
the trace knows, per decision, the hard and soft values, the gate, the temperature, how
much weight the soft program puts on the hard program's path (agreement), the gate's
entropy and the output gap. ``fidelity=False`` keeps only what each surrogate means (the
ledger) and skips the hard computation.

>>> import numpy as np, gradlab.soft as soft
>>> with soft.trace() as tr:
...     y = soft.soft_if(np.array(2.0), 1.0, 0.0, beta=3.0)
>>> row = tr.decisions[0]
>>> row.kind, row.hard, round(row.agreement, 4)
('branch', 1.0, 0.9975)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .._types import Array
from ..core.errors import ConcretizationError, user_frame
from ..core.threads import local
from ..core.trace import concrete

_LOCAL = local()

# What each surrogate's gradient means (docs/soft.md states each in one paragraph).
CONTRACTS = ("surrogate", "exact-selected-path", "hard-forward-soft-backward")
_BIAS = {
    "surrogate": "the gradient is that of the soft program, not the hard one: it is "
                 "biased wherever the gate is not saturated (see the output gap)",
    "exact-selected-path": "the gradient is exact for the path taken and ignores the "
                           "decision itself: moving a threshold or score has no effect",
    "hard-forward-soft-backward": "the forward value is the hard program's, the gradient "
                                  "is the soft gate's: they describe different functions",
}
_CHECKS = {
    "surrogate": ["temperature_sweep: the gap should shrink as the temperature falls",
                  "compare the loss of the hard program before and after training"],
    "exact-selected-path": ["check the decision boundary separately (the gradient cannot "
                            "move it)", "gl.check_grads away from the boundary"],
    "hard-forward-soft-backward": ["train with hybrid_loss and watch the gap",
                                   "compare with mode='soft' at the same beta"],
}
# Gap thresholds (relative to the hard value's scale) for the three colours.
CLOSE, FAR = 0.05, 0.25


@dataclass
class Decision:
    """One recorded decision. Values are plain numbers or nested lists (JSON-ready)."""

    index: int
    kind: str  # "branch", "select", "sort", "loop", "op"
    name: str  # the relaxation: "soft_if", "diff_if[straight_through]", "relax:if" ...
    where: str  # file:line of the user's code
    surrogate: str  # what replaced the hard decision, in words
    contract: str  # one of CONTRACTS
    temperature: float | None = None
    hard: object = None  # the hard program's value (None without fidelity)
    soft: object = None  # the value the soft program computed
    gate: object = None  # the gate / selection weights
    agreement: float | None = None  # mean weight the soft program puts on the hard path
    entropy: float | None = None  # mean gate entropy, in bits
    gap: float | None = None  # max |soft - hard|
    hard_choice: object = None  # the branch / index / exit step the hard program takes
    frames: list = field(default_factory=list)  # per-step rows of a loop
    note: str = ""

    @property
    def status(self) -> str:
        """``"agrees"`` (gap under 5% of the value's scale), ``"close"`` (under 25%),
        ``"differs"``, ``"hard"`` for a hard op left as it is (``watch``), or
        ``"unmeasured"`` without fidelity."""
        if self.gap is None:
            return "hard" if self.kind == "op" and self.surrogate.startswith("none") else \
                "unmeasured"
        scale = max(1.0, float(np.max(np.abs(np.asarray(self.hard, float)))))
        rel = self.gap / scale
        return "agrees" if rel <= CLOSE else "close" if rel <= FAR else "differs"


def _plain(x):
    """A JSON-ready copy of a (possibly traced) value: floats or nested lists; None where
    the value is batched by ``vmap`` or abstract (no concrete value to record)."""
    if x is None:
        return None
    try:
        x = concrete(x, "recording a soft decision")
    except ConcretizationError:
        return None
    arr = np.asarray(x)
    if arr.dtype.kind == "b":
        return arr.tolist()
    return float(arr) if arr.ndim == 0 else np.asarray(arr, float).tolist()


def categorical_entropy(weights) -> float | None:
    """Mean entropy (bits) of selection weights along the last axis."""
    if weights is None:
        return None
    w = np.clip(np.asarray(weights, float), 1e-300, 1.0)
    return float(np.mean(np.sum(-w * np.log2(w), axis=-1)))


def binary_entropy(gate) -> float | None:
    """Mean entropy (bits) of a sigmoid gate."""
    if gate is None:
        return None
    g = np.asarray(gate, float)
    return categorical_entropy(np.stack([g, 1.0 - g], axis=-1))


def _gap(soft, hard) -> float | None:
    if soft is None or hard is None:
        return None
    diff = np.abs(np.asarray(soft, float) - np.asarray(hard, float))
    return float(np.max(diff)) if diff.size else 0.0


class SoftTrace:
    """The record of one ``with trace(...)`` block; see the module docstring."""

    def __init__(self, fidelity: bool = True):
        self.fidelity = fidelity
        self.decisions: list[Decision] = []
        self.rewrites: list[dict] = []  # what ``relax`` rewrote (ledger entries)

    def __enter__(self):
        stack = _stack()
        stack.append(self)
        return self

    def __exit__(self, *exc):
        popped = _stack().pop()
        assert popped is self, "soft traces exited out of order"
        return False

    # --- recording --------------------------------------------------------------
    def add(self, kind: str, name: str, surrogate: str, contract: str, *,
            temperature: float | None = None, soft: Any = None, hard: Any = None,
            gate: Any = None, agreement: float | None = None, entropy: float | None = None,
            hard_choice: Any = None, frames: Iterable[dict] = (), note: str = "",
            where: str | None = None) -> Decision:
        """Append one decision (values may be traced: their concrete values are kept)."""
        soft_v, hard_v = _plain(soft), _plain(hard)
        self.decisions.append(Decision(
            index=len(self.decisions), kind=kind, name=name, where=where or _where(),
            surrogate=surrogate, contract=contract,
            temperature=None if temperature is None else float(temperature),
            hard=hard_v, soft=soft_v, gate=_plain(gate),
            agreement=None if agreement is None else float(agreement),
            entropy=entropy, gap=_gap(soft_v, hard_v), hard_choice=_plain(hard_choice),
            frames=list(frames), note=note))
        return self.decisions[-1]

    def watch(self, fn: Callable) -> Callable:
        """``fn`` run so that the hard ops it applies to its float arguments (``x > t``,
        ``np.argmax``, ``np.floor`` ...) are recorded here too (``gradlab.soft.watch``)."""
        from .watch import watch

        return watch(self, fn)

    # --- reports ----------------------------------------------------------------
    def hard_path(self) -> list[tuple[str, object]]:
        """``(label, choice)`` per decision: the branch, index, permutation or exit step
        that the hard program takes."""
        return [(_label(d), d.hard_choice) for d in self.decisions]

    def fidelity_report(self) -> dict:
        """How far the soft program is from the hard one: a summary and one row per decision."""
        rows = [{"decision": _label(d), "where": d.where, "temperature": d.temperature,
                 "agreement": d.agreement, "entropy": d.entropy, "gap": d.gap,
                 "status": d.status} for d in self.decisions]
        gaps = [d.gap for d in self.decisions if d.gap is not None]
        agree = [d.agreement for d in self.decisions if d.agreement is not None]
        return {"decisions": len(rows), "max_gap": max(gaps) if gaps else None,
                "mean_agreement": float(np.mean(agree)) if agree else None,
                "differs": sum(r["status"] == "differs" for r in rows), "rows": rows}

    def ledger(self) -> list[dict]:
        """Per decision: the surrogate, its gradient contract, a bias warning and checks."""
        out = [{"decision": _label(d), "where": d.where, "surrogate": d.surrogate,
                "gradient_contract": d.contract, "bias_warning": _BIAS[d.contract],
                "recommended_checks": list(_CHECKS[d.contract])} for d in self.decisions]
        for r in self.rewrites:
            out.append({"decision": f"rewrite {r['kind']}", "where": r["where"],
                        "surrogate": r["surrogate"], "gradient_contract": "surrogate",
                        "bias_warning": _BIAS["surrogate"],
                        "recommended_checks": list(_CHECKS["surrogate"])})
        return out

    def show(self) -> str:
        """A text table, one row per decision (printed, and returned)."""
        head = ("#", "decision", "where", "T", "agree", "gap", "status")
        rows = [(str(d.index), _label(d), _short_where(d.where), _fmt(d.temperature),
                 _fmt(d.agreement), _fmt(d.gap), d.status) for d in self.decisions]
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [head] + rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        text = "\n".join(lines)
        print(text)
        return text

    def to_json(self) -> str:
        """Every decision and rewrite as JSON; ``SoftTrace.from_json`` reads it back."""
        return json.dumps({"fidelity": self.fidelity, "rewrites": self.rewrites,
                           "decisions": [asdict(d) for d in self.decisions]}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SoftTrace":
        data = json.loads(text)
        tr = cls(fidelity=data["fidelity"])
        names = {f.name for f in fields(Decision)}
        tr.decisions = [Decision(**{k: v for k, v in d.items() if k in names})
                        for d in data["decisions"]]
        tr.rewrites = list(data["rewrites"])
        return tr

    def export_svg(self, path: str | os.PathLike) -> str:
        """Write an SVG with one row per decision, coloured by agreement; returns the path."""
        from .export import trace_svg

        with open(path, "w", encoding="utf-8") as fh:
            fh.write(trace_svg(self))
        return str(path)


def trace(fidelity: bool = True) -> SoftTrace:
    """A dual trace to use as ``with trace(fidelity=True) as tr:`` (see the module docstring)."""
    return SoftTrace(fidelity)


def _stack() -> list:
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def active() -> SoftTrace | None:
    """The innermost live dual trace of this thread, or None (the common, free case)."""
    stack = getattr(_LOCAL, "stack", None)
    return stack[-1] if stack else None


def _where() -> str:
    frame = user_frame()
    return "<unknown>" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _short_where(where: str) -> str:
    head, _, line = where.rpartition(":")
    return f"{head.rsplit('/', 1)[-1]}:{line}" if head else where


def _label(d: Decision) -> str:
    return f"{d.kind} {d.name}"


def _fmt(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}" if isinstance(x, float) and math.isfinite(x) else str(x)


def hybrid_loss(soft: Array, hard: Array, target: Array, gap_weight: float = 1.0,
                loss: Callable[[Array, Array], Array] | None = None) -> Array:
    """Train the soft program toward ``target`` while pulling it onto the hard one:
    ``loss(soft, target) + gap_weight * mean((soft - stop_gradient(hard))**2)``
    (``loss`` defaults to the mean squared error).

    >>> import numpy as np
    >>> float(hybrid_loss(np.array([1.0]), np.array([0.0]), np.array([1.0]), 0.5))
    0.5
    """
    from ..ops.misc import stop_gradient

    fit = np.mean((soft - target) ** 2) if loss is None else loss(soft, target)
    return fit + gap_weight * np.mean((soft - stop_gradient(hard)) ** 2)


def temperature_sweep(fn: Callable[[float], Any], temps: Iterable[float]) -> list[dict]:
    """Run ``fn(temperature)`` under a dual trace for each temperature; one row per
    temperature with the output, the largest gap and the mean agreement.

    >>> import numpy as np, gradlab.soft as soft
    >>> rows = temperature_sweep(lambda t: soft.soft_max(np.array([1.0, 2.0]), t), [1.0, 0.01])
    >>> [round(r["max_gap"], 3) for r in rows]
    [0.313, 0.0]
    """
    rows = []
    for t in temps:
        with trace(fidelity=True) as tr:
            out = fn(t)
        report = tr.fidelity_report()
        rows.append({"temperature": float(t), "output": _plain(out),
                     "max_gap": report["max_gap"], "mean_agreement": report["mean_agreement"],
                     "decisions": report["decisions"]})
    return rows
