"""Implicit differentiation: ``fixed_point`` (autograd's) and ``custom_root`` (JAX's).

``fixed_point(f, a, x0, distance, tol)`` iterates ``x = f(a)(x)`` to convergence and
differentiates ``x*(a)`` by the implicit function theorem, without unrolling the
iterations: its reverse rule solves the adjoint fixed point ``u = u df/dx + g`` by the
same iteration. The rule is written with ``fixed_point`` and ``vjp`` themselves, so it
differentiates again: second and higher derivatives are exact (to the tolerance).

``custom_root(f, initial_guess, solve, tangent_solve)`` returns the root of ``f`` that
``solve`` finds, run on plain values; its derivatives with respect to anything ``f``
closes over come from Newton steps ``x - J^-1 f(x)`` taken from that root with
``tangent_solve`` (a linear solve with ``J = df/dx``). At an exact root one Newton step
has the root's exact first derivative and ``k`` steps are exact to order ``2^k - 1``,
so gradlab takes as many steps as the derivatives being taken need (one for ``grad``,
two for a Hessian), and the value comes back polished by them.

>>> import numpy as np, gradlab as gl
>>> def sqrt_newton(a):          # x = (x + a / x) / 2 converges to sqrt(a)
...     return gl.fixed_point(lambda a: lambda x: 0.5 * (x + a / x), a, 1.0,
...                           lambda x, y: abs(x - y), 1e-12)
>>> round(float(gl.grad(sqrt_newton)(4.0)), 10)   # 1 / (2 sqrt(a))
0.25
"""

from __future__ import annotations

import math

import numpy as np

from ..core.trace import Tracer, concrete
from ..core.tree import tree_flatten, tree_map
from ..intercept import instrument
from ..ops.constants import zeros_like
from .custom import CustomRules, _check_cotangents, split_call
from .forward import jvp
from .reverse import vjp


def _refuse_closed_over_tracers(f, name):
    """A traced value hidden in ``f``'s closure would get no derivative: say so."""
    cells = [c.cell_contents for c in (getattr(f, "__closure__", None) or ())
             if c.cell_contents is not None]
    for value in cells + list(getattr(f, "__defaults__", None) or ()):
        if any(isinstance(leaf, Tracer) for leaf in _leaves(value)):
            raise TypeError(
                f"{name}: the function closes over a traced value, which would get no "
                "derivative; pass every value to differentiate through the parameter "
                "argument (f(a)(x) reads a) instead")


def _leaves(value):
    try:
        return tree_flatten(value)[0]
    except Exception:  # an unregistered object: not a pytree of tracers
        return [value]


def _unboxed(x):
    """``x``'s value below every level (a batched value keeps its batch axis)."""
    while isinstance(x, Tracer):
        x = x._trace.lower(x)
    return x


def _iterate(step, x0, distance, tol):
    """Iterate to convergence. The stopping test carries no derivative, and under ``vmap``
    every example iterates until all have converged (each is then at its fixed point)."""
    x, prev = step(x0), x0
    while not np.all(np.asarray(_unboxed(distance(x, prev))) <= tol):
        x, prev = step(x), x
    return x


def _adjoint_step(f):
    """``u -> u df/dx (x*) + g``: the map whose fixed point is the adjoint ``u``."""
    def step(params):
        a, x_star, g = params
        _, pull = vjp(lambda x: f(a)(x), x_star)
        return lambda u: pull(u)[0] + g
    return step


def _tangent_step(f):
    """``t -> df/dx (x*) t + c``: the map whose fixed point is the tangent of ``x*``."""
    def step(params):
        a, x_star, c = params
        return lambda t: jvp(lambda x: f(a)(x), (x_star,), (t,))[1] + c
    return step


def _call(leaves, static):
    f, distance, tol, a, x0 = static.args(leaves)
    return _iterate(f(a), x0, distance, tol)


def _fwd(leaves, static):
    f, distance, tol, a, x0 = static.args(leaves)
    x_star = fixed_point(f, a, x0, distance, tol)  # traced where the leaves are
    return x_star, (a, x_star)


def _bwd(res, g, leaves, static):
    f, distance, tol = static.nondiff_values()
    a, x_star = res
    u = fixed_point(_adjoint_step(f), (a, x_star, g), zeros_like(g), distance, tol)
    _, pull = vjp(lambda a: f(a)(x_star), a)
    return _check_cotangents("gl.fixed_point", (pull(u)[0], None), static, leaves)


