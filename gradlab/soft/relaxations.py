"""Relaxations of hard decisions: branches, selection, max/min, sorting, ranking, top-k.

Each one is an exact composition of gradlab primitives (so VJP, JVP, batching and shape
rules come for free and ``grad(grad(...))`` works), except the two straight-through
gates, which are primitives whose forward is the hard decision and whose derivative
is the soft gate's. As the temperature ``tau`` goes to 0 (``beta = 1/tau`` to
infinity) each recovers its hard op. Inside ``with gradlab.soft.trace()`` each call is
recorded with its hard value alongside (see ``gradlab.soft.dual``).

>>> import numpy as np, gradlab as gl, gradlab.soft as soft
>>> f = lambda t: soft.soft_if(np.array(1.0) - t, 2.0, 5.0, beta=4.0)
>>> round(float(gl.grad(f)(0.5)), 4)  # the threshold now moves the output
1.2599
"""

from __future__ import annotations

import numpy as np

from ..core.errors import ConcretizationError
from ..core.primitive import Primitive
from ..core.shapes import ShapeDtypeStruct
from ..core.trace import Tracer, concrete
from ..core.tree import tree_leaves, tree_map
from ..nn.activations import logsumexp, sigmoid, softmax
from ..ops import elementwise as E
from ..ops import reduce as R
from ..ops.cumulative import batch_axis_param
from ..ops.families import Elementwise, Structural
from ..precision.dtypes import is_float_dtype
from .dual import active, binary_entropy, categorical_entropy


# --- the two straight-through primitives ------------------------------------------
def _float_dtype(x):
    return np.result_type(x, np.float16) if not hasattr(x, "dtype") else (
        x.dtype if is_float_dtype(x.dtype) else np.dtype(np.float64))


def _step_impl(score, beta=1.0):
    score = score if hasattr(score, "dtype") else np.asarray(score)
    return (score > 0).astype(_float_dtype(score))  # on the score's device


def _step_slope(score, beta):
    gate = sigmoid(beta * score)
    return beta * gate * (1.0 - gate)


straight_through_step = Primitive(
    "straight_through_step", _step_impl, family=Elementwise, params=("beta",),
    vjp=lambda g, ans, score, beta=1.0: g * _step_slope(score, beta),
    jvp=lambda t, ans, score, beta=1.0: t * _step_slope(score, beta), saves=(0,),
    doc="""``1.0`` where ``score > 0`` else ``0.0``; its derivative is that of
    ``sigmoid(beta * score)`` (hard forward, soft backward).

    >>> import numpy as np, gradlab as gl
    >>> f = lambda s: straight_through_step(s, 2.0)
    >>> float(f(np.array(0.3))), round(float(gl.grad(f)(np.array(0.0))), 3)
    (1.0, 0.5)
    """)


def _onehot_impl(logits, axis=-1):
    logits = logits if hasattr(logits, "dtype") else np.asarray(logits)
    # the first maximum along the axis (argmax's choice), computed with the logits' own
    # array type so that it stays on their device
    hit = logits == np.max(logits, axis=axis, keepdims=True)
    first = hit & (np.cumsum(hit, axis=axis) == 1)
    return first.astype(_float_dtype(logits))


def _softmax_vjp(g, logits, axis):
    s = softmax(logits, axis=axis)
    return s * (g - R.sum(g * s, axis=axis, keepdims=True))


def _same_shape(prim, avals, params):
    (x,) = avals
    return ShapeDtypeStruct(tuple(x.shape), _float_dtype(np.ones((), x.dtype)))


straight_through_onehot = Primitive(
    "straight_through_onehot", _onehot_impl, family=Structural, params=("axis",),
    vjp=lambda g, ans, logits, axis=-1: _softmax_vjp(g, logits, axis),
    jvp=lambda t, ans, logits, axis=-1: _softmax_vjp(t, logits, axis), saves=(0,),
    batch=batch_axis_param, shape=_same_shape,
    examples=lambda rng: [((rng.normal(size=(5,)),), {}),
                          ((rng.normal(size=(3, 4)),), {"axis": 0})],
    doc="""The one-hot of ``argmax(logits)``; its derivative is ``softmax``'s.

    >>> import numpy as np
    >>> straight_through_onehot(np.array([0.1, 2.0, -1.0])).tolist()
    [0.0, 1.0, 0.0]
    """)
