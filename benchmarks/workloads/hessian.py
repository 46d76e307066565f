"""Workloads E1 (full Hessian) and E2 (Hessian-vector product).

Both differentiate ``f(x) = sum(tanh(A @ x))``, whose Hessian has the closed
form ``A.T @ diag(-2 t (1 - t^2)) @ A`` with ``t = tanh(A @ x)``: the floor.
E2 uses a wide ``A`` (64 x 10,000) so ``x`` has 10,000 entries.
"""

from __future__ import annotations

import numpy as np

from ..harness import Timed
from ..peers import FLOOR, load_autograd, load_gradlab, load_jax, load_torch


def make_f(A):
    def f(x):
        """The user's function, plain numpy."""
        return np.sum(np.tanh(A @ x))

    return f


def f_xp(xp, A, x):
    return xp.sum(xp.tanh(A @ x))


def curvature(A, x):
    """d^2/dz^2 of tanh at z = A @ x: -2 t (1 - t^2)."""
    t = np.tanh(A @ x)
    return -2.0 * t * (1.0 - t * t)


def hessian_floor(A, x):
    return A.T @ (curvature(A, x)[:, None] * A)


def hvp_floor(A, x, v):
    return A.T @ (curvature(A, x) * (A @ v))


def hessian_builders(A, x):
    def gradlab_():
        (hessian,) = load_gradlab("hessian")
        h = hessian(make_f(A))
        return lambda: h(x)

    def autograd_():
        autograd, anp = load_autograd()
        h = autograd.hessian(lambda x_: f_xp(anp, A, x_))
        return lambda: h(x)

    def torch_():
        torch = load_torch()
        tA, tx = torch.tensor(A), torch.tensor(x)
        return lambda: torch.autograd.functional.hessian(lambda x_: f_xp(torch, tA, x_), tx)

    def torch_func():
        torch = load_torch()
        tA, tx = torch.tensor(A), torch.tensor(x)
        h = torch.func.hessian(lambda x_: f_xp(torch, tA, x_))
        return lambda: h(tx)

    def jax_(jit):
        def build():
            jax, jnp = load_jax()
            jA, jx = jnp.asarray(A), jnp.asarray(x)
            h = jax.hessian(lambda x_: f_xp(jnp, jA, x_))
            if jit:
                h = jax.jit(h)
            return lambda: jax.block_until_ready(h(jx))

        return build

    return {
        FLOOR: lambda: lambda: hessian_floor(A, x),
        "gradlab": gradlab_,
        "autograd": autograd_,
        "torch": torch_,
        "torch.func": torch_func,
        "jax": jax_(jit=False),
        "jax.jit": jax_(jit=True),
    }


def hvp_builders(A, x, v):
    def gradlab_hvp():
        (hvp,) = load_gradlab("hvp")
        f = make_f(A)
        return lambda: hvp(f, x, v)

    def gradlab_jvp_grad():
        jvp, grad = load_gradlab("jvp", "grad")
        g = grad(make_f(A))
        return lambda: jvp(g, (x,), (v,))[1]

    def autograd_():
        autograd, anp = load_autograd()
        hv = autograd.hessian_tensor_product(lambda x_: f_xp(anp, A, x_))
        return lambda: hv(x, v)

    def torch_():
        torch = load_torch()
        tA, tx, tv = torch.tensor(A), torch.tensor(x, requires_grad=True), torch.tensor(v)

        def step():  # reverse over reverse, the eager idiom
            (g,) = torch.autograd.grad(f_xp(torch, tA, tx), tx, create_graph=True)
            (hv,) = torch.autograd.grad(g @ tv, tx)
            return hv

        return step

    def torch_func():
        torch = load_torch()
        tA, tx, tv = torch.tensor(A), torch.tensor(x), torch.tensor(v)
        g = torch.func.grad(lambda x_: f_xp(torch, tA, x_))
        return lambda: torch.func.jvp(g, (tx,), (tv,))[1]

    def jax_(jit):
        def build():
            jax, jnp = load_jax()
            jA, jx, jv = jnp.asarray(A), jnp.asarray(x), jnp.asarray(v)
            g = jax.grad(lambda x_: f_xp(jnp, jA, x_))

            def hv(x_, v_):
                return jax.jvp(g, (x_,), (v_,))[1]

            if jit:
                hv = jax.jit(hv)
            return lambda: jax.block_until_ready(hv(jx, jv))

        return build

    return {
        FLOOR: lambda: lambda: hvp_floor(A, x, v),
        "gradlab": gradlab_hvp,
        "gradlab jvp(grad)": gradlab_jvp_grad,
        "autograd": autograd_,
        "torch": torch_,
        "torch.func": torch_func,
        "jax": jax_(jit=False),
        "jax.jit": jax_(jit=True),
    }


def hessian_data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n)


def hvp_data(n=10_000, m=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)) / np.sqrt(n), rng.standard_normal(n), rng.standard_normal(n)


def workloads():
    return [
        Timed("E1", "full Hessian of sum(tanh(A @ x)), x of size 50, A 50x50",
              target=30.0, builders=lambda: hessian_builders(*hessian_data())),
        Timed("E2", "Hessian-vector product of sum(tanh(A @ x)), x of size 10,000, A 64x10,000",
              target=2.5, builders=lambda: hvp_builders(*hvp_data())),
    ]
