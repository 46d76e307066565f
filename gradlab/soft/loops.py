"""Loops with a data-dependent exit, and perturbed (Monte-Carlo smoothed) solvers.

``bounded_loop`` relaxes ``while continue_score(state) > 0 and steps left: state =
body(state)``; ``perturbed`` smooths a piecewise-constant solver (argmax, a shortest
path, a knapsack) by averaging it over noisy inputs, with the standard Monte-Carlo
gradient of Berthet et al. (2020).

>>> import numpy as np, gradlab.soft as soft
>>> out = soft.bounded_loop(np.array(0.0), 5, lambda s: s + 1.0, lambda s: 2.5 - s,
...                         beta=50.0, mode="exit_distribution")
>>> round(float(out), 6)   # the hard loop stops once s >= 2.5, at s = 3
3.0
"""

from __future__ import annotations

import numpy as np

from ..core.errors import ConcretizationError
from ..core.primitive import Primitive
from ..core.shapes import ShapeDtypeStruct
from ..core.tree import tree_map
from ..nn.activations import sigmoid
from ..ops.families import Structural
from ..precision.dtypes import is_float_dtype
from .dual import active
from .relaxations import _concrete_or_none, _flat


def _blend(w, a, b):
    return tree_map(lambda x, y: w * x + (1.0 - w) * y, a, b)


def _weighted_sum(weights, states):
    total = tree_map(lambda x: weights[0] * x, states[0])
    for w, s in zip(weights[1:], states[1:]):
        total = tree_map(lambda acc, x, w=w: acc + w * x, total, s)
    return total


def bounded_loop(init, steps, body, continue_score, beta=1.0, mode="survival"):
    """A relaxed ``while continue_score(state) > 0`` loop of at most ``steps`` iterations.

    - ``"survival"``: each step blends ``body(state)`` and ``state`` by the gate
      ``c = sigmoid(beta * continue_score(state))``, so a state that should have stopped
      keeps (mostly) still;
    - ``"exit_distribution"``: the hard trajectory ``s_0 = init, s_{i+1} = body(s_i)`` is
      computed, exiting after step ``i`` has weight ``w_i = (1 - c_i) prod_{j<i} c_j``
      (``w_steps = prod_j c_j``) and the result is ``sum_i w_i s_i``: each weight multiplies
      the state the hard loop returns when it stops after step ``i``.

    Both become the hard loop as ``beta`` grows. ``state`` may be a pytree of arrays.

    >>> import numpy as np
    >>> float(bounded_loop(np.array(0.0), 3, lambda s: s + 1.0, lambda s: 1.5 - s, 1e3))
    2.0
    """
    if mode not in ("survival", "exit_distribution"):
        raise ValueError(f"bounded_loop: mode must be 'survival' or 'exit_distribution', "
                         f"got {mode!r}")
    if mode == "survival":
        state, gates, states = init, [], [init]
        for _ in range(steps):
            gate = sigmoid(beta * continue_score(state))
            state = _blend(gate, body(state), state)
            gates.append(gate)
            states.append(state)
        _note_loop(mode, beta, gates, states, body, continue_score, init, steps, state)
        return state
    states = [init]
    for _ in range(steps):
        states.append(body(states[-1]))
    gates = [sigmoid(beta * continue_score(s)) for s in states[:-1]]
    weights, alive = [], 1.0
    for c in gates:
        weights.append(alive * (1.0 - c))
        alive = alive * c
    weights.append(alive)
    out = _weighted_sum(weights, states)
    _note_loop(mode, beta, gates, states, body, continue_score, init, steps, out, weights)
    return out


def _hard_loop(init, steps, body, continue_score):
    """The hard loop on concrete values: ``(final state, number of steps taken)``."""
    state = init
    for i in range(steps):
        if not float(np.asarray(continue_score(state))) > 0:
            return state, i
        state = body(state)
    return state, steps