# Their forward is not the function their derivative differentiates: the registry's
# finite-difference check does not apply (tests/test_soft_relaxations.py checks them).
straight_through_step.gradient_contract = "hard-forward-soft-backward"
straight_through_onehot.gradient_contract = "hard-forward-soft-backward"


# --- recording into a live dual trace ----------------------------------------------
def _concrete_or_none(x):
    try:
        return tree_map(lambda v: np.asarray(concrete(v, "a soft decision's hard value")), x)
    except ConcretizationError:  # batched by vmap: no single value to record
        return None


def _flat(x):
    if x is None:
        return None
    leaves = [np.ravel(np.asarray(v, float)) for v in tree_leaves(x)]
    return leaves[0].reshape(np.shape(tree_leaves(x)[0])) if len(leaves) == 1 else \
        np.concatenate(leaves)


def note_branch(name, surrogate, contract, beta, score, gate, t, f, out, where=None):
    """Record a two-way branch in the live dual trace (no-op when none is live)."""
    tr = active()
    if tr is None:
        return
    if not tr.fidelity:
        tr.add("branch", name, surrogate, contract, temperature=1.0 / beta, where=where)
        return
    s, g = _concrete_or_none(score), _concrete_or_none(gate)
    tv, fv, ov = _concrete_or_none(t), _concrete_or_none(f), _concrete_or_none(out)
    if s is None or tv is None or fv is None or g is None:
        tr.add("branch", name, surrogate, contract, temperature=1.0 / beta, where=where,
               note="batched by vmap: values not recorded")
        return
    taken = s > 0
    hard = tree_map(lambda a, b: np.where(taken, a, b), tv, fv)
    tr.add("branch", name, surrogate, contract, temperature=1.0 / beta, soft=_flat(ov),
           hard=_flat(hard), gate=g, agreement=float(np.mean(np.where(taken, g, 1.0 - g))),
           entropy=binary_entropy(g), hard_choice=taken, where=where)


def note_selection(kind, name, surrogate, contract, tau, weights, hard_weights, soft, hard):
    """Record a selection (weights over a last axis) in the live dual trace."""
    tr = active()
    if tr is None:
        return
    if not tr.fidelity:
        tr.add(kind, name, surrogate, contract, temperature=tau)
        return
    w, hw = _concrete_or_none(weights), _concrete_or_none(hard_weights)
    sv, hv = _concrete_or_none(soft), _concrete_or_none(hard)
    if w is None or hw is None or sv is None or hv is None:
        tr.add(kind, name, surrogate, contract, temperature=tau,
               note="batched by vmap: values not recorded")
        return
    agreement = float(np.sum(w * hw) / max(1.0, np.sum(hw)))
    tr.add(kind, name, surrogate, contract, temperature=tau, soft=sv, hard=hv, gate=w,
           agreement=agreement, entropy=categorical_entropy(w),
           hard_choice=np.argmax(hw, axis=-1))


# --- branches -------------------------------------------------------------------
def _value(v):
    return v() if callable(v) else v


def _blend(gate, t, f):
    return tree_map(lambda a, b: gate * a + (1.0 - gate) * b, t, f)


def soft_if(score, true_value, false_value, beta=1.0):
    """``g * T + (1 - g) * F`` with ``g = sigmoid(beta * score)``: the branch
    ``T if score > 0 else F`` made differentiable in ``score``. Branch values may be
    arrays, pytrees of arrays, or zero-argument callables (both are run).

    >>> import numpy as np
    >>> float(soft_if(np.array(0.0), 1.0, 3.0))
    2.0
    """
    t, f = _value(true_value), _value(false_value)
    gate = sigmoid(beta * score)
    out = _blend(gate, t, f)
    note_branch("soft_if", f"sigmoid gate, beta={beta:g}", "surrogate", beta, score, gate, t,
                f, out)
    return out


