"""``Var``: operators, attributes, indexing, functional updates and refusals."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

X = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])


def test_operators_gradients():
    x0 = X + 0.123  # away from the jumps of // and %

    def f(x):
        y = (x + 1) * (2 - x) / (x * x + 3) - x ** 2 + 2 ** x
        z = -y + abs(x) + (+x) % 1.7 + x // 0.5
        return np.sum(z @ x.T)

    gl.check_grads(f, x0, modes=("fwd", "rev"), order=2)


def test_reflected_operators_with_ndarrays():
    A = np.arange(6.0).reshape(3, 2)

    def f(x):
        return np.sum(A @ x + np.ones(3) * x[0] - np.ones(3) / (x[1] + 3))

    gl.check_grads(f, X, modes=("fwd", "rev"), order=2)


def test_comparisons_return_plain_boolean_arrays():
    seen = {}

    def f(x):
        mask = x > 0
        seen["mask"] = mask
        return np.sum(np.where(mask, x, 0.0))

    g = gl.grad(f)(X)
    assert type(seen["mask"]) is np.ndarray and seen["mask"].dtype == bool
    np.testing.assert_array_equal(g, (X > 0).astype(float))


def test_attributes_len_iteration():
    seen = {}

    def f(x):
        seen.update(shape=x.shape, ndim=x.ndim, dtype=x.dtype, len=len(x), T=x.T.shape,
                    size=x.size)
        return sum(np.sum(row * i) for i, row in enumerate(x))

    g = gl.grad(f)(X)
    assert seen == {"shape": (2, 3), "ndim": 2, "dtype": np.float64, "len": 2, "T": (3, 2),
                    "size": 6}
    np.testing.assert_array_equal(g, [[0, 0, 0], [1, 1, 1]])


@pytest.mark.parametrize("index", [
    (1,), (slice(None), 2), (Ellipsis, slice(0, 2)), (np.array([1, 0, 1]),),
    (np.array([0, 1, 1]), np.array([2, 2, 0])), (X > 0,), (None, 0),
])
def test_indexing_gather_and_scatter_add(index):
    def f(x):
        return np.sum(np.sin(x[index]) * 1.5)

    gl.check_grads(f, X, modes=("fwd", "rev"), order=2)
    g = gl.grad(f)(X)
    want = np.zeros_like(X)
    np.add.at(want, index, 1.5 * np.cos(X[index]))
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_functional_updates_at():
    def f(x):
        y = gl.at(x)[0, 1].set(3.0 * x[1, 1])  # gl.at works on plain arrays too
        y = gl.at(y)[:, 0].add(x[:, 2])
        y = gl.at(y)[1].multiply(2.0)
        return np.sum(y ** 2)

    gl.check_grads(f, X, modes=("fwd", "rev"), order=2)
    y = X.copy()
    y[0, 1] = 3.0 * X[1, 1]
    y[:, 0] += X[:, 2]
    y[1] *= 2.0
    np.testing.assert_allclose(f(X), np.sum(y ** 2))
    # on a traced value the method spelling works as in JAX
    g = gl.grad(lambda x: np.sum(x.at[0].set(0.0) * x))(X)
    np.testing.assert_allclose(g, np.vstack([np.zeros(3), 2 * X[1]]))


def test_in_place_mutation_raises_and_points_to_at():
    def f(x):
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(gl.InPlaceMutationError, match=r"x = x\.at\[0\]\.set\(1\.0\)") as info:
        gl.grad(f)(X)
    assert "x[0] = 1.0" in str(info.value)


def test_out_argument_into_a_local_buffer_rebinds_it():
    def f(x):
        out = np.empty(3)
        np.exp(x, out=out)  # the rewrite rebinds ``out`` to the traced result
        return np.sum(out)

    np.testing.assert_allclose(gl.grad(f)(X[0]), np.exp(X[0]), rtol=1e-14)


@pytest.mark.parametrize("convert", [float, int, complex])
def test_silent_conversion_is_refused(convert):
    def f(x):
        return convert(np.sum(x))

    with pytest.raises(gl.TracerConversionError, match="stop_gradient"):
        gl.grad(f)(X)


def test_assignment_into_plain_array_is_refused():
    def f(x):
        buf = np.zeros(3)
        buf[0] = np.sum(x)
        return np.sum(buf)

    with pytest.raises(gl.TracerConversionError, match="np.stack") as info:
        gl.grad(f)(X)
    assert "buf[0] = np.sum(x)" in str(info.value)
