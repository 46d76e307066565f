"""``scipy.integrate.odeint``: gradients through an ODE solve by the adjoint method.

The solution ``y(t_0), ..., y(t_N)`` of ``dy/dt = func(y, t, *args)`` is differentiable
in ``y0``, in the times ``t`` and in ``args`` (a tuple of arrays). The reverse rule
integrates the adjoint system backwards from ``t_N`` to ``t_0``, one interval at a time,
with ``odeint`` itself: the state carries ``y`` (re-integrated), its adjoint
``a = dL/dy``, and the running integrals of ``a df/dt`` and ``a df/dargs``; the
cotangent of ``y(t_i)`` joins ``a`` when the solve passes ``t_i``. Because that solve
is gradlab's ``odeint`` again and the dynamics' VJP is ``gl.vjp``, the rule is itself
differentiable: second derivatives come from reverse-over-reverse. Forward mode
(``jvp``, ``jacfwd``, ``hessian``) is refused with a message.

The accuracy of the gradients is that of the solver (``rtol``/``atol``, which the
backward solve shares). ``func`` must receive every value to differentiate through
``y0``, ``t`` or ``args``: a traced value it closes over would get no derivative, and
raises ``TypeError``.

>>> import numpy as np, gradlab as gl
>>> from scipy.integrate import odeint
>>> decay = lambda k: odeint(lambda y, t, k: -k * y, np.array([1.0]), np.array([0.0, 2.0]),
...                          args=(k,), rtol=1e-10, atol=1e-12)[-1, 0]
>>> bool(np.isclose(gl.grad(decay)(0.5), -2.0 * np.exp(-1.0), rtol=1e-7))   # d e^-2k / dk
True
"""

from __future__ import annotations

import numpy as np
import scipy.integrate

from ..core.primitive import implements
from ..intercept import instrument
from ..ops.reduce import sum as sum_
from ..ops.shape import concatenate, reshape
from ..transforms.custom import CustomRules, _check_cotangents, split_call
from ..transforms.flatten import flatten
from ..transforms.implicit import _refuse_closed_over_tracers
from ..transforms.reverse import vjp

_OPTIONS = frozenset({"rtol", "atol", "mxstep", "hmax", "hmin", "h0", "tcrit", "mxordn",
                      "mxords", "ixpr", "mxhnil", "ml", "mu", "Dfun", "col_deriv", "printmessg"})


def _call(leaves, static):
    func, options, y0, t, args = static.args(leaves)
    y0 = np.asarray(y0)

    def flat(y, t):
        return np.ravel(func(np.reshape(y, y0.shape), t, *args))

    ys = scipy.integrate.odeint(flat, np.ravel(y0), t, **dict(options))
    return np.reshape(ys, (np.shape(t)[0],) + y0.shape).astype(
        np.result_type(y0, np.float64 if y0.dtype.kind in "iub" else y0.dtype), copy=False)


def _fwd(leaves, static):
    # the backward pass re-solves forward from the saved operands (traced at every level)
    return _RULES.bind(leaves, static), (leaves, static)


def _augmented(func, shape, unflatten):
    """The adjoint system: state ``[y, a, a_t, a_args]``, integrated backwards in time."""
    size = int(np.prod(shape, dtype=np.int64))

    def flat_func(y, t, flat_args):
        return reshape(func(reshape(y, shape), t, *unflatten(flat_args)), (-1,))

    def dynamics(state, t, flat_args):
        y, a = state[:size], state[size:2 * size]
        dy, pull = vjp(flat_func, y, t, flat_args)
        d_a, d_t, d_args = pull(-a)
        return concatenate([dy, d_a, reshape(d_t, (1,)), d_args])

    return flat_func, dynamics


def _bwd(res, g, leaves, static):
    func, options, y0, t, args = static.args(leaves)
    ys = _RULES.bind(leaves, static)
    shape, size = np.shape(y0), int(np.prod(np.shape(y0), dtype=np.int64))
    flat_args, unflatten = flatten(tuple(args))
    flat_func, dynamics = _augmented(func, shape, unflatten)
    n = np.shape(t)[0]
    a = reshape(g[n - 1], (-1,))
    a_t0, a_args = 0.0 * t[0], 0.0 * flat_args
    t_bars = []
    for i in range(n - 1, 0, -1):
        y_i = reshape(ys[i], (-1,))
        t_bar = sum_(flat_func(y_i, t[i], flat_args) * reshape(g[i], (-1,)))
        t_bars.append(t_bar)
        a_t0 = a_t0 - t_bar
        state = concatenate([y_i, a, reshape(a_t0, (1,)), a_args])
        times = concatenate([reshape(t[i], (1,)), reshape(t[i - 1], (1,))])
        out = odeint_rule(dynamics, state, times, (flat_args,), options)[1]
        a = out[size:2 * size] + reshape(g[i - 1], (-1,))
        a_t0, a_args = out[2 * size], out[2 * size + 1:]
    t_bars.append(a_t0)
    t_bar = concatenate([reshape(tb, (1,)) for tb in reversed(t_bars)])
    cts = (reshape(a, shape), t_bar, unflatten(a_args))
    return _check_cotangents("scipy.integrate.odeint", cts, static, leaves)


_NO_JVP = ("scipy.integrate.odeint has a reverse-mode rule only (the adjoint method), so "
           "forward mode (jvp, jacfwd, hessian, hvp, linearize) cannot differentiate it; "
           "reached at {location}.\nUse reverse mode (grad, jacrev, jacrev(jacrev(f))).")
_RULES = CustomRules("scipy.integrate.odeint", _call, fwd=_fwd, bwd=_bwd, no_jvp=_NO_JVP)


def odeint_rule(func, y0, t, args, options):
    """``odeint`` with its options as a sorted tuple (the fixed part of a traced call)."""
    leaves, static = split_call((func, options, y0, t, tuple(args)), (0, 1),
                                "scipy.integrate.odeint")
    return _RULES.bind(leaves, static)


@implements(scipy.integrate.odeint)
def odeint(func, y0, t, args=(), **options):
    """``scipy.integrate.odeint``, differentiable in ``y0``, ``t`` and ``args`` (see above).

    ``tfirst=True`` (``func(t, y, ...)``) is accepted; ``full_output`` is not (its extra
    solver diagnostics have no derivative).
    """
    if options.pop("full_output", False):
        raise NotImplementedError("scipy.integrate.odeint(full_output=True) on traced values: "
                                  "gradlab differentiates the solution only")
    unknown = set(options) - _OPTIONS - {"tfirst"}
    if unknown:
        raise TypeError(f"odeint() got unexpected keyword arguments {sorted(unknown)}")
    _refuse_closed_over_tracers(func, "scipy.integrate.odeint")
    func = instrument(func)  # called by gradlab's code, it still needs its numpy calls seen
    if options.pop("tfirst", False):
        user = func

        def func(y, t, *a):
            return user(t, y, *a)

    if not isinstance(args, tuple):
        args = (args,)
    return odeint_rule(func, y0, t, args, tuple(sorted(options.items())))