def diff_if(score, true_fn, false_fn, mode="soft", beta=1.0):
    """``true_fn() if score > 0 else false_fn()`` with a chosen gradient contract:

    - ``"soft"``: ``soft_if`` (the gradient of the blend; both branches run);
    - ``"pathwise"``: the hard branch; its gradient is exact along the branch taken and
      ignores the decision (only the taken branch runs for a scalar score);
    - ``"straight_through"``: the hard branch forward, the soft gate's derivative backward
      (``straight_through_step``; both branches run).

    >>> import numpy as np, gradlab as gl
    >>> f = lambda s: diff_if(s, lambda: 2.0 * s, lambda: -s, mode="straight_through")
    >>> float(f(np.array(1.0))), round(float(gl.grad(f)(np.array(1.0))), 4)
    (2.0, 2.5898)
    """
    if mode == "soft":
        t, f = true_fn(), false_fn()
        gate = sigmoid(beta * score)
        out = _blend(gate, t, f)
        note_branch("diff_if[soft]", f"sigmoid gate, beta={beta:g}", "surrogate", beta,
                    score, gate, t, f, out)
        return out
    if mode == "pathwise":
        return _pathwise(score, true_fn, false_fn, beta)
    if mode == "straight_through":
        t, f = true_fn(), false_fn()
        gate = straight_through_step(score, beta)
        out = _blend(gate, t, f)
        note_branch("diff_if[straight_through]",
                    f"hard branch forward, d sigmoid(beta*score) backward, beta={beta:g}",
                    "hard-forward-soft-backward", beta, score, sigmoid(beta * score), t, f, out)
        return out
    raise ValueError(f"diff_if: mode must be 'soft', 'pathwise' or 'straight_through', "
                     f"got {mode!r}")


def _pathwise(score, true_fn, false_fn, beta):
    taken = None
    if np.ndim(score) == 0:
        try:
            taken = bool(concrete(score, "diff_if") > 0)
        except ConcretizationError:  # batched by vmap: each example chooses, so select
            taken = None
    if taken is not None:
        out = true_fn() if taken else false_fn()
        t, f = (out, out)
    else:
        t, f = true_fn(), false_fn()
        cond = score > 0
        out = tree_map(lambda a, b: E.where(cond, a, b), t, f)
    hard_gate = E.where(score > 0, 1.0, 0.0) if isinstance(score, Tracer) else \
        np.where(np.asarray(score) > 0, 1.0, 0.0)
    note_branch("diff_if[pathwise]", "the branch taken, exactly", "exact-selected-path", beta,
                score, hard_gate, t, f, out)
    return out


# --- selection --------------------------------------------------------------------
def _hard_onehot(scores, axis=-1):
    return _onehot_impl(np.asarray(concrete(scores, "soft_argmax")), axis=axis)


def soft_argmax(scores, tau=1.0, axis=-1):
    """``softmax(scores / tau)``: a relaxed one-hot of ``argmax(scores)``.

    >>> import numpy as np
    >>> soft_argmax(np.array([0.0, 1.0]), tau=1e-3).round(6).tolist()
    [0.0, 1.0]
    """
    w = softmax(scores / tau, axis=axis)
    if active() is not None:
        hard = _concrete_or_none(scores)
        hw = None if hard is None else _onehot_impl(hard, axis)
        note_selection("select", "soft_argmax", f"softmax, tau={tau:g}", "surrogate", tau, w,
                       hw, w, hw)
    return w


def _gumbel(key, shape):
    from .. import random as gr

    if isinstance(key, (int, np.integer)):
        key = gr.key(int(key))
    if key is None:
        raise ValueError("gumbel noise needs a key: gradlab.random.key(seed) or an int seed")
    u = gr.uniform(key, shape, minval=1e-12, maxval=1.0)
    return -np.log(-np.log(u))


