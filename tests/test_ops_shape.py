"""Shape ops: values against numpy (incl. np.array of traced lists), closed-form gradients,
and vmap against a Python loop for every op."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(3)


def test_np_array_of_nested_lists_with_traced_values_stacks_them():
    def f(x, y):
        m = np.array([[x, 1.0], [2.0 * y, x * y]])
        return np.sum(m * np.array([[1.0, 2.0], [3.0, 4.0]]))

    gx, gy = gl.grad(f, argnum=(0, 1))(2.0, 5.0)
    assert (gx, gy) == (1.0 + 4.0 * 5.0, 6.0 + 4.0 * 2.0)
    out = gl.vjp(lambda x: np.asarray([x, x], dtype=np.float32), np.float64(1.5))[0]
    assert out.dtype == np.float32 and out.tolist() == [1.5, 1.5]
    assert gl.grad(lambda x: np.array(x, ndmin=2)[0, 0] * 3)(1.0) == 3.0


def test_pad_modes_route_gradients_to_the_copied_elements():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(gl.grad(lambda a: np.sum(np.pad(a, 2)))(x), [1, 1, 1])
    g = gl.grad(lambda a: np.sum(np.pad(a, (2, 1), mode="reflect")))(x)
    np.testing.assert_array_equal(g, [1, 3, 2])   # reflect: [3 2 | 1 2 3 | 2]
    g = gl.grad(lambda a: np.sum(np.pad(a, (0, 4), mode="wrap")))(x)
    np.testing.assert_array_equal(g, [3, 2, 2])


def test_insert_delete_append_gradients():
    x = np.arange(1.0, 5.0)
    g = gl.grad(lambda a, v: np.sum(np.insert(a, [1, 3], v) ** 2), argnum=(0, 1))
    ga, gv = g(x, np.array([10.0, 20.0]))
    np.testing.assert_array_equal(ga, 2 * x)
    np.testing.assert_array_equal(gv, [20.0, 40.0])
    np.testing.assert_array_equal(gl.grad(lambda a: np.sum(np.delete(a, [0, 2])))(x),
                                  [0, 1, 0, 1])
    np.testing.assert_array_equal(gl.grad(lambda a: np.sum(np.append(a, a)))(x), [2] * 4)


def test_repeat_tile_and_roll_gradients_count_copies():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(gl.grad(lambda a: np.sum(np.repeat(a, [2, 0, 3])))(x),
                                  [2, 0, 3])
    np.testing.assert_array_equal(gl.grad(lambda a: np.sum(np.tile(a, (2, 2))))(x), [4] * 3)
    ct = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(gl.vjp(lambda a: np.roll(a, 1), x)[1](ct)[0], [2, 3, 1])


def test_gradient_of_np_gradient_is_the_transposed_stencil():
    f = RNG.normal(size=(6,))
    out, back = gl.vjp(lambda a: np.gradient(a, 0.5), f)
    np.testing.assert_allclose(out, np.gradient(f, 0.5))
    eye = np.eye(6)
    jac = np.stack([np.gradient(e, 0.5) for e in eye], axis=1)
    np.testing.assert_allclose(back(np.ones(6))[0], jac.T @ np.ones(6))
    gx, gy = gl.vjp(lambda a: np.gradient(a), RNG.normal(size=(3, 4)))[0]
    assert gx.shape == gy.shape == (3, 4)


def test_split_family_returns_pieces_whose_gradients_reassemble():
    x = RNG.normal(size=(6, 4))
    pieces = gl.vjp(lambda a: np.array_split(a, 4), x)[0]
    assert [p.shape for p in pieces] == [(2, 4), (2, 4), (1, 4), (1, 4)]
    g = gl.grad(lambda a: sum(np.sum(p * k) for k, p in enumerate(np.hsplit(a, 2))))(x)
    np.testing.assert_array_equal(g, np.repeat([[0.0, 1.0]], 2, axis=1).repeat(6, axis=0))


def test_choose_and_select_pick_per_element():
    a = np.array([0, 2, 1])
    c = [np.ones(3), 2 * np.ones(3), 3 * np.ones(3)]
    g = gl.grad(lambda c1: np.sum(np.choose(a, [c[0], c1, c[2]])))(c[1])
    np.testing.assert_array_equal(g, [0, 0, 1])
    out = gl.vjp(lambda x: np.select([x > 0, x < -1], [x, -x], 7.0), np.array([1.0, -2, -.5]))
    np.testing.assert_array_equal(out[0], [1.0, 2.0, 7.0])


OPS = [
    lambda a: np.pad(a, ((1, 0), (2, 1))), lambda a: np.pad(a, 1, mode="symmetric"),
    lambda a: np.repeat(a, 2, axis=0), lambda a: np.tile(a, 2), lambda a: np.roll(a, 2),
    lambda a: np.roll(a, -1, axis=1), lambda a: np.flip(a), lambda a: np.fliplr(a),
    lambda a: np.rot90(a), lambda a: np.tril(a, -1), lambda a: np.triu(a), lambda a: np.diag(a),
    lambda a: np.diagonal(a, 1), lambda a: np.diag(a[0], 1), lambda a: np.diff(a, axis=0),
    lambda a: np.gradient(a, axis=1), lambda a: np.insert(a, 1, 0.5, axis=1),
    lambda a: np.delete(a, [0, 2], axis=1), lambda a: np.append(a, a[:1], axis=0),
    lambda a: np.vstack([a, a]), lambda a: np.hstack([a, a]), lambda a: np.dstack([a, a]),
    lambda a: np.column_stack([a[0], a[1]]), lambda a: np.split(a, 2, axis=1)[1],
    lambda a: np.atleast_3d(a), lambda a: np.broadcast_to(a, (2, 3, 4)),
    lambda a: np.broadcast_arrays(a, np.ones((2, 1, 1)))[0], lambda a: np.array([a, 2 * a]),
    lambda a: np.select([a > 0], [a], -a), lambda a: np.choose(np.array([[0, 1, 1, 0]] * 3),
                                                              [a, 2 * a]),
    lambda a: np.take(a, [3, 0], axis=1), lambda a: np.cumsum(np.sort(a, axis=None))]


@pytest.mark.parametrize("k", range(len(OPS)))
def test_vmap_of_shape_ops_matches_loop(k):
    f = OPS[k]
    xs = RNG.normal(size=(3, 3, 4))
    want = np.stack([np.asarray(f(x)) for x in xs])
    np.testing.assert_allclose(gl.vmap(f)(xs), want)
    h = gl.grad(lambda a: np.sum(np.sin(f(a))))
    np.testing.assert_allclose(gl.vmap(h)(xs), np.stack([h(x) for x in xs]))


@pytest.mark.parametrize("scalar", [np.array(2.0), np.float64(2.0), np.float32(2.0)])
def test_broadcast_of_a_scalar_is_a_read_only_view_and_refuses_negative_sizes(scalar):
    from gradlab.ops.families import broadcast_to_p

    out = broadcast_to_p(scalar, shape=(2, 3))
    assert out.tolist() == [[2.0] * 3] * 2 and out.dtype == scalar.dtype
    assert out.strides == (0, 0) and not out.flags.writeable
    for bad in [(-1,), (2, -1)]:  # ndarray itself would read -1 as "infer the size"
        with pytest.raises(ValueError, match="non-negative"):
            broadcast_to_p(scalar, shape=bad)
