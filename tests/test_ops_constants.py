"""Non-differentiable functions: constants under grad/jvp, batched under vmap, loud otherwise."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.errors import ConcretizationError
from gradlab.ops.constants import PASS_THROUGH

RNG = np.random.default_rng(6)


def test_index_valued_functions_return_plain_arrays_under_grad():
    seen = {}

    def f(x):
        seen["argmax"] = np.argmax(x)
        seen["argsort"] = np.argsort(x)
        seen["nonzero"] = np.nonzero(x > 0)
        seen["isnan"] = np.isnan(x)
        seen["count"] = np.count_nonzero(x > 0)
        return x[np.argmax(x)]

    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(gl.grad(f)(x), [0.0, 0.0, 1.0])
    assert all(type(v) in (np.ndarray, tuple, np.intp, np.int64) or isinstance(v, np.generic)
               for v in seen.values()), seen
    assert seen["argmax"] == 2 and seen["nonzero"][0].tolist() == [0, 2]


@pytest.mark.parametrize("f", [
    lambda a: np.argmax(a), lambda a: np.argmin(a, axis=0), lambda a: np.argmax(a, keepdims=True),
    lambda a: np.isnan(a), lambda a: np.isfinite(a / (a > 0)),
    lambda a: np.isclose(a, 0.5, atol=.3),
    lambda a: np.logical_and(a > 0, a < 1), lambda a: np.all(a > -1, axis=1),
    lambda a: np.any(a > 1), lambda a: np.count_nonzero(a > 0, axis=0),
    lambda a: np.zeros_like(a) + np.ones_like(a, dtype=np.float32),
    lambda a: np.full_like(a, 2.0), lambda a: np.signbit(a), lambda a: np.nanargmin(a)],
    ids=range(14))
def test_vmap_of_constant_functions_matches_loop(f):
    xs = RNG.normal(size=(4, 3, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(gl.vmap(f)(xs), np.stack([f(x) for x in xs]))


def test_full_like_with_traced_fill_value_is_differentiable():
    g = gl.grad(lambda v: np.sum(np.full_like(np.zeros((2, 3)), v)))(1.5)
    assert g == 6.0
    assert gl.grad(lambda v: np.sum(np.full((2, 2), v * v)))(3.0) == 24.0


def test_data_dependent_shapes_refuse_under_vmap():
    with pytest.raises(ConcretizationError, match="np.nonzero needs the concrete value"):
        gl.vmap(lambda a: np.nonzero(a > 0)[0])(RNG.normal(size=(3, 4)))
    with pytest.raises(ConcretizationError, match="np.allclose"):
        gl.vmap(lambda a: np.allclose(a, 0.0))(RNG.normal(size=(3, 4)))


def test_allclose_and_array_equal_give_python_bools_under_grad_and_jvp():
    seen = []

    def f(x):
        seen.append((np.allclose(x, 1.0), np.array_equal(x, x), np.array_equiv(x, x[:1])))
        return np.sum(x)

    gl.grad(f)(np.ones(3))
    gl.jvp(f, (np.ones(3),), (np.ones(3),))
    assert seen == [(True, True, True)] * 2


def test_pass_through_functions_read_shapes_of_traced_values():
    assert np.shape in PASS_THROUGH and np.ndim in PASS_THROUGH

    def f(x):
        assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
        assert not np.iscomplexobj(x) and np.result_type(x) == np.float64
        return np.sum(2.0 * x + np.eye(2, 3) + np.arange(3.0) + np.linspace(0, 1, 3))

    np.testing.assert_array_equal(gl.grad(f)(np.ones((2, 3))), 2.0 * np.ones((2, 3)))
