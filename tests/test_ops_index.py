"""Indexing: gathers and functional updates, their derivatives, and vmap over x and/or indices."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.errors import ConcretizationError, InPlaceMutationError
from gradlab.ops.index import getitem

RNG = np.random.default_rng(0)
X4 = RNG.normal(size=(5, 4, 3, 2))   # a batch of 5 examples of shape (4, 3, 2)
X3 = RNG.normal(size=(5, 4, 3, 3))
I = RNG.integers(0, 3, size=(5, 2))  # batched index arrays
J = RNG.integers(0, 3, size=(5,))


def loop(f, *xs):
    return np.stack([np.asarray(f(*[a[b] for a in xs])) for b in range(len(xs[0]))])


STATIC = [(0,), (slice(1, 3),), (Ellipsis, 1), (None, 1), (np.array([0, 2, 2]),),
          (slice(None), np.array([1, 0])), (np.array([0, 1]), slice(None), np.array([1, 1])),
          (0, slice(None), np.array([1, 0])), (slice(None), np.array([[1], [0]]), np.array([0, 1])),
          (np.array([True, False, True, True]),), (slice(None), 0, np.array([1, 0])),
          (0, slice(None), np.array([[1], [0]])), (Ellipsis, None, np.array([0, 1])),
          (slice(None, None, -1), slice(1, None, 2))]


@pytest.mark.parametrize("idx", STATIC, ids=repr)
def test_vmap_gather_and_scatter_with_constant_index_match_loop(idx):
    np.testing.assert_allclose(gl.vmap(lambda a: a[idx])(X4), loop(lambda a: a[idx], X4))
    add = lambda a: gl.at(a)[idx].add(1.5) * 2  # noqa: E731
    np.testing.assert_allclose(gl.vmap(add)(X4), loop(add, X4))
    setv = lambda a, v: gl.at(a)[idx].set(v)  # noqa: E731
    v = RNG.normal(size=(5,) + np.shape(X4[0][idx]))
    np.testing.assert_allclose(gl.vmap(setv)(X4, v), loop(setv, X4, v))
    h = gl.grad(lambda a: np.sum(np.sin(a[idx]) ** 2))
    np.testing.assert_allclose(gl.vmap(h)(X4), loop(h, X4))


def test_getitem_gradients_match_finite_differences():
    x = RNG.normal(size=(4, 3))
    for idx in [(np.array([0, 0, 3]),), (slice(None), np.array([2, 0, 2])), (1, slice(0, 2))]:
        gl.check_grads(lambda a, idx=idx: a[idx] * a[idx], x)
    gl.check_grads(lambda a, v: gl.at(a)[np.array([0, 0])].add(v * v), x, RNG.normal(size=(2, 3)))
    gl.check_grads(lambda a, v: gl.at(a)[1:3].set(v) * a, x, RNG.normal(size=(3,)))
    gl.check_grads(lambda a: gl.at(a)[:, 1].multiply(a[:, 0]), x)


def test_repeated_indices_accumulate_in_the_gradient():
    g = gl.grad(lambda x: np.sum(x[np.array([0, 0, 2, 0])]))(np.ones(3))
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])


BATCHED = [lambda a, i, j: a[i], lambda a, i, j: a[:, i], lambda a, i, j: a[i, :, j],
           lambda a, i, j: a[:, i, j], lambda a, i, j: a[j, i], lambda a, i, j: a[..., j],
           lambda a, i, j: a[None, :, i], lambda a, i, j: a[1, i, j],
           lambda a, i, j: a[:, i, :][:, :, j], lambda a, i, j: a[j, :, None, j]]


class _Sub:
    """Indexes a plain array through gradlab (numpy's own ``ndarray[tracer]`` cannot)."""

    def __init__(self, a):
        self.a = a

    def __getitem__(self, idx):
        return getitem(self.a, idx)


@pytest.mark.parametrize("k", range(len(BATCHED)))
def test_vmap_gather_with_batched_indices_matches_loop(k):
    f = BATCHED[k]
    got, want = gl.vmap(f)(X3, I, J), loop(f, X3, I, J)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want)
    unbatched_x = gl.vmap(lambda a, i, j: f(_Sub(a), i, j), in_axes=(None, 0, 0))(X3[0], I, J)
    np.testing.assert_allclose(unbatched_x, np.stack([f(X3[0], I[b], J[b]) for b in range(5)]))
    h = gl.grad(lambda a, i, j: np.sum(np.cos(f(a, i, j))))
    np.testing.assert_allclose(gl.vmap(h)(X3, I, J), loop(h, X3, I, J))


