"""Workload G: activation memory of a deep MLP, with and without checkpointing.

A 50-layer ``tanh(x @ W)`` MLP, batch 1024, width 1024: 8 MB per activation,
400 MB of weights. ``checkpoint`` mode wraps each block of 5 layers in the
peer's checkpoint, so at most 10 block inputs plus 5 recomputed activations are
alive at once, about 3x less than the 50 a plain tape keeps.

Each peer and mode runs alone in a fresh subprocess (:mod:`.memory_child`):

- ``cpu time``: the CPU time of one call of the gradient with respect to all
  50 weights (the process's first, so it includes any per-shape compilation,
  small beside 150 matmuls of 1024x1024). One call per process keeps the
  workload within minutes; CPU time, with every peer on one thread, is not
  blurred by whatever else the shared machine runs meanwhile.
- ``activation MB``: the peak RSS increase during a call of the gradient with
  respect to the *input*, minus that returned gradient. Both gradients need the
  same saved activations; the weight gradients would blur the measure, since
  they (400 MB) fill memory just as the activations are freed. The peak is
  Linux's VmHWM, reset before the call by writing 5 to ``/proc/self/clear_refs``
  (``ru_maxrss`` where that fails). glibc is told to return every large freed
  block (``MALLOC_MMAP_THRESHOLD_``), so RSS follows what is really alive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

from ..harness import Config, Summary, Table, fmt_seconds
from ..peers import FLOOR
from .memory_child import BLOCK

LAYERS = 50
PEERS = (FLOOR, "gradlab", "autograd", "torch", "jax")
MODES = ("plain", "checkpoint")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_child(peer, mode, layers, width, batch, timeout=300):
    """One measurement in a fresh interpreter; its JSON record, or an error."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    cmd = [sys.executable, "-m", "benchmarks.workloads.memory_child", peer, mode,
           str(layers), str(width), str(batch)]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"child exited {proc.returncode}: {tail[:200]}"}


@dataclass
class Memory:
    key: str = "G"
    title: str = (f"{LAYERS}-layer tanh MLP (batch and width 1024; 512 with --quick): "
                  f"activation memory and time, plain and checkpointed in blocks of {BLOCK}")

    def run(self, config: Config) -> Table:
        width = batch = 512 if config.quick else 1024
        records = {(peer, mode): run_child(peer, mode, LAYERS, width, batch)
                   for peer in PEERS for mode in MODES}
        expected = records[(FLOOR, "plain")].get("fingerprint")
        rows = [self.row(peer, mode, records, expected) for peer in PEERS for mode in MODES]
        notes = [f"width and batch {width}" + (" (--quick)" if config.quick else "")
                 + f"; one activation is {width * batch * 8 / 2**20:.0f} MB, "
                 f"all {LAYERS} are {LAYERS * width * batch * 8 / 2**20:.0f} MB",
                 "cpu time: gradient wrt all weights; activation MB: gradient wrt the input "
                 "(see benchmarks/workloads/memory.py)"]
        if any(not r.get("exact_peak", True) for r in records.values()):
            notes.append("some peaks are from ru_maxrss (clear_refs unavailable): lower bounds")
        headers = ["peer", "mode", "cpu time", "activation MB", "memory saved", "time cost",
                   "note"]
        return Table(self.key, self.title, headers, rows, notes=notes,
                     summary=self.summary(records))

    def row(self, peer, mode, records, expected):
        r = records[(peer, mode)]
        if "seconds" not in r:
            note = f"skipped: {r['skip']}" if "skip" in r else f"error: {r.get('error')}"
            return [peer, mode, "-", "-", "-", "-", note]
        plain = records[(peer, "plain")]
        note = ""
        if expected is not None and not np.allclose(r["fingerprint"], expected, rtol=1e-6, atol=0):
            note = "DISQUALIFIED: gradient differs from the floor's"
        mem_vs = time_vs = "-"
        if mode != "plain" and "seconds" in plain:
            mem_vs = f"{plain['activation_mb'] / max(r['activation_mb'], 1e-9):.2f}x"
            time_vs = f"{r['seconds'] / plain['seconds']:.2f}x"
        return [peer, mode, fmt_seconds(r["seconds"]), f"{r['activation_mb']:.0f}", mem_vs,
                time_vs, note]

    def summary(self, records):
        plain, ckpt = records[("gradlab", "plain")], records[("gradlab", "checkpoint")]
        if "seconds" not in plain or "seconds" not in ckpt:
            return [Summary("G memory", "not run", "≥ 3x less with checkpoint", None),
                    Summary("G time", "not run", "≤ 1.5x with checkpoint", None)]
        less = plain["activation_mb"] / max(ckpt["activation_mb"], 1e-9)
        slower = ckpt["seconds"] / plain["seconds"]
        return [Summary("G memory", f"{less:.2f}x less", "≥ 3x less with checkpoint", less >= 3),
                Summary("G time", f"{slower:.2f}x", "≤ 1.5x with checkpoint", slower <= 1.5)]


def workloads():
    return [Memory()]