def gumbel_softmax(logits, tau=1.0, key=None, hard=False, axis=-1):
    """A sample of the Gumbel-softmax (concrete) distribution over ``axis``:
    ``softmax((logits + G) / tau)`` with Gumbel noise ``G``; with ``hard=True`` the
    forward value is the one-hot of the sample and the derivative is the softmax's.

    >>> import numpy as np
    >>> w = gumbel_softmax(np.array([0.0, 3.0, 0.0]), 0.5, key=0, hard=True)
    >>> float(w.sum())
    1.0
    """
    z = (logits + _gumbel(key, np.shape(logits))) / tau
    return straight_through_onehot(z, axis) if hard else softmax(z, axis=axis)


def soft_select(values, scores, tau=1.0, mode="softmax", key=None, axis=-1):
    """``sum(w * values, axis)`` with weights ``w`` over ``axis`` from ``scores``:
    ``"softmax"`` (``softmax(scores / tau)``), ``"gumbel"`` (a Gumbel-softmax sample) or
    ``"gumbel_st"`` (the one-hot of a Gumbel sample forward, softmax derivative backward).

    >>> import numpy as np
    >>> float(soft_select(np.array([10.0, 20.0]), np.array([0.0, 5.0]), tau=1e-3))
    20.0
    """
    if mode == "softmax":
        w, contract = softmax(scores / tau, axis=axis), "surrogate"
    elif mode == "gumbel":
        w, contract = gumbel_softmax(scores, tau, key, axis=axis), "surrogate"
    elif mode == "gumbel_st":
        w = gumbel_softmax(scores, tau, key, hard=True, axis=axis)
        contract = "hard-forward-soft-backward"
    else:
        raise ValueError(f"soft_select: mode must be 'softmax', 'gumbel' or 'gumbel_st', "
                         f"got {mode!r}")
    out = R.sum(w * values, axis=axis)
    if active() is not None:
        sc, vals = _concrete_or_none(scores), _concrete_or_none(values)
        hw = None if sc is None else _onehot_impl(sc, axis)
        hard = None if hw is None or vals is None else np.sum(hw * vals, axis=axis)
        note_selection("select", f"soft_select[{mode}]", f"{mode} weights, tau={tau:g}",
                       contract, tau, w, hw, out, hard)
    return out


def soft_max(x, tau=1.0, axis=None):
    """``tau * logsumexp(x / tau)``: a smooth upper bound of ``max(x)`` (within
    ``tau * log(n)``); its gradient is ``softmax(x / tau)``.

    >>> import numpy as np
    >>> round(float(soft_max(np.array([1.0, 2.0]), tau=0.01)), 6)
    2.0
    """
    return _smooth_extreme(x, tau, axis, 1.0, "soft_max")


def soft_min(x, tau=1.0, axis=None):
    """``-soft_max(-x)``: a smooth lower bound of ``min(x)``.

    >>> import numpy as np
    >>> round(float(soft_min(np.array([1.0, 2.0]), tau=0.01)), 6)
    1.0
    """
    return _smooth_extreme(x, tau, axis, -1.0, "soft_min")


def _smooth_extreme(x, tau, axis, sign, name):
    out = sign * tau * logsumexp(sign * x / tau, axis=axis)
    if active() is not None:
        xv = _concrete_or_none(x)
        flat = None if xv is None else sign * (xv.reshape(-1) if axis is None else np.moveaxis(
            xv, axis, -1))
        w = None if flat is None else softmax(flat / tau, axis=-1)
        hw = None if flat is None else _onehot_impl(flat)
        note_selection("select", name, f"{sign:+g} * tau * logsumexp({sign:+g} * x / tau), "
                       f"tau={tau:g}", "surrogate", tau, w, hw, out,
                       None if flat is None else sign * flat.max(-1))
    return out


# --- sorting, ranking, top-k ---------------------------------------------------------
def _neuralsort(x, tau):
    """The NeuralSort relaxed permutation (Grover et al., 2019) sorting the last axis in
    descending order: ``P[k] = softmax(((n - 1 - 2k) * x - sum_j |x - x_j|) / tau)``."""
    n = np.shape(x)[-1]
    pairwise = E.absolute(E.subtract(x[..., :, None], x[..., None, :]))
    spread = R.sum(pairwise, axis=-1)  # sum_j |x_i - x_j|
    coef = (n - 1 - 2 * np.arange(n, dtype=_float_dtype(np.ones((), np.result_type(x)))))
    logits = coef[:, None] * x[..., None, :] - spread[..., None, :]
    return softmax(logits / tau, axis=-1)