SCATTERS = [lambda a, i, j: gl.at(a)[i].add(1.0), lambda a, i, j: gl.at(a)[:, i].set(0.0),
            lambda a, i, j: gl.at(a)[i, :, j].multiply(3.0),
            lambda a, i, j: gl.at(a)[1, i, j].add(np.ones(2)),
            lambda a, i, j: gl.at(a)[:, i, j].set(np.arange(2.0))]


@pytest.mark.parametrize("k", range(len(SCATTERS)))
def test_vmap_scatter_with_batched_indices_matches_loop(k):
    f = SCATTERS[k]
    np.testing.assert_allclose(gl.vmap(f)(X3, I, J), loop(f, X3, I, J))
    got = gl.vmap(f, in_axes=(None, 0, 0))(X3[0], I, J)
    np.testing.assert_allclose(got, np.stack([f(X3[0], I[b], J[b]) for b in range(5)]))


def test_vmap_indexing_with_argmax_of_each_example():
    y = RNG.normal(size=(6, 7))
    np.testing.assert_allclose(gl.vmap(lambda a: a[np.argmax(a)])(y), y.max(axis=1))
    g = gl.vmap(gl.grad(lambda a: a[np.argmax(a)] * 3.0))(y)
    np.testing.assert_array_equal(g, 3.0 * (y == y.max(axis=1, keepdims=True)))


def test_boolean_mask_batched_by_vmap_raises_concretization_error():
    with pytest.raises(ConcretizationError, match="boolean mask index batched by vmap"):
        gl.vmap(lambda a: a[a > 0])(RNG.normal(size=(3, 4)))


def test_float_index_raises_type_error_naming_the_dtype():
    with pytest.raises(TypeError, match="indexing with a traced float64 array"):
        gl.grad(lambda x: np.sum(getitem(x, x)))(np.ones(2))


def test_take_and_take_along_axis_match_numpy_and_differentiate():
    x = RNG.normal(size=(3, 4))
    ind = np.array([[0, 3], [1, 1], [2, 0]])
    row = np.array([[2, 0, 1, 1]])
    np.testing.assert_allclose(gl.vmap(lambda a: np.take_along_axis(a, row, 0))(x[None]),
                               np.take_along_axis(x, row, 0)[None])
    g = gl.grad(lambda a: np.sum(np.take_along_axis(a, ind, axis=1) ** 2))(x)
    want = np.zeros_like(x)
    np.add.at(want, (np.arange(3)[:, None], ind), 2 * np.take_along_axis(x, ind, 1))
    np.testing.assert_allclose(g, want)
    gl.check_grads(lambda a: np.take(a, np.array([2, 2, 0]), axis=1), x)


def test_put_along_axis_is_functional_and_np_form_refuses():
    x = RNG.normal(size=(2, 3))
    ind = np.array([[2], [0]])
    out = gl.put_along_axis(x, ind, 7.0, axis=1)
    want = x.copy()
    np.put_along_axis(want, ind, 7.0, axis=1)
    np.testing.assert_allclose(out, want)
    g = gl.grad(lambda a: np.sum(gl.put_along_axis(a, ind, 0.0, axis=1)))(x)
    np.testing.assert_array_equal(g, np.where(want == 7.0, 0.0, 1.0))

    def mutate(a):
        np.put_along_axis(a, ind, 1.0, axis=1)
        return np.sum(a)

    with pytest.raises(InPlaceMutationError, match="np.put_along_axis writes into its argument"):
        gl.grad(mutate)(x)
