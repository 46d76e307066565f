"""The composition matrix: every pair and several triples of transforms, against references.

Each transform maps a function R^3 -> R^3 to another one, so any nesting is again
such a function. Each has an independent reference: derivatives by central finite
differences, ``vmap`` by an explicit Python loop, ``checkpoint``/``custom_*`` by the
identity (they must not change the function). A composition must equal the same
composition of references; forward mode over a ``custom_vjp`` must raise the error
that points to ``custom_jvp``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(4)
M = RNG.normal(size=(3, 3)) / 2
C = RNG.normal(size=(3,))
V = RNG.normal(size=(3,))
X = np.array([0.3, -0.8, 0.5])
EPS = 1e-4


def base(x):
    return np.sin(x) * np.sum(x ** 2) + np.tanh(x @ M)


# --- the transforms (gradlab) ----------------------------------------------------------
def grad_t(f):
    return lambda x: gl.grad(lambda z: np.sum(f(z) * C))(x)


def jvp_t(f):
    return lambda x: gl.jvp(f, (x,), (V,))[1]


def vmap_t(f):
    return lambda x: np.sum(gl.vmap(f)(np.stack([x, 0.5 * x + 1.0])), axis=0)


def checkpoint_t(f):
    return gl.checkpoint(f)


def custom_vjp_t(f):
    g = gl.custom_vjp(lambda x: f(x))
    g.defvjp(lambda x: (f(x), x), lambda x, ct: (gl.vjp(f, x)[1](ct)[0],))
    return g


def custom_jvp_t(f):
    g = gl.custom_jvp(lambda x: f(x))
    g.defjvp(lambda p, t: gl.jvp(f, p, t))
    return g


# --- the references -----------------------------------------------------------------------
def grad_ref(f):
    def g(x):
        out = np.zeros(3)
        for i in range(3):
            e = np.zeros(3)
            e[i] = EPS
            out[i] = (np.sum(f(x + e) * C) - np.sum(f(x - e) * C)) / (2 * EPS)
        return out

    return g


def jvp_ref(f):
    return lambda x: (f(x + EPS * V) - f(x - EPS * V)) / (2 * EPS)


def vmap_ref(f):
    return lambda x: sum(f(row) for row in [x, 0.5 * x + 1.0])


def identity_ref(f):
    return f


TRANSFORMS = {
    "grad": (grad_t, grad_ref),
    "jvp": (jvp_t, jvp_ref),
    "vmap": (vmap_t, vmap_ref),
    "checkpoint": (checkpoint_t, identity_ref),
    "custom_vjp": (custom_vjp_t, identity_ref),
    "custom_jvp": (custom_jvp_t, identity_ref),
}
DERIVATIVES = {"grad", "jvp"}


def compose(names, index):
    """``T1(T2(...Tn(base)))`` for ``names = (T1, ..., Tn)``; index 0 = gradlab, 1 = reference."""
    f = base
    for name in reversed(names):
        f = TRANSFORMS[name][index](f)
    return f


def forward_over_custom_vjp(names):
    """jvp applied outside a custom_vjp: forward mode reaches a reverse-only rule."""
    return any(a == "jvp" and "custom_vjp" in names[i + 1:] for i, a in enumerate(names))


PAIRS = list(itertools.product(TRANSFORMS, repeat=2))
TRIPLES = [
    ("grad", "vmap", "checkpoint"), ("vmap", "grad", "custom_vjp"), ("jvp", "vmap", "grad"),
    ("checkpoint", "grad", "vmap"), ("vmap", "vmap", "grad"), ("grad", "checkpoint", "custom_vjp"),
    ("custom_vjp", "grad", "vmap"), ("custom_jvp", "jvp", "checkpoint"),
    ("vmap", "custom_jvp", "grad"), ("grad", "custom_jvp", "vmap"), ("jvp", "checkpoint", "vmap"),
    ("checkpoint", "vmap", "custom_vjp"), ("jvp", "grad", "custom_vjp"),
]


@pytest.mark.parametrize("names", PAIRS + TRIPLES, ids=lambda n: "-".join(n))
def test_composition_matches_reference(names):
    transformed = compose(names, 0)
    if forward_over_custom_vjp(names):
        with pytest.raises(TypeError, match="custom_jvp"):
            transformed(X)
        return
    got = transformed(X)
    want = compose(names, 1)(X)
    n_derivatives = sum(n in DERIVATIVES for n in names)
    tol = {0: 1e-12, 1: 1e-7, 2: 1e-5, 3: 1e-2}[n_derivatives]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_matrix_covers_every_pair_and_reports_expected_errors():
    assert len(PAIRS) == len(TRANSFORMS) ** 2
    assert sum(forward_over_custom_vjp(p) for p in PAIRS) == 1  # jvp(custom_vjp(f))
    assert all(sum(n in DERIVATIVES for n in t) <= 2 for t in TRIPLES)