def _jvp(leaves, tangents, static):
    f, distance, tol, a, x0 = static.args(leaves)
    t_a, _ = static.diff_args(tangents)
    x_star = fixed_point(f, a, x0, distance, tol)
    c = jvp(lambda a: f(a)(x_star), (a,), (t_a,))[1]
    return fixed_point(_tangent_step(f), (a, x_star, c), zeros_like(c), distance, tol)


_RULES = CustomRules("gl.fixed_point", _call, fwd=_fwd, bwd=_bwd, jvp=_jvp)


def fixed_point(f, a, x0, distance, tol):
    """The fixed point ``x* = f(a)(x*)`` reached by iterating from ``x0``; differentiable in ``a``.

    ``f(a)`` returns the update ``x -> x_next``; iteration stops once
    ``distance(x_next, x) <= tol``. Everything to differentiate must reach ``f`` through
    ``a`` (a pytree); ``x0`` carries no derivative. The update must be a contraction near
    ``x*`` (the adjoint iteration converges exactly when the forward one does).

    >>> import numpy as np, gradlab as gl
    >>> cos_fp = lambda a: gl.fixed_point(lambda a: lambda x: np.cos(a * x), a, 0.5,
    ...                                   lambda x, y: abs(x - y), 1e-13)
    >>> x = cos_fp(1.0)                      # x = cos(x): the Dottie number
    >>> d = float(gl.grad(cos_fp)(1.0))      # -x sin(x) / (1 + sin(x)), at a = 1
    >>> bool(np.isclose(d, -x * np.sin(x) / (1 + np.sin(x))))
    True
    """
    _refuse_closed_over_tracers(f, "gl.fixed_point")
    f = instrument(f)  # called from gradlab's code: its numpy calls must still be seen
    leaves, static = split_call((f, distance, tol, a, x0), (0, 1, 2), "gl.fixed_point")
    return _RULES.bind(leaves, static)


# --- custom_root ----------------------------------------------------------------------


def _depth(x) -> int:
    """How many transform levels a value is boxed by (the derivatives taken through it)."""
    depth = 0
    leaves = [leaf for leaf in _leaves(x) if isinstance(leaf, Tracer)]
    while leaves:
        depth += 1
        leaves = [low for leaf in leaves
                  if isinstance(low := leaf._trace.lower(leaf), Tracer)]
    return depth


def _concrete(x):
    return tree_map(lambda v: concrete(v, "gl.custom_root's solve"), x)


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """A root ``x`` of ``f`` (``f(x) = 0``) from ``solve(f, initial_guess)``, with implicit
    derivatives in whatever ``f`` closes over (JAX's ``lax.custom_root``).

    ``solve`` runs on plain values (its iterations are never differentiated);
    ``tangent_solve(g, y)`` solves the linear system ``g(z) = y`` where ``g`` is ``v ->
    df/dx v`` at the root (for a scalar ``x``: ``lambda g, y: y / g(1.0)``). With
    ``has_aux``, ``solve`` returns ``(x, aux)`` and so does this function (``aux`` has no
    derivative). ``solve`` needs concrete values, so ``custom_root`` does not run under
    ``vmap`` (a ``ConcretizationError``); ``grad``, ``jvp`` and their compositions work.

    >>> import numpy as np, gradlab as gl
    >>> def cube_root(a):
    ...     newton = lambda f, x: gl.fixed_point(
    ...         lambda _: lambda x: x - f(x) / (3 * x * x), 0.0, x, lambda x, y: abs(x - y),
    ...         1e-14)
    ...     return gl.custom_root(lambda x: x ** 3 - a, 1.0, newton, lambda g, y: y / g(1.0))
    >>> bool(np.isclose(gl.grad(gl.grad(cube_root))(8.0), -2 / 9 * 8.0 ** (-5 / 3)))
    True
    """
    f, solve, tangent_solve = instrument(f), instrument(solve), instrument(tangent_solve)
    found = solve(lambda x: _concrete(f(x)), initial_guess)
    x, aux = found if has_aux else (found, None)
    x = _concrete(x)
    depth = _depth(f(x))
    for _ in range(math.ceil(math.log2(depth + 1))):
        x = _newton_step(f, x, tangent_solve)
    return (x, aux) if has_aux else x


def _newton_step(f, x, tangent_solve):
    """``x - J^-1 f(x)``, every part traced (J is ``df/dx`` at ``x``, applied by jvp)."""
    def linear(v):
        return jvp(f, (x,), (v,))[1]

    return tree_map(lambda a, b: a - b, x, tangent_solve(linear, f(x)))