def soft_permutation(x, tau=1.0, descending=False):
    """The NeuralSort relaxed permutation matrix of the last axis: row ``k`` is a softmax
    over the items, becoming the one-hot of the ``k``-th smallest (largest if
    ``descending``) as ``tau -> 0``. ``soft_permutation(s) @ y`` sorts ``y`` by ``s``.

    >>> import numpy as np
    >>> soft_permutation(np.array([3.0, 1.0, 2.0]), tau=1e-3).round(6).tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    p = _neuralsort(x, tau)
    return p if descending else p[..., ::-1, :]


def soft_sort(x, tau=1.0, descending=False):
    """A relaxed ``np.sort`` of the last axis: ``P @ x`` with ``P`` the NeuralSort relaxed
    permutation matrix (rows are softmaxes; each becomes one-hot as ``tau -> 0``).

    >>> import numpy as np
    >>> soft_sort(np.array([3.0, 1.0, 2.0]), tau=1e-3).round(6).tolist()
    [1.0, 2.0, 3.0]
    """
    p = soft_permutation(x, tau, descending)
    out = R.sum(p * x[..., None, :], axis=-1)
    if active() is not None:
        xv = _concrete_or_none(x)
        hard = None if xv is None else (np.sort(xv, -1)[..., ::-1] if descending else
                                        np.sort(xv, -1))
        order = None if xv is None else np.argsort(-xv if descending else xv, -1, kind="stable")
        hp = None if order is None else _onehot_rows(order, np.shape(xv)[-1])
        note_selection("sort", "soft_sort", f"NeuralSort, tau={tau:g}", "surrogate", tau, p,
                       hp, out, hard)
    return out


def _onehot_rows(order, n):
    return (order[..., :, None] == np.arange(n)).astype(float)


def soft_rank(x, tau=1.0):
    """Relaxed ascending ranks (1 = smallest) along the last axis by pairwise sigmoids:
    ``rank_i = 1/2 + sum_j sigmoid((x_i - x_j) / tau)``.

    >>> import numpy as np
    >>> soft_rank(np.array([3.0, 1.0, 2.0]), tau=1e-3).round(6).tolist()
    [3.0, 1.0, 2.0]
    """
    out = 0.5 + R.sum(sigmoid((x[..., :, None] - x[..., None, :]) / tau), axis=-1)
    tr = active()
    if tr is not None:
        xv = _concrete_or_none(x)
        hard = None if xv is None else np.argsort(np.argsort(xv, -1, kind="stable"), -1) + 1.0
        tr.add("sort", "soft_rank", f"pairwise sigmoid, tau={tau:g}", "surrogate",
               temperature=tau, soft=out if tr.fidelity else None,
               hard=hard if tr.fidelity else None, hard_choice=hard if tr.fidelity else None)
    return out


def soft_topk(x, k, tau=1.0):
    """A relaxed top-``k`` mask of the last axis: weights in ``[0, 1]`` summing to ``k``
    (the first ``k`` rows of the descending NeuralSort matrix), ``1`` on the ``k`` largest
    entries as ``tau -> 0``.

    >>> import numpy as np
    >>> soft_topk(np.array([3.0, 1.0, 2.0]), 2, tau=1e-3).round(6).tolist()
    [1.0, 0.0, 1.0]
    """
    mask = R.sum(_neuralsort(x, tau)[..., :k, :], axis=-2)
    tr = active()
    if tr is not None:
        xv = _concrete_or_none(x)
        hard = None
        if xv is not None:
            top = np.argsort(-xv, -1, kind="stable")[..., :k]
            hard = np.sum(_onehot_rows(top, np.shape(xv)[-1]), axis=-2)
        tr.add("select", "soft_topk", f"NeuralSort rows 1..{k}, tau={tau:g}", "surrogate",
               temperature=tau, soft=mask if tr.fidelity else None,
               hard=hard if tr.fidelity else None, gate=mask if tr.fidelity else None)
    return mask
