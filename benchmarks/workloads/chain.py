"""Workload F: a long chain of ``tanh(y @ W_i)`` layers, the tape stress test.

F times 2000 layers on a 1x32 row; F100k runs 100,000 layers once, the depth
at which an engine whose backward walk recurses dies. The weights are random
orthogonal matrices, so the gradient neither explodes nor vanishes (about 1e-2
after 2000 layers, 1e-3 after 100,000) and the correctness check means something.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..harness import Config, Summary, Table, Timed, compare, describe, fmt_seconds
from ..peers import FLOOR, Skip, load_jax, to_numpy, value_and_grad_builders

WIDTH = 32
DISTINCT = 2000  # distinct weight matrices; deeper chains cycle through them


def chain(y, Ws):
    """The user's function, plain numpy."""
    for W in Ws:
        y = np.tanh(y @ W)
    return np.sum(y)


def chain_xp(xp, y, Ws):
    for W in Ws:
        y = xp.tanh(y @ W)
    return xp.sum(y)


def chain_floor(y, Ws):
    """Hand-written forward (keeping each layer's output) and backward."""
    outputs = []
    for W in Ws:
        y = np.tanh(y @ W)
        outputs.append(y)
    g = np.ones_like(y)
    for W, out in zip(reversed(Ws), reversed(outputs)):
        g = (g * (1.0 - out * out)) @ W.T
    return np.sum(y), (g,)


def chain_data(layers, seed=0):
    rng = np.random.default_rng(seed)
    distinct = [np.linalg.qr(rng.standard_normal((WIDTH, WIDTH)))[0]
                for _ in range(min(layers, DISTINCT))]
    y0 = rng.standard_normal((1, WIDTH))
    return y0, [distinct[i % len(distinct)] for i in range(layers)]


def chain_builders(layers):
    data = chain_data(layers)
    builders = value_and_grad_builders(chain, chain_xp, data, (0,), chain_floor)
    # Compiling the unrolled 2000-layer loop takes XLA about 25 s here; a JAX
    # user writes the loop as a scan, compiled once for all layers.
    del builders["jax.jit"]
    # gl.jit would unroll it too (14,000 equations, seconds to compile): left out.
    del builders["gradlab.jit"]
    builders["jax.jit (scan)"] = lambda: jax_scan_step(*data)
    return builders


def jax_scan_step(y0, Ws):
    jax, jnp = load_jax()

    def f(y, stacked):
        def layer(y, W):
            return jnp.tanh(y @ W), None

        return jnp.sum(jax.lax.scan(layer, y, stacked)[0])

    vg = jax.jit(jax.value_and_grad(f))
    y, stacked = jnp.asarray(y0), jnp.asarray(np.stack(Ws))
    return lambda: jax.block_until_ready(vg(y, stacked))


@dataclass
class DeepChain:
    """One untimed-but-clocked run of a very deep chain per peer: does it work?

    Only the peers whose per-op cost makes 100,000 layers take seconds run;
    jax eager would take minutes.
    """

    key: str = "F100k"
    layers: int = 100_000
    peers: tuple[str, ...] = (FLOOR, "gradlab", "autograd", "torch")

    @property
    def title(self):
        return f"{self.layers:,} sequential tanh(y @ W_i) layers, value_and_grad: runs, right"

    def run(self, config: Config) -> Table:
        builders = chain_builders(self.layers)
        expected = None
        rows = []
        gradlab_ok = None
        for name in self.peers:
            try:
                step = builders[name]()
                start = time.perf_counter()
                got = to_numpy(step())
                seconds = time.perf_counter() - start
            except Skip as exc:
                rows.append([name, "-", f"skipped: {exc}"])
                continue
            except (Exception, RecursionError) as exc:
                rows.append([name, "-", describe(exc, config)])
                gradlab_ok = False if name == "gradlab" else gradlab_ok
                continue
            expected = got if expected is None else expected
            diff, wrong = compare(expected, got, rtol=1e-6)
            rows.append([name, fmt_seconds(seconds), "ok" if wrong is None else f"WRONG: {wrong}"])
            if name == "gradlab":
                gradlab_ok = wrong is None
        summary = Summary(self.key, {None: "not run", True: "ok", False: "failed"}[gradlab_ok],
                          "runs, right gradient", gradlab_ok)
        return Table(self.key, self.title, ["peer", "one call", "result"], rows, summary=[summary])


def workloads():
    return [
        Timed("F", "2000 sequential tanh(y @ W_i), y 1x32, W_i 32x32, value_and_grad wrt y",
              target=2.5, builders=lambda: chain_builders(2000)),
        DeepChain(),
    ]
