"""scipy.linalg's solvers and factorisations: SciPy's values (reading the triangle SciPy
reads, so finite differences off the symmetric matrices agree too), and derivatives to
second order in both modes."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

sl = pytest.importorskip("scipy.linalg")

rng = np.random.default_rng(3)
M = rng.normal(size=(3, 3))
SPD = M @ M.T + 3 * np.eye(3)
GENERAL = rng.normal(size=(3, 3)) + 4 * np.eye(3)  # not symmetric: one triangle is read
B = rng.normal(size=3)

CASES = {
    "solve": lambda a: sl.solve(a, B),
    "solve transposed": lambda a: sl.solve(a, B, transposed=True),
    "solve sym": lambda a: sl.solve(a, B, assume_a="sym"),
    "solve pos lower": lambda a: sl.solve(a @ a.T, B, assume_a="pos", lower=True),
    "inv": lambda a: sl.inv(a),
    "det": lambda a: sl.det(a),
    "cholesky upper": lambda a: sl.cholesky(a @ a.T + np.triu(a)),
    "cholesky lower": lambda a: sl.cholesky(a @ a.T + np.tril(a), lower=True),
    "solve_triangular": lambda a: sl.solve_triangular(a, B),
    "solve_triangular lower T": lambda a: sl.solve_triangular(a, B, lower=True, trans="T"),
    "solve_triangular unit": lambda a: sl.solve_triangular(a, B, lower=True, unit_diagonal=True),
    "cho_solve upper": lambda a: sl.cho_solve(sl.cho_factor(a @ a.T), B),
    "cho_solve lower": lambda a: sl.cho_solve(sl.cho_factor(a @ a.T, lower=True), B),
}


@pytest.mark.parametrize("name", CASES)
def test_scipy_linalg_matches_scipy_and_finite_differences(name):
    f = CASES[name]
    traced = gl.grad(lambda a: np.sum(np.sin(f(a))))  # goes through gradlab's rules
    expected = f(GENERAL)  # SciPy itself (plain arrays)
    value = []
    gl.value_and_grad(lambda a: value.append(f(a)) or np.sum(np.sin(f(a))))(GENERAL)
    np.testing.assert_allclose(getattr(value[0], "value", value[0]), expected, rtol=1e-10)
    assert traced(GENERAL).shape == (3, 3)
    gl.check_grads(lambda a: np.sum(np.sin(f(a))), modes=["rev", "fwd"], order=2)(GENERAL)


def test_cho_solve_gradient_equals_the_general_solves():
    g1 = gl.grad(lambda a: np.sum(sl.cho_solve(sl.cho_factor(a), B)))(SPD)
    g2 = gl.grad(lambda a: np.sum(np.linalg.solve(a, B)))(SPD)
    np.testing.assert_allclose(g1 + g1.T, g2 + g2.T, rtol=1e-10)  # equal on symmetric moves
