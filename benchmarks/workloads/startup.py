"""Workloads H (import time) and I (first call of a new function).

H runs ``python -c "import X"`` in fresh interpreters, interleaved, and
subtracts the median of ``python -c pass``; the first round only warms the
bytecode caches and is dropped. gradlab's import includes numpy's, so its
ratio to numpy's own import is what a user adds by choosing gradlab.

I writes a fresh 20-line function into a new module file for every repeat,
imports it, and times ``grad(f)(x)``: the call in which gradlab instruments the
function. The same source runs under every peer, with only its first line
(``import numpy as np``, ``import jax.numpy as np``...) changed.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from ..harness import Config, Summary, Table, describe, fmt_ratio, fmt_seconds
from ..peers import FLOOR, Skip, load_autograd, load_gradlab, load_jax, load_torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# --- H: import time ------------------------------------------------------------

MODULES = ("numpy", "gradlab", "autograd", "torch", "jax")


# As after any install: modules load from cached bytecode. An environment that forbids
# writing bytecode (PYTHONDONTWRITEBYTECODE, set in some sandboxes) would make every import
# of an editable checkout compile its source, which no installed package does.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def import_seconds(statement: str) -> float | None:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", statement], cwd=ROOT,
                          capture_output=True, text=True, env=_ENV)
    seconds = time.perf_counter() - start
    return seconds if proc.returncode == 0 else None


@dataclass
class ImportTime:
    key: str = "H"
    title: str = "import time: python -c 'import X' minus python -c pass"

    def run(self, config: Config) -> Table:
        rounds = 4 if config.quick else 9
        samples = {name: [] for name in ("pass", *MODULES)}
        failed = set()
        for r in range(rounds):
            for name in samples:
                if name in failed:
                    continue
                seconds = import_seconds("pass" if name == "pass" else f"import {name}")
                if seconds is None:
                    failed.add(name)
                elif r > 0:
                    samples[name].append(seconds)
        bare = statistics.median(samples.pop("pass"))
        times = {name: statistics.median(s) - bare for name, s in samples.items() if s}
        rows = [["python -c pass", fmt_seconds(bare), "", "bare interpreter start"]]
        for name in MODULES:
            if name in times:
                rows.append([f"import {name}", fmt_seconds(times[name]),
                             fmt_ratio(times[name] / times["numpy"]), ""])
            else:
                rows.append([f"import {name}", "-", "-", "not installed, or its import failed"])
        ratio = times["gradlab"] / times["numpy"] if "gradlab" in times else None
        summary = Summary("H", fmt_ratio(ratio) if ratio else "not run",
                          "≤ 1.3x numpy's import", None if ratio is None else ratio <= 1.3)
        return Table(self.key, self.title, ["module", "median", "ratio to numpy", "note"], rows,
                     notes=[f"median of {rounds - 1} rounds after a warm-up round"],
                     summary=[summary])


# --- I: first call of a new function -------------------------------------------

SOURCE = '''\
{header}


def fresh_{uid}(x):
    a = np.tanh(x) * {c1}
    b = np.sin(a) + np.cos(x)
    c = np.exp(-a * a)
    d = a * b + c
    e = np.log(1.0 + d * d)
    s = np.sum(e * x)
    m = np.mean(b * c)
    h = x @ x
    t = np.tanh(h * 0.01)
    u = a / (1.0 + c)
    v = np.sum(u * u) + m
    w = np.exp(np.sin(v) * 0.1)
    z = s * w + t
    q = np.cos(z) * 0.5
    r = np.sum(np.tanh(x * q))
    k = r + z * {c2}
    return k
'''

HEADERS = {
    FLOOR: "import numpy as np",
    "gradlab": "import numpy as np",
    "autograd": "import autograd.numpy as np",
    "torch.func": "import torch as np",
    "jax": "import jax.numpy as np",
}


class FreshFunctions:
    """Writes each function to its own new module file, in one temp folder."""

    def __init__(self):
        self.folder = tempfile.TemporaryDirectory(prefix="gradlab_bench_")
        self.count = itertools.count()

    def new(self, header: str):
        uid = next(self.count)
        name = f"gradlab_bench_fresh_{os.getpid()}_{uid}"
        path = os.path.join(self.folder.name, name + ".py")
        with open(path, "w") as f:
            f.write(SOURCE.format(header=header, uid=uid, c1=1 + uid * 1e-9, c2=0.5 + uid * 1e-9))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return getattr(module, f"fresh_{uid}")

    def close(self):
        for name in [n for n in sys.modules if n.startswith("gradlab_bench_fresh_")]:
            del sys.modules[name]
        self.folder.cleanup()


def gradient_makers():
    """For each peer: (transform, convert input, convert output).

    The floor row calls the plain numpy function: no derivative, only the
    cost of a first call of new code.
    """

    def gradlab_():
        (grad,) = load_gradlab("grad")
        return grad, np.asarray

    def autograd_():
        autograd, _ = load_autograd()
        return autograd.grad, np.asarray

    def torch_func():
        torch = load_torch()
        return torch.func.grad, torch.tensor

    def jax_():
        jax, jnp = load_jax()
        return (lambda f: lambda x: jax.block_until_ready(jax.grad(f)(x))), jnp.asarray

    return {FLOOR: lambda: ((lambda f: f), np.asarray), "gradlab": gradlab_,
            "autograd": autograd_, "torch.func": torch_func, "jax": jax_}


def finite_difference_grad(f, x, eps=1e-6):
    basis = np.eye(len(x))
    return np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in basis])


@dataclass
class FirstCall:
    key: str = "I"
    title: str = "first call of a new 20-line function under grad (instrumentation)"

    def run(self, config: Config) -> Table:
        repeats = 10 if config.quick else 40
        x = np.random.default_rng(0).standard_normal(8)
        fresh = FreshFunctions()
        rows, gradlab_first = [], None
        try:
            reference = finite_difference_grad(fresh.new(HEADERS[FLOOR]), x)
            for name, make in gradient_makers().items():
                row = self.measure(name, make, fresh, x, reference, repeats, config)
                rows.append(row[0])
                gradlab_first = row[1] if name == "gradlab" else gradlab_first
        finally:
            fresh.close()
        summary = Summary("I", fmt_seconds(gradlab_first) if gradlab_first else "not run",
                          "≤ 2 ms", None if gradlab_first is None else gradlab_first <= 2e-3)
        scipy_first = scipy_first_grad_seconds(3 if config.quick else 7)
        rows.append(["gradlab, scipy.special (fresh process)",
                     fmt_seconds(scipy_first) if scipy_first is not None else "-", "", "",
                     "first grad of a function calling scipy.special, SciPy already imported"])
        scipy_summary = Summary(
            "I-scipy", fmt_seconds(scipy_first) if scipy_first is not None else "not run",
            "≤ 100 ms", None if scipy_first is None else scipy_first <= 0.1)
        return Table(self.key, self.title,
                     ["peer", "first call", "second call", "first - second", "note"], rows,
                     notes=[f"medians of {repeats} new functions; x has 8 entries; "
                            "the numpy row calls the function without differentiating it",
                            "the scipy.special row: median over fresh interpreters, where the "
                            "first grad also declares gradlab's scipy.special rules"],
                     summary=[summary, scipy_summary])

    def measure(self, name, make, fresh, x, reference, repeats, config):
        try:
            transform, array = make()
            ax = array(x)
            firsts, seconds = [], []
            for _ in range(repeats):
                f = fresh.new(HEADERS[name])
                start = time.perf_counter()
                g = transform(f)
                out = g(ax)
                middle = time.perf_counter()
                g(ax)
                end = time.perf_counter()
                firsts.append(middle - start)
                seconds.append(end - middle)
        except Skip as exc:
            return [name, "-", "-", "-", f"skipped: {exc}"], None
        except Exception as exc:
            return [name, "-", "-", "-", describe(exc, config)], None
        note = ""
        if name != FLOOR:
            got = out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)
            if not np.allclose(got, reference, rtol=1e-5, atol=1e-8):
                note = "DISQUALIFIED: gradient differs from finite differences"
        first, second = statistics.median(firsts), statistics.median(seconds)
        overhead = statistics.median(a - b for a, b in zip(firsts, seconds, strict=True))
        return [name, fmt_seconds(first), fmt_seconds(second), fmt_seconds(overhead), note], first


_SCIPY_FIRST = """
import time
import numpy as np
import scipy.special as sc
import gradlab as gl
def f(x):
    return np.sum(sc.gammaln(x) + sc.expit(x) * sc.erf(x)) + sc.logsumexp(x)
x = np.array([1.5, 2.5, 3.0])
start = time.perf_counter()
gl.grad(f)(x)
print(time.perf_counter() - start)
"""


def scipy_first_grad_seconds(rounds: int) -> float | None:
    """Median over fresh interpreters of the first ``grad`` of a scipy.special function.

    SciPy and gradlab are imported before the clock starts: what is timed is what the
    first gradient adds (instrumenting the function, declaring gradlab's scipy.special
    rules on first use). None if SciPy is not installed.
    """
    samples = []
    with tempfile.TemporaryDirectory(prefix="gradlab_bench_") as folder:
        script = os.path.join(folder, "scipy_first.py")  # a file: its source can be read
        with open(script, "w") as f:
            f.write(_SCIPY_FIRST)
        for _ in range(rounds):
            proc = subprocess.run([sys.executable, script], cwd=ROOT, capture_output=True,
                                  text=True, env=_ENV)
            if proc.returncode != 0:
                return None
            samples.append(float(proc.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def workloads():
    return [ImportTime(), FirstCall()]
