"""One parametrised test over every declared primitive and composition.

A primitive is tested the moment it is declared: its VJP and JVP against central
differences to second order (and against each other: adjointness), float32 in ->
float32 out, its shape rule against the real output, and ``vmap`` against a Python
loop. Sample inputs come from the declaration (``examples=``) or its family.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import gradlab as gl
import gradlab.nn  # noqa: F401  (load on first use: import them so their primitives are here)
import gradlab.random  # noqa: F401
import gradlab.soft  # noqa: F401
from gradlab.core.primitive import COMPOSITIONS, PRIMITIVES, VARIADIC
from gradlab.core.shapes import ShapeDtypeStruct
from gradlab.intercept.lazy_rules import load_all
from gradlab.ops.families import Elementwise

load_all()  # SciPy's and numpy.polynomial's rules are declared on first use otherwise


def _examples(prim):
    rng = np.random.default_rng(0)
    if prim.examples is not None:
        return list(prim.examples(rng))
    return list(prim.family.examples(prim, rng))


def _is_float(x):
    return np.issubdtype(np.result_type(x), np.inexact) and not isinstance(x, bool)


def _diff_positions(prim, args):
    """Operands that carry a derivative: float arrays whose VJP rule exists."""
    if not prim.differentiable:
        return []
    rules = prim.vjps if prim.vjps is not None else prim.jvps
    out = []
    for i, a in enumerate(args):
        has_rule = prim.nin is VARIADIC or rules is None or rules[i] is not None
        if has_rule and _is_float(a):
            out.append(i)
    return out


def _closure(prim, args, params, positions):
    def f(*xs):
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        return prim(*full, **params)

    return f


PRIM_CASES = [pytest.param(name, k, id=f"{name}-{k}")
              for name, prim in sorted(PRIMITIVES.items())
              for k in range(len(_examples(prim)))]
COMPOSITION_CASES = [pytest.param(name, k, id=f"{name}-{k}")
                     for name, comp in sorted(COMPOSITIONS.items()) if comp.examples
                     for k in range(len(comp.examples(np.random.default_rng(0))))]


def _case(name, k):
    prim = PRIMITIVES[name]
    args, params = _examples(prim)[k]
    return prim, tuple(args), dict(params)


def test_every_primitive_has_sample_inputs():
    # gradlab's own primitives (tests declare throwaway ones of their own)
    missing = [name for name, prim in PRIMITIVES.items()
               if prim.declared_in.startswith("gradlab.") and not _examples(prim)]
    assert not missing, f"primitives without examples (declare examples=): {missing}"


@pytest.mark.parametrize("name,k", PRIM_CASES)
def test_primitive_derivatives_match_finite_differences(name, k):
    prim, args, params = _case(name, k)
    positions = _diff_positions(prim, args)
    if not positions:
        pytest.skip("no differentiable operand")
    if getattr(prim, "gradient_contract", "exact") != "exact":
        pytest.skip("a surrogate gradient by design (tests/test_soft_relaxations.py checks it)")
    f = _closure(prim, args, params, positions)
    diff_args = [np.asarray(args[i], dtype=np.complex128 if np.iscomplexobj(args[i])
                            else np.float64) for i in positions]
    gl.check_grads(f, *diff_args, modes=("fwd", "rev"), order=2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,k", PRIM_CASES)
def test_primitive_keeps_float32(name, k):
    prim, args, params = _case(name, k)
    positions = [i for i in _diff_positions(prim, args) if not np.iscomplexobj(args[i])]
    if not positions or "dtype" in params:
        pytest.skip("no real differentiable operand, or the op sets its own dtype")
    args32 = [np.asarray(a, np.float32) if i in positions else a for i, a in enumerate(args)]
    f = _closure(prim, args32, params, positions)
    out = f(*[args32[i] for i in positions])
    # float32 precision: float32, or complex64 for a real-to-complex op (rfft)
    assert np.finfo(np.result_type(out)).dtype == np.float32, \
        f"{name} promoted float32 to {out.dtype}"
    _, back = gl.vjp(f, *[args32[i] for i in positions])
    for g in back(np.ones_like(out)):
        assert np.result_type(g) == np.float32, f"{name}'s VJP promoted float32"


@pytest.mark.parametrize("name,k", PRIM_CASES)
def test_primitive_shape_rule_matches_real_output(name, k):
    prim, args, params = _case(name, k)
    avals = [ShapeDtypeStruct(np.shape(a), np.result_type(a)) for a in args]
    rule = prim.shape_rule or prim.family.shape
    expected = prim.impl(*args, **params)
    got = rule(prim, avals, params)
    assert tuple(got.shape) == np.shape(expected)
    assert np.dtype(got.dtype) == np.result_type(expected)


def _batched(a, size):
    """``size`` nearby samples of ``a`` stacked on a new leading axis (domains kept)."""
    return np.stack([np.asarray(a) * (1.0 + 0.05 * b) for b in range(size)])


@pytest.mark.parametrize("name,k", PRIM_CASES)
def test_primitive_vmap_matches_python_loop(name, k):
    if not hasattr(gl, "vmap"):
        pytest.skip("vmap not available yet")
    prim, args, params = _case(name, k)
    batched = [i for i, a in enumerate(args) if _is_float(a)]
    if not batched:
        pytest.skip("no float operand to batch")
    stacks = {i: _batched(args[i], 3) for i in batched}
    f = _closure(prim, args, params, batched)
    got = gl.vmap(f)(*[stacks[i] for i in batched])
    want = np.stack([np.asarray(f(*[stacks[i][b] for i in batched])) for b in range(3)])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)


def _composition_case(name, k):
    comp = COMPOSITIONS[name]
    args, params = comp.examples(np.random.default_rng(0))[k]
    return comp, tuple(args), dict(params)


@pytest.mark.parametrize("name,k", COMPOSITION_CASES)
def test_composition_derivatives_match_finite_differences(name, k):
    comp, args, params = _composition_case(name, k)
    if not any(_is_float(leaf) for leaf in gl.tree_leaves(args) if hasattr(leaf, "dtype")):
        pytest.skip("no float operand")
    # check_grads differentiates every float leaf (operands may be lists of arrays) and
    # holds integer leaves and strings (einsum subscripts) fixed.
    gl.check_grads(lambda *xs: comp.fn(*xs, **params), *args, modes=("fwd", "rev"),
                   order=2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,k", COMPOSITION_CASES)
def test_composition_matches_numpy(name, k):
    comp, args, params = _composition_case(name, k)
    if not comp.numpy:
        pytest.skip("not a numpy function")
    want = comp.numpy[0](*args, **params)
    got = comp.fn(*args, **params)
    for g, w in zip(gl.tree_leaves(got), gl.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-12, atol=1e-12)


UNARY = sorted(name for name, p in PRIMITIVES.items()
               if p.family is Elementwise and p.nin == 1 and p.differentiable
               and p.examples is None and getattr(p, "gradient_contract", "exact") == "exact")


@pytest.mark.parametrize("name", UNARY)
def test_unary_gradient_on_generated_inputs(name):
    prim = PRIMITIVES[name]
    lo, hi = prim.domain

    @settings(max_examples=8, deadline=None)
    @given(arrays(np.float64, st.integers(1, 4),
                  elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False)))
    def check(x):
        gl.check_grads(prim, x, modes=("fwd", "rev"), order=1, rtol=1e-4, atol=1e-6)

    check()
