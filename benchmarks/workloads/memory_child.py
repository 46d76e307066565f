"""The child process of workload G: one peer, one mode, two gradient calls.

``python -m benchmarks.workloads.memory_child PEER MODE LAYERS WIDTH BATCH``
prints one JSON line. See :mod:`.memory` for what is measured and why.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import time

import numpy as np

from ..peers import FLOOR, Skip, load_autograd, load_gradlab, load_jax, load_torch, to_numpy

BLOCK = 5


# --- the model -----------------------------------------------------------------

def block(x, *Ws):
    """Layers of the user's model, plain numpy (also the checkpointed unit)."""
    for W in Ws:
        x = np.tanh(x @ W)
    return x


def mlp(Ws, x):
    """The user's function: ``Ws`` is a tuple of weight matrices."""
    return np.sum(block(x, *Ws))


def mlp_checkpointed(run_block):
    """The user's model with every BLOCK layers run by ``run_block``."""

    def loss(Ws, x):
        for i in range(0, len(Ws), BLOCK):
            x = run_block(x, *Ws[i:i + BLOCK])
        return np.sum(x)

    return loss


def block_xp(xp, x, *Ws):
    for W in Ws:
        x = xp.tanh(x @ W)
    return x


def mlp_xp(xp, run_block, Ws, x):
    for i in range(0, len(Ws), BLOCK):
        x = run_block(x, *Ws[i:i + BLOCK])
    return xp.sum(x)


# --- the floor -----------------------------------------------------------------

def forward_keeping(x, Ws):
    outputs = []
    for W in Ws:
        x = np.tanh(x @ W)
        outputs.append(x)
    return outputs


def backward_through(x0, Ws, outputs, g, grads, offset):
    """Backward through layers with these (consumed) outputs; ``grads`` is
    filled with the weight gradients, or left alone when it is None."""
    for j in reversed(range(len(Ws))):
        y = outputs.pop()
        gz = g * (1.0 - y * y)
        del y
        if grads is not None:
            grads[offset + j] = (outputs[-1] if outputs else x0).T @ gz
        g = gz @ Ws[j].T
    return g


def floor_grad(Ws, x, checkpoint, wrt):
    """Hand-written gradient with respect to the weights or the input;
    with ``checkpoint``, only each block's input is kept through the forward."""
    grads = [None] * len(Ws) if wrt == "weights" else None
    if not checkpoint:
        outputs = forward_keeping(x, Ws)
        g = backward_through(x, Ws, outputs, np.ones_like(outputs[-1]), grads, 0)
        return grads if grads is not None else g
    starts = list(range(0, len(Ws), BLOCK))
    inputs = []
    for lo in starts:
        inputs.append(x)
        x = block(x, *Ws[lo:lo + BLOCK])
    g = np.ones_like(x)
    del x
    for lo in reversed(starts):
        x0 = inputs.pop()
        outputs = forward_keeping(x0, Ws[lo:lo + BLOCK])
        g = backward_through(x0, Ws[lo:lo + BLOCK], outputs, g, grads, lo)
    return grads if grads is not None else g


# --- the peers -----------------------------------------------------------------

def prepare(peer, checkpoint, wrt, Ws, x):
    """A zero-argument call of the gradient with respect to ``wrt``
    ("weights": a tuple of 50 gradients, or "input")."""
    argnum = 0 if wrt == "weights" else 1
    if peer == FLOOR:
        return lambda: floor_grad(Ws, x, checkpoint, wrt)
    if peer == "gradlab":
        if checkpoint:
            grad, gl_checkpoint = load_gradlab("grad", "checkpoint")
            loss = mlp_checkpointed(gl_checkpoint(block))
        else:
            (grad,) = load_gradlab("grad")
            loss = mlp
        g = grad(loss, argnum=argnum)
        return lambda: g(tuple(Ws), x)
    if peer == "autograd":
        autograd, anp = load_autograd()

        def run_block(x_, *W):
            return block_xp(anp, x_, *W)

        run_block = autograd.checkpoint(run_block) if checkpoint else run_block
        g = autograd.grad(lambda Ws_, x_: mlp_xp(anp, run_block, Ws_, x_), argnum=argnum)
        return lambda: g(tuple(Ws), x)
    if peer == "torch":
        return prepare_torch(checkpoint, wrt, Ws, x)
    if peer == "jax":
        jax, jnp = load_jax()

        def run_block(x_, *W):
            return block_xp(jnp, x_, *W)

        run_block = jax.checkpoint(run_block) if checkpoint else run_block
        g = jax.grad(lambda Ws_, x_: mlp_xp(jnp, run_block, Ws_, x_), argnums=argnum)
        jWs, jx = tuple(jnp.asarray(W) for W in Ws), jnp.asarray(x)
        return lambda: jax.block_until_ready(g(jWs, jx))
    raise Skip(f"no peer named {peer!r}")


def prepare_torch(checkpoint, wrt, Ws, x):
    torch = load_torch()
    from torch.utils.checkpoint import checkpoint as torch_checkpoint

    tWs = [torch.tensor(W, requires_grad=wrt == "weights") for W in Ws]
    tx = torch.tensor(x, requires_grad=wrt == "input")
    wanted = tWs if wrt == "weights" else [tx]

    def run_block(x_, *W):
        if checkpoint:
            return torch_checkpoint(block_xp, torch, x_, *W, use_reentrant=False)
        return block_xp(torch, x_, *W)

    return lambda: torch.autograd.grad(mlp_xp(torch, run_block, tWs, tx), wanted)


# --- measuring -----------------------------------------------------------------

def status_bytes(field):
    match = re.search(rf"^{field}:\s+(\d+) kB", open("/proc/self/status").read(), re.M)
    return int(match.group(1)) * 1024 if match else None


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+); False where that fails."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_increase(step):
    """Run ``step`` once; return its result and the peak RSS above the start."""
    gc.collect()
    baseline = status_bytes("VmRSS")
    exact = reset_peak()
    if not exact:
        import resource

        baseline = max(baseline, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    out = step()
    if exact:
        peak = status_bytes("VmHWM")
    else:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out, peak - baseline, exact


def measure(peer, mode, layers, width, batch):
    """Time the weight gradient, then measure the input gradient's memory."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, width))
    Ws = [rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(layers)]
    checkpoint = mode == "checkpoint"
    try:
        weights_step = prepare(peer, checkpoint, "weights", Ws, x)
        input_step = prepare(peer, checkpoint, "input", Ws, x)
        start = time.process_time()  # CPU time: the machine's other load blurs wall time
        grads = weights_step()
        seconds = time.process_time() - start
        fingerprint = [float(np.sum(g[::7, ::5])) for g in to_numpy(grads)]
        del grads
        dx, increase, exact = peak_increase(input_step)
        dx = to_numpy(dx)[0]
    except Skip as exc:
        return {"skip": str(exc)}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {
        "seconds": seconds,
        "activation_mb": (increase - dx.nbytes) / 2**20,
        "exact_peak": exact,
        "fingerprint": fingerprint + [float(np.sum(dx[::7, ::5]))],
    }


if __name__ == "__main__":
    peer, mode, *sizes = sys.argv[1:]
    print(json.dumps(measure(peer, mode, *map(int, sizes))), flush=True)