def _note_loop(mode, beta, gates, states, body, continue_score, init, steps, out, weights=None):
    tr = active()
    if tr is None:
        return
    name = f"bounded_loop[{mode}]"
    surrogate = f"sigmoid continue gate per step ({mode}), beta={beta:g}"
    init_v = _concrete_or_none(init)
    gate_v = [_concrete_or_none(g) for g in gates]
    if not tr.fidelity or init_v is None or any(g is None or np.ndim(g) for g in gate_v):
        tr.add("loop", name, surrogate, "surrogate", temperature=1.0 / beta,
               note="" if tr.fidelity else "fidelity off")
        return
    try:
        hard, exit_step = _hard_loop(init_v, steps, body, continue_score)
    except (ConcretizationError, TypeError):
        tr.add("loop", name, surrogate, "surrogate", temperature=1.0 / beta,
               note="the hard loop could not be replayed on concrete values")
        return
    weight_v = None if weights is None else [float(_concrete_or_none(w)) for w in weights]
    frames = [{"step": i, "gate": float(g),
               "exit_weight": None if weight_v is None else weight_v[i]}
              for i, g in enumerate(gate_v)]
    agreement = weight_v[exit_step] if weight_v is not None else float(
        np.prod([g if i < exit_step else 1.0 - g for i, g in enumerate(gate_v[:exit_step + 1])]))
    tr.add("loop", name, surrogate, "surrogate", temperature=1.0 / beta,
           soft=_flat(_concrete_or_none(out)), hard=_flat(hard), gate=gate_v,
           agreement=agreement, hard_choice=exit_step, frames=frames)


# --- perturbed solvers ---------------------------------------------------------------
def _noise(key, shape, n_samples, kind):
    from .. import random as gr

    if key is None:
        raise ValueError("perturbed needs a key: gradlab.random.key(seed) or an int seed")
    if isinstance(key, (int, np.integer)):
        key = gr.key(int(key))
    if kind == "normal":
        return gr.normal(key, (n_samples,) + tuple(shape))
    if kind == "gumbel":
        u = gr.uniform(key, (n_samples,) + tuple(shape), minval=1e-12, maxval=1.0)
        return -np.log(-np.log(u))
    raise ValueError(f"perturbed: noise must be 'normal' or 'gumbel', got {kind!r}")


def _score_of_noise(z, kind):
    """``-d log density / dz``: ``z`` for the normal, ``1 - exp(-z)`` for the Gumbel."""
    return z if kind == "normal" else 1.0 - np.exp(-z)


def _dtype(theta):
    dtype = np.result_type(theta)
    return dtype if is_float_dtype(dtype) and dtype.kind != "c" else np.dtype(np.float64)


def _samples(theta, fn, sigma, noise):
    """The solver at each perturbed input, in theta's float dtype: shape ``(m, *out)``."""
    theta = np.asarray(theta)
    dtype = _dtype(theta)
    return np.stack([np.asarray(fn(theta + sigma * z.astype(dtype)), dtype) for z in noise])


def _perturbed_impl(theta, *, fn, sigma, noise, kind):
    return np.mean(_samples(theta, fn, sigma, noise), axis=0)


def _solver_samples_impl(theta, *, fn, sigma, noise):
    ys = _samples(theta, fn, sigma, noise)
    return np.reshape(ys, (noise.shape[0], -1))


def _batch_solver_samples(prim, args, dims, params):
    from ..ops.shape import moveaxis, stack

    (theta,), (d,) = args, dims
    theta = moveaxis(theta, d, 0)
    return stack([prim(theta[b], **params) for b in range(np.shape(theta)[0])]), 0


def _solver_samples_shape(prim, avals, params):
    (x,) = avals
    dtype = _dtype(np.ones((), x.dtype))
    probe = params["fn"](np.zeros(x.shape, dtype))
    return ShapeDtypeStruct((params["noise"].shape[0], int(np.size(probe))), dtype)


def _perturbed_vjp(g, ans, theta, *, fn, sigma, noise, kind):
    """``E[(g . fn(theta + sigma Z)) grad nu(Z)] / sigma``."""
    from ..ops.shape import reshape

    ys = solver_samples(theta, fn=fn, sigma=sigma, noise=noise)
    dnu = np.reshape(_score_of_noise(noise, kind), (noise.shape[0], -1)).astype(ys.dtype)
    per_sample = ys @ reshape(g, (-1,))
    return reshape(per_sample @ dnu, np.shape(theta)) / (noise.shape[0] * sigma)


