"""Loading the peers lazily, and the builders shared by several workloads.

A *builder* is a zero-argument function that prepares one peer (converts the
inputs to its array type, wraps the function in its transform) and returns a
*step*: a zero-argument callable doing one full evaluation, synchronously. A
builder raises :class:`Skip` when its peer is not installed or lacks a function.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

Step = Callable[[], Any]
Builder = Callable[[], Step]

FLOOR = "numpy (floor)"


class Skip(Exception):
    """A peer that cannot run here; the message says why."""


def load_gradlab(*names: str) -> tuple:
    """Return ``gradlab.<name>`` for each name, or raise :class:`Skip`.

    gradlab is written alongside these benchmarks, so a function that has not
    landed yet skips its row with a note instead of failing the run.
    """
    try:
        import gradlab
    except Exception as exc:  # any import failure: the engine is mid-rewrite
        raise Skip(f"import gradlab failed: {type(exc).__name__}: {exc}") from None
    missing = [name for name in names if not hasattr(gradlab, name)]
    if missing:
        raise Skip("gradlab has no " + ", ".join(f"gl.{name}" for name in missing))
    return tuple(getattr(gradlab, name) for name in names)


def load_autograd():
    """Return ``(autograd, autograd.numpy)``."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        raise Skip("autograd not installed") from None
    return autograd, anp


def load_torch():
    """Return ``torch``, with its intra-op threads pinned like the others."""
    try:
        import torch
        import torch.func  # noqa: F401  (the torch.func rows need it)
    except ImportError:
        raise Skip("torch not installed") from None
    threads = int(os.environ.get("GRADLAB_BENCH_THREADS", "0"))
    if threads:
        torch.set_num_threads(threads)
    return torch


def load_jax():
    """Return ``(jax, jax.numpy)`` in float64 mode."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("jax not installed") from None
    jax.config.update("jax_enable_x64", True)
    return jax, jnp


def to_numpy(result: Any) -> list[np.ndarray]:
    """Flatten a peer's result (nested tuples, lists, dicts of arrays) to arrays.

    >>> [a.shape for a in to_numpy((1.0, (np.ones(2), {"w": np.ones((2, 3))})))]
    [(), (2,), (2, 3)]
    """
    if isinstance(result, dict):
        return [a for key in sorted(result) for a in to_numpy(result[key])]
    if isinstance(result, (tuple, list)):
        return [a for item in result for a in to_numpy(item)]
    if hasattr(result, "detach"):  # a torch tensor
        return [result.detach().cpu().numpy()]
    return [np.asarray(result, dtype=np.float64)]


def value_and_grad_builders(
    plain: Callable,
    generic: Callable,
    args: tuple,
    argnums: tuple[int, ...],
    floor: Callable,
    torch_fn: Callable | None = None,
) -> dict[str, Builder]:
    """Builders of every peer for ``value_and_grad`` of one scalar function.

    ``plain(*args)`` is the function as a gradlab user writes it (``np.*``);
    ``generic(xp, *args)`` is the same computation over an array module ``xp``
    (autograd.numpy, jax.numpy, and torch unless ``torch_fn(*args)`` is given);
    ``floor(*args)`` is the hand-written forward + backward. Arguments that are
    lists (a list of layer weights) are converted element by element. Each step
    returns ``(value, (grad_for_each_argnum...))``.
    """

    def gradlab_() -> Step:
        (value_and_grad,) = load_gradlab("value_and_grad")
        vg = value_and_grad(plain, argnum=argnums)
        return lambda: vg(*args)

    def gradlab_jit() -> Step:
        value_and_grad, jit = load_gradlab("value_and_grad", "jit")
        vg = jit(value_and_grad(plain, argnum=argnums))
        return lambda: vg(*args)

    def autograd_() -> Step:
        autograd, anp = load_autograd()
        vg = autograd.value_and_grad(lambda *a: generic(anp, *a), argnum=argnums)
        return lambda: vg(*args)

    def torch_fn_or_generic(torch):
        return torch_fn or (lambda *a: generic(torch, *a))

    def torch_() -> Step:
        torch = load_torch()
        fn = torch_fn_or_generic(torch)
        targs = convert(args, torch.tensor)
        for i in argnums:
            targs[i].requires_grad_(True)
        wrt = tuple(targs[i] for i in argnums)

        def step():
            value = fn(*targs)
            return value.detach(), torch.autograd.grad(value, wrt)

        return step

    def torch_func() -> Step:
        torch = load_torch()
        gv = torch.func.grad_and_value(torch_fn_or_generic(torch), argnums=argnums)
        targs = convert(args, torch.tensor)

        def step():
            grads, value = gv(*targs)
            return value, grads

        return step

    def jax_(jit: bool) -> Builder:
        def build() -> Step:
            jax, jnp = load_jax()
            vg = jax.value_and_grad(lambda *a: generic(jnp, *a), argnums=argnums)
            if jit:
                vg = jax.jit(vg)
            jargs = convert(args, jnp.asarray)
            return lambda: jax.block_until_ready(vg(*jargs))

        return build

    return {
        FLOOR: lambda: lambda: floor(*args),
        "gradlab": gradlab_,
        "gradlab.jit": gradlab_jit,
        "autograd": autograd_,
        "torch": torch_,
        "torch.func": torch_func,
        "jax": jax_(jit=False),
        "jax.jit": jax_(jit=True),
    }


def convert(args: tuple, array: Callable) -> list:
    """Convert each argument with ``array``; a list argument element-wise."""
    return [
        [array(a) for a in arg] if isinstance(arg, list) else array(arg)
        for arg in args
    ]
