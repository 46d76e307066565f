"""Workloads H (import time) and I (first call of a new function).

H runs ``python -c "import X"`` in fresh interpreters, interleaved, and
subtracts the median of ``python -c pass``; the first round only warms the
bytecode caches and is dropped. gradlab's import includes numpy's, so its
ratio to numpy's own import is what a user adds by choosing gradlab.

I writes a fresh 20-line function (I100: a 100-line model of 15 functions) into a
new module file for every repeat, imports it, and times ``grad(f)(x)``: the call in
which gradlab instruments the function (and every helper it calls). The same source
runs under every peer, with only its first line (``import numpy as np``,
``import jax.numpy as np``...) changed.
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


LIGHT = ("numpy", "gradlab", "autograd")  # sub-second imports: several a round, in turn
PAIRED = 3  # times each light import (and ``pass``) runs in a round


@dataclass
class ImportTime:
    """Each import's median over rounds, minus the bare start's. The sub-second imports
    run ``PAIRED`` times a round, each time just after a bare start: each one's figure is
    the median of its differences with the bare start beside it, so a busy spell of the
    shared machine (which moves single starts by a quarter) slows both sides of most
    differences alike."""

    key: str = "H"
    title: str = "import time: python -c 'import X' minus python -c pass"

    def run(self, config: Config) -> Table:
        rounds = 4 if config.quick else 15  # a second-long import swings with the load
        samples: dict[str, list[float]] = {name: [] for name in ("pass", *MODULES)}
        failed = set()
        for r in range(rounds):
            order = [("pass", *LIGHT)] * PAIRED + [(name,) for name in MODULES
                                                   if name not in LIGHT]
            for group in order:
                for name in group:
                    seconds = None if name in failed else import_seconds(
                        "pass" if name == "pass" else f"import {name}")
                    if seconds is None:
                        failed.add(name)
                    elif r > 0:
                        samples[name].append(seconds)
        passes = samples.pop("pass")
        bare = statistics.median(passes)
        times = {name: statistics.median([t - b for t, b in zip(s, passes)])
                 if name in LIGHT else statistics.median(s) - bare
                 for name, s in samples.items() if s and name not in failed}
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
                     notes=[f"{rounds - 1} rounds after a warm-up round; numpy, gradlab and "
                            f"autograd run {PAIRED} times a round, each just after a bare "
                            "start, and count the median of their differences with it"],
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

# A 100-line model: helpers for layers, normalisation, attention, a loss; the parameters
# arrive as one flat vector of 40 entries (so every peer can take the same input).
MODEL_SOURCE = '''\
{header}


def unpack_{uid}(x):
    w1 = x[0:12].reshape(3, 4)
    b1 = x[12:16]
    w2 = x[16:32].reshape(4, 4)
    w3 = x[32:40].reshape(4, 2)
    return w1, b1, w2, w3


def inputs_{uid}(x):
    base = np.sin(x[0:15] * 0.0 + np.arange(15.0) * {c1}).reshape(5, 3)
    return base * 0.5


def targets_{uid}(x):
    return np.cos(x[0:10] * 0.0 + np.arange(10.0) * {c2}).reshape(5, 2)


def linear_{uid}(h, w, b=None):
    out = h @ w
    if b is not None:
        out = out + b
    return out


def gelu_{uid}(z):
    inner = 0.7978845608 * (z + 0.044715 * z * z * z)
    return 0.5 * z * (1.0 + np.tanh(inner))


def softplus_{uid}(z):
    return np.log(1.0 + np.exp(z))


def normalize_{uid}(h):
    mu = np.mean(h)
    centred = h - mu
    var = np.mean(centred * centred)
    return centred / np.sqrt(var + 1e-5)


def softmax_rows_{uid}(s):
    e = np.exp(s - 1.0)
    ones = e[0:1, :].T * 0.0 + 1.0
    return e / (e @ ones)


def attention_{uid}(h):
    scores = (h @ h.T) * 0.5
    weights = softmax_rows_{uid}(scores)
    return weights @ h


def block_{uid}(h, w):
    a = attention_{uid}(normalize_{uid}(h))
    h = h + a
    f = gelu_{uid}(linear_{uid}(normalize_{uid}(h), w))
    return h + 0.5 * f


def head_{uid}(h, w):
    logits = linear_{uid}(h, w)
    return softplus_{uid}(logits) - 0.5 * logits


def penalty_{uid}(params):
    total = 0.0
    for p in params:
        total = total + np.sum(p * p)
    return 1e-3 * total


def smooth_l1_{uid}(d):
    small = 0.5 * d * d
    large = np.abs(d) - 0.5
    gate = 0.5 * (1.0 + np.tanh(10.0 * (1.0 - np.abs(d))))
    return gate * small + (1.0 - gate) * large


def metric_{uid}(pred, y):
    err = pred - y
    return np.mean(smooth_l1_{uid}(err))


def model_{uid}(x):
    w1, b1, w2, w3 = unpack_{uid}(x)
    h = np.tanh(linear_{uid}(inputs_{uid}(x), w1, b1))
    h = block_{uid}(h, w2)
    h = block_{uid}(h, w2 * 0.5)
    pred = head_{uid}(h, w3)
    loss = metric_{uid}(pred, targets_{uid}(x))
    reg = penalty_{uid}((w1, b1, w2, w3))
    aux = np.sum(np.sin(pred)) * 1e-2
    return loss + reg + aux


def fresh_{uid}(x):
    return model_{uid}(x)
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

    def __init__(self, source=SOURCE):
        self.folder = tempfile.TemporaryDirectory(prefix="gradlab_bench_")
        self.count = itertools.count()
        self.source = source

    def new(self, header: str):
        uid = next(self.count)
        name = f"gradlab_bench_fresh_{os.getpid()}_{uid}"
        path = os.path.join(self.folder.name, name + ".py")
        with open(path, "w") as f:
            f.write(self.source.format(header=header, uid=uid, c1=1 + uid * 1e-9,
                                       c2=0.5 + uid * 1e-9))
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
    source: str = SOURCE
    size: int = 8  # entries of x
    target: float = 2e-3  # seconds, gradlab's first call

    def run(self, config: Config) -> Table:
        repeats = 10 if config.quick else 40
        x = np.random.default_rng(0).standard_normal(self.size)
        if self.size > 8:
            x *= 0.3
        fresh = FreshFunctions(self.source)
        rows, gradlab_first = [], None
        try:
            reference = finite_difference_grad(fresh.new(HEADERS[FLOOR]), x)
            for name, make in gradient_makers().items():
                row = self.measure(name, make, fresh, x, reference, repeats, config)
                rows.append(row[0])
                gradlab_first = row[1] if name == "gradlab" else gradlab_first
        finally:
            fresh.close()
        summary = Summary(self.key, fmt_seconds(gradlab_first) if gradlab_first else "not run",
                          f"≤ {fmt_seconds(self.target)}",
                          None if gradlab_first is None else gradlab_first <= self.target)
        notes = [f"medians of {repeats} new functions; x has {self.size} entries; "
                 "the numpy row calls the function without differentiating it"]
        summaries = [summary]
        if self.key == "I":  # the first grad through scipy.special, once per run
            scipy_first = scipy_first_grad_seconds(3 if config.quick else 7)
            rows.append(["gradlab, scipy.special (fresh process)",
                         fmt_seconds(scipy_first) if scipy_first is not None else "-", "", "",
                         "first grad of a function calling scipy.special, SciPy already imported"])
            summaries.append(Summary(
                "I-scipy", fmt_seconds(scipy_first) if scipy_first is not None else "not run",
                "≤ 100 ms", None if scipy_first is None else scipy_first <= 0.1))
            notes.append("the scipy.special row: median over fresh interpreters, where the "
                         "first grad also declares gradlab's scipy.special rules")
        return Table(self.key, self.title,
                     ["peer", "first call", "second call", "first - second", "note"], rows,
                     notes=notes, summary=summaries)

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
    return [ImportTime(), FirstCall(),
            FirstCall("I100", "first gradient of a new 100-line model (15 functions) under grad",
                      MODEL_SOURCE, size=40, target=50e-3)]