def _perturbed_jvp(t, ans, theta, *, fn, sigma, noise, kind):
    """``E[fn(theta + sigma Z) (grad nu(Z) . t)] / sigma``."""
    from ..ops.shape import reshape

    ys = solver_samples(theta, fn=fn, sigma=sigma, noise=noise)
    dnu = np.reshape(_score_of_noise(noise, kind), (noise.shape[0], -1)).astype(ys.dtype)
    per_sample = dnu @ reshape(t, (-1,))
    return reshape(per_sample @ ys, np.shape(ans)) / (noise.shape[0] * sigma)


def _batch_perturbed(prim, args, dims, params):
    from ..ops.shape import moveaxis, stack

    (theta,), (d,) = args, dims
    theta = moveaxis(theta, d, 0)
    return stack([prim(theta[b], **params) for b in range(np.shape(theta)[0])]), 0


def _perturbed_shape(prim, avals, params):
    (x,) = avals
    dtype = _dtype(np.ones((), x.dtype))
    probe = params["fn"](np.zeros(x.shape, dtype))
    return ShapeDtypeStruct(np.shape(probe), dtype)


def _examples(rng):
    def onehot_argmax(v):
        out = np.zeros_like(v)
        out[np.argmax(v)] = 1.0
        return out

    noise = rng.normal(size=(8, 4))
    return [((rng.normal(size=(4,)),),
             {"fn": onehot_argmax, "sigma": 0.5, "noise": noise, "kind": "normal"})]


perturbed_p = Primitive(
    "perturbed", _perturbed_impl, family=Structural, nin=1,
    vjp=_perturbed_vjp, jvp=_perturbed_jvp, batch=_batch_perturbed, shape=_perturbed_shape,
    examples=_examples,
    doc="The Monte-Carlo mean of a solver over perturbed inputs (see ``perturbed``).")
# Its derivative is a Monte-Carlo estimate of the smoothed solver's, not the derivative
# of the finite-sample mean the forward computes (which is piecewise constant).
perturbed_p.gradient_contract = "surrogate"

# The solver's outputs at the perturbed inputs, flattened to ``(m, out_size)``: what the
# rules below read. A primitive (with no derivative: the solver is piecewise constant)
# so that the rules also run on a batch of thetas under ``vmap``.
solver_samples = Primitive(
    "perturbed_solver_samples", _solver_samples_impl, family=Structural, nin=1,
    differentiable=False, batch=_batch_solver_samples, shape=_solver_samples_shape,
    examples=lambda rng: [((rng.normal(size=(4,)),), {k: v for k, v in _examples(rng)[0][1]
                                                        .items() if k != "kind"})],
    doc="``fn(theta + sigma z)`` for each noise sample ``z``, flattened (no derivative).")


def perturbed(fn, sigma=1.0, n_samples=100, noise="normal", key=None):
    """The smoothed solver ``theta -> E[fn(theta + sigma Z)]`` for a piecewise-constant
    ``fn`` (one-hot argmax, a shortest path's edge indicator, a knapsack's selection), with
    the Monte-Carlo gradient ``E[fn(theta + sigma Z) grad nu(Z)^T] / sigma`` (``nu`` the
    noise's negative log density). ``fn`` runs on plain arrays; the noise is fixed by
    ``key`` so the function is deterministic.

    >>> import numpy as np, gradlab as gl
    >>> def argmax_onehot(v):
    ...     out = np.zeros_like(v); out[np.argmax(v)] = 1.0; return out
    >>> smooth = perturbed(argmax_onehot, sigma=0.5, n_samples=500, key=0)
    >>> y = smooth(np.array([0.0, 1.0, 0.2]))
    >>> bool(y.argmax() == 1 and abs(y.sum() - 1) < 1e-12)
    True
    """
    cache: dict = {}

    def smoothed(theta):
        shape = np.shape(theta)
        z = cache.get(shape)
        if z is None:
            z = cache[shape] = _noise(key, shape, n_samples, noise)
        out = perturbed_p(theta, fn=fn, sigma=sigma, noise=z, kind=noise)
        tr = active()
        if tr is not None:
            tv = _concrete_or_none(theta)
            hard = None if tv is None else np.asarray(fn(tv), float)
            tr.add("op", f"perturbed[{getattr(fn, '__name__', 'fn')}]",
                   f"Monte-Carlo smoothing, {noise} noise, sigma={sigma:g}, n={n_samples}",
                   "surrogate", temperature=sigma, soft=out if tr.fidelity else None,
                   hard=hard if tr.fidelity else None, hard_choice=hard if tr.fidelity else None)
        return out

    return smoothed

