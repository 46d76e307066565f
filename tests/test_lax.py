"""gradlab.lax: JAX's control flow, run eagerly. Values equal hand-written loops;
derivatives match finite differences under grad, jvp, vmap(grad) and hessian."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import gradlab as gl
from gradlab import lax

RS = np.random.RandomState(0)
W = 0.5 * RS.randn(3, 3)
XS = RS.randn(5, 3)


def _rnn_step(h, x, w):
    h = np.tanh(h @ w + x)
    return h, np.sum(h ** 2)


def _rnn_by_scan(w, xs=XS, reverse=False):
    h, ys = lax.scan(lambda h, x: _rnn_step(h, x, w), np.zeros(3), xs, reverse=reverse)
    return np.sum(h) + np.sum(ys * np.arange(1.0, len(ys) + 1))


def _rnn_by_loop(w, xs=XS, reverse=False):
    h, ys = np.zeros(3), [None] * len(xs)
    for i in (reversed(range(len(xs))) if reverse else range(len(xs))):
        h, ys[i] = _rnn_step(h, xs[i], w)
    return np.sum(h) + np.sum(np.array(ys) * np.arange(1.0, len(ys) + 1))


def test_docstring_examples_run():
    result = doctest.testmod(lax, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 12 and result.failed == 0


def test_gl_lax_is_the_module():
    assert gl.lax is lax and lax.stop_gradient is gl.stop_gradient


# ---- scan ----------------------------------------------------------------------------

@pytest.mark.parametrize("reverse", [False, True])
def test_scan_equals_a_loop_in_value_and_every_derivative(reverse):
    assert np.isclose(_rnn_by_scan(W, reverse=reverse), _rnn_by_loop(W, reverse=reverse),
                      rtol=1e-14)
    np.testing.assert_allclose(gl.grad(_rnn_by_scan)(W, reverse=reverse),
                               gl.grad(_rnn_by_loop)(W, reverse=reverse), rtol=1e-12)
    gl.check_grads(lambda w: _rnn_by_scan(w, reverse=reverse), W, modes=("fwd", "rev"),
                   order=2)
    H = gl.hessian(lambda w: _rnn_by_scan(w, reverse=reverse))(W)
    H_loop = gl.hessian(lambda w: _rnn_by_loop(w, reverse=reverse))(W)
    assert H.shape == (3, 3, 3, 3)
    np.testing.assert_allclose(H, H_loop, rtol=1e-10, atol=1e-12)


def test_reverse_scan_visits_from_the_end_and_keeps_ys_in_order():
    seen = []

    def step(c, x):
        seen.append(float(x))
        return c + x, c

    carry, ys = lax.scan(step, 0.0, np.array([1.0, 2.0, 3.0]), reverse=True)
    assert seen == [3.0, 2.0, 1.0] and carry == 6.0
    assert ys.tolist() == [5.0, 3.0, 0.0]  # ys[i] is the output for xs[i]


def test_scan_of_pytrees_with_length_only_and_none_outputs():
    init = {"n": 0, "acc": (np.zeros(2), 1.0)}

    def step(c, x):
        assert x is None
        acc, prod = c["acc"]
        return {"n": c["n"] + 1, "acc": (acc + 1.0, prod * 2.0)}, None

    carry, ys = lax.scan(step, init, length=4)
    assert ys is None and carry["n"] == 4 and carry["acc"][1] == 16.0
    assert carry["acc"][0].tolist() == [4.0, 4.0]
    xs = {"a": np.arange(3.0), "b": np.ones((3, 2))}
    carry, ys = lax.scan(lambda c, x: (c + x["a"], {"s": x["b"] * c, "t": (x["a"],)}), 0.0, xs)
    assert carry == 3.0
    assert ys["s"].tolist() == [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]
    assert ys["t"][0].tolist() == [0.0, 1.0, 2.0]


def test_scan_of_length_zero_gives_empty_ys_of_the_right_shape():
    carry, ys = lax.scan(lambda c, x: (c, (x * c, np.zeros(3, np.float32))), np.ones(2),
                         np.zeros((0, 2)))
    assert carry.tolist() == [1.0, 1.0]
    assert ys[0].shape == (0, 2) and ys[1].shape == (0, 3) and ys[1].dtype == np.float32


def test_scan_under_jvp_and_vmap_of_grad():
    xs_batch = RS.randn(4, 5, 3)
    per_example = gl.vmap(gl.grad(_rnn_by_scan), in_axes=(None, 0))(W, xs_batch)
    for i in range(4):
        np.testing.assert_allclose(per_example[i], gl.grad(_rnn_by_loop)(W, xs_batch[i]),
                                   rtol=1e-10, atol=1e-12)
    v = RS.randn(3, 3)
    _, tangent = gl.jvp(_rnn_by_scan, (W,), (v,))
    assert np.isclose(tangent, np.sum(gl.grad(_rnn_by_loop)(W) * v), rtol=1e-10)


def test_scan_differentiates_its_xs():
    def f(xs):
        _, ys = lax.scan(lambda c, x: (c * x, c * x), 1.0, xs)
        return np.sum(ys)

    xs = np.array([0.5, 1.5, -2.0])
    expected = np.array([1 + 1.5 - 3.0, 0.5 - 1.0, 0.75])  # d/dx_i of x0 + x0x1 + x0x1x2
    np.testing.assert_allclose(gl.grad(f)(xs), expected, rtol=1e-14)
    gl.check_grads(f, xs, modes=("fwd", "rev"), order=2)


def test_scan_refuses_a_carry_that_changes_structure_shape_or_dtype():
    with pytest.raises(TypeError, match=r"scan body function carry input and carry output "
                                        r"must have the same pytree structure.*\(\*, \*\).*"
                                        r"\(\*, \*, \*\)"):
        lax.scan(lambda c, x: ((c[0], c[1], x), x), (0.0, 0.0), np.ones(2))
    with pytest.raises(TypeError, match=r"must have equal types.*carry\[1\] has type "
                                        r"float64\[\] but .* float64\[3\], so the shapes do not"):
        lax.scan(lambda c, x: ((c[0], c[1] + x), x), (0.0, np.zeros(())), np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"carry\['n'\] has type weak int\[\] but .* float64\[\]"
                                        r", so the dtypes do not match"):
        lax.scan(lambda c, x: ({"n": c["n"] + x}, x), {"n": 0}, np.ones(2))
    with pytest.raises(TypeError, match=r"carry has type float32\[2\] .* float64\[2\], so the "
                                        "dtypes do not match"):
        lax.scan(lambda c, x: (c + x, x), np.zeros(2, np.float32), np.ones((2, 2)))
    carry, _ = lax.scan(lambda c, x: (c + x, x), 0.0, np.ones(2, np.float32))  # weak float ok
    assert carry.dtype == np.float32


def test_scan_refuses_mismatched_lengths_and_nothing_to_scan():
    with pytest.raises(ValueError, match="scan got `length` argument of 3 which disagrees with "
                                         r"leading axis sizes \[2\]"):
        lax.scan(lambda c, x: (c, x), 0.0, np.ones(2), length=3)
    with pytest.raises(ValueError, match="different leading axis sizes: 2, 3"):
        lax.scan(lambda c, x: (c, x), 0.0, (np.ones(2), np.ones(3)))
    with pytest.raises(ValueError, match="no values to scan over and `length` not provided"):
        lax.scan(lambda c, x: (c, x), 0.0)
    with pytest.raises(TypeError, match=r"must return a pair \(carry, y\)"):
        lax.scan(lambda c, x: c, 0.0, np.ones(2))


def test_map_and_associative_scan():
    xs = RS.randn(4, 3)
    np.testing.assert_allclose(lax.map(lambda r: np.sum(np.sin(r)), xs),
                               np.sum(np.sin(xs), axis=1), rtol=1e-15)
    gl.check_grads(lambda x: np.sum(lax.map(lambda r: np.prod(r), x) ** 2), xs,
                   modes=("fwd", "rev"), order=2)
    np.testing.assert_allclose(lax.associative_scan(np.multiply, xs, axis=1),
                               np.cumprod(xs, axis=1), rtol=1e-14)
    np.testing.assert_allclose(lax.associative_scan(np.add, xs, reverse=True),
                               np.cumsum(xs[::-1], axis=0)[::-1], rtol=1e-14)
    gl.check_grads(lambda x: np.sum(lax.associative_scan(np.multiply, x) ** 2), xs,
                   modes=("fwd", "rev"), order=1)


# ---- loops ---------------------------------------------------------------------------

def test_fori_loop_equals_a_loop_with_derivatives():
    def newton_sqrt(a):  # 6 Newton steps towards sqrt(a)
        return lax.fori_loop(0, 6, lambda i, x: 0.5 * (x + a / x), a)

    a = np.array([2.0, 9.0])
    np.testing.assert_allclose(newton_sqrt(a), np.sqrt(a), rtol=1e-12)
    np.testing.assert_allclose(gl.elementwise_grad(newton_sqrt)(a), 0.5 / np.sqrt(a),
                               rtol=1e-9)
    gl.check_grads(lambda a: np.sum(newton_sqrt(a)), a, modes=("fwd", "rev"), order=2)
    with pytest.raises(TypeError, match=r"fori_loop body function carry input and carry "
                                        r"output must have the same pytree structure, but they "
                                        r"differ: the input carry is \[\] and the carry output "
                                        r"is \[\*\]"):
        lax.fori_loop(2, 5, lambda i, acc: acc + [i], [])
    assert lax.fori_loop(2, 5, lambda i, acc: acc + i, 0) == 9


def test_while_loop_differentiates_the_iterations_taken():
    def f(x):  # square until above 10: x -> x^(2^k)
        return lax.while_loop(lambda v: v < 10.0, lambda v: v * v, x)

    assert f(1.5) == 1.5 ** 8  # 1.5^2, ^4 = 5.06, ^8 = 25.6
    assert np.isclose(gl.grad(f)(1.5), 8 * 1.5 ** 7, rtol=1e-13)
    gl.check_grads(f, 1.5, modes=("fwd", "rev"), order=2)
    with pytest.raises(TypeError, match=r"while_loop body function carry input and carry "
                                        r"output must have equal types.*shapes do not match"):
        lax.while_loop(lambda v: v.size < 3, lambda v: np.append(v, 1.0), np.zeros(1))
    with pytest.raises(gl.ConcretizationError, match="while_loop: the loop predicate is "
                                                    "batched by vmap"):
        gl.vmap(f)(np.array([1.5, 2.0]))


# ---- branches ------------------------------------------------------------------------

def _branchy(x):
    return lax.cond(np.sum(x) > 0, lambda v, s: np.sin(v) * s, lambda v, s: v ** 3 - s, x, 2.0)


def _branchy_ref(x):
    return np.where(np.sum(x, axis=-1, keepdims=True) > 0, np.sin(x) * 2.0, x ** 3 - 2.0)


def test_cond_runs_one_branch_with_its_derivative():
    calls = []
    out = lax.cond(True, lambda: calls.append("t") or 1.0, lambda: calls.append("f") or 2.0)
    assert out == 1.0 and calls == ["t"]
    x = np.array([0.3, -0.1])
    np.testing.assert_allclose(_branchy(x), np.sin(x) * 2.0, rtol=1e-15)
    np.testing.assert_allclose(_branchy(-x), -x ** 3 - 2.0, rtol=1e-15)
    for point in (x, -x):
        gl.check_grads(lambda v: np.sum(_branchy(v)), point, modes=("fwd", "rev"), order=2)
    with pytest.raises(TypeError, match=r"Pred must be a scalar, got .* of shape \(2,\)"):
        lax.cond(x > 0, lambda: 1.0, lambda: 2.0)


def test_cond_under_vmap_with_a_batched_predicate_selects_per_example():
    xs = np.array([[0.3, -0.1], [-0.5, 0.2], [1.0, 1.0], [-1.0, 0.4]])
    np.testing.assert_allclose(gl.vmap(_branchy)(xs), _branchy_ref(xs), rtol=1e-15)
    per_example = gl.vmap(gl.grad(lambda v: np.sum(_branchy(v))))(xs)
    reference = gl.elementwise_grad(lambda v: np.sum(_branchy_ref(v)))(xs)
    np.testing.assert_allclose(per_example, reference, rtol=1e-14)
    gl.check_grads(lambda v: np.sum(gl.vmap(_branchy)(v)), xs, modes=("fwd", "rev"), order=2)
    with pytest.raises(TypeError, match="true_fun and false_fun output must have identical "
                                        r"types.*got \* and \(\*, \*\)"):
        gl.vmap(lambda v: lax.cond(v > 0, lambda: (v, v), lambda: v))(xs[:, 0])


def test_switch_clamps_and_selects_per_example_under_vmap():
    branches = [lambda v: v * 2.0, lambda v: np.exp(v), lambda v: -v]
    assert [lax.switch(i, branches, 1.0) for i in (-3, 0, 1, 2, 7)] == \
        [2.0, 2.0, np.exp(1.0), -1.0, -1.0]
    index = np.array([0, 1, 2, 5, -1])
    x = np.linspace(-1.0, 1.0, 5)
    got = gl.vmap(lambda i, v: lax.switch(i, branches, v))(index, x)
    expected = np.select([index <= 0, index == 1], [x * 2.0, np.exp(x)], -x)
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    g = gl.vmap(gl.grad(lambda v, i: lax.switch(i, branches, v)))(x, index)
    np.testing.assert_allclose(g, np.select([index <= 0, index == 1], [2.0, np.exp(x)], -1.0),
                               rtol=1e-15)
    with pytest.raises(ValueError, match="Empty branch sequence"):
        lax.switch(0, [], 1.0)


def test_select_checks_its_operands_like_jax():
    p = np.array([True, False, True])
    a, b = np.arange(3.0), -np.arange(3.0)
    assert lax.select(p, a, b).tolist() == [0.0, -1.0, 2.0]
    g = gl.grad(lambda u: np.sum(lax.select(p, u, 2.0 * u)))(a)
    assert g.tolist() == [1.0, 2.0, 1.0]
    with pytest.raises(TypeError, match=r"select cases must have the same shapes, got "
                                        r"\[\(3,\), \(2,\)\]"):
        lax.select(p, a, b[:2])
    with pytest.raises(TypeError, match="select `pred` must be boolean type, got int64"):
        lax.select(p.astype(np.int64), a, b)
    with pytest.raises(TypeError, match=r"select cases must have the same dtypes"):
        lax.select(p, a, b.astype(np.float32))
    with pytest.raises(TypeError, match=r"`pred` must be scalar or have the same shape as "
                                        r"cases, got `pred` shape \(2,\)"):
        lax.select(p[:2], a, b)


# ---- dynamic slicing -----------------------------------------------------------------

def test_dynamic_slice_clamps_like_jax_and_is_differentiable():
    x = np.arange(12.0).reshape(3, 4)
    assert lax.dynamic_slice(x, (1, 1), (2, 2)).tolist() == [[5.0, 6.0], [9.0, 10.0]]
    assert lax.dynamic_slice(x, (5, -2), (2, 3)).tolist() == [[4.0, 5.0, 6.0],
                                                              [8.0, 9.0, 10.0]]
    assert lax.dynamic_slice_in_dim(x, 3, 2, axis=1).tolist() == [[2.0, 3.0], [6.0, 7.0],
                                                                  [10.0, 11.0]]
    g = gl.grad(lambda v: np.sum(lax.dynamic_slice(v, (np.int64(2), 0), (1, 2)) ** 2))(x)
    assert g.tolist() == [[0.0] * 4, [0.0] * 4, [16.0, 18.0, 0.0, 0.0]]
    with pytest.raises(TypeError, match="slice size 5 does not fit axis 1 of size 4"):
        lax.dynamic_slice(x, (0, 0), (1, 5))


def test_dynamic_update_slice_is_functional_and_differentiable():
    x, u = np.zeros((3, 3)), np.ones((2, 2))
    out = lax.dynamic_update_slice(x, u, (2, 1))  # row start clamped to 1
    assert out.tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    assert not x.any()

    def f(x, u):
        return np.sum(lax.dynamic_update_slice(x, u * u, (0, 1)) * np.arange(9.0).reshape(3, 3))

    gx, gu = gl.grad(f, argnum=(0, 1))(RS.randn(3, 3), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert gx.tolist() == [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [6.0, 7.0, 8.0]]
    assert gu.tolist() == [[2.0, 8.0], [24.0, 40.0]]
    gl.check_grads(f, RS.randn(3, 3), RS.randn(2, 2), modes=("fwd", "rev"), order=2)


# ---- jit and eval_shape ------------------------------------------------------------

@pytest.mark.filterwarnings("error")  # a fallback to eager would warn
def test_jit_of_a_program_with_scan_cond_and_fori_loop_equals_eager():
    def f(x):
        y = lax.cond(np.sum(x) > 0, np.sin, lambda v: v ** 3, x)
        _, ys = lax.scan(lambda c, r: (c * r + 1.0, c), 1.0, y)
        return np.sum(lax.fori_loop(0, 3, lambda i, a: a * y + 1.0, ys))

    compiled = gl.jit(gl.value_and_grad(f))
    for x in (np.array([0.3, 0.2]), np.array([0.5, 0.1])):  # the same branch: one capture
        value, g = compiled(x)
        eager_value, eager_g = gl.value_and_grad(f)(x)
        assert np.isclose(value, eager_value, rtol=1e-14)
        np.testing.assert_allclose(g, eager_g, rtol=1e-12)
    assert compiled.cache_size() == 1


def test_eval_shape_sees_through_scan_and_a_cond_on_abstract_values():
    x = gl.ShapeDtypeStruct((5, 2), np.float32)
    carry, ys = gl.eval_shape(lambda x: lax.scan(lambda c, r: (c + r, c * r),
                                                 np.zeros(2, np.float32), x), x)
    assert (carry.shape, ys.shape, ys.dtype) == ((2,), (5, 2), np.float32)
    out = gl.eval_shape(lambda x: lax.cond(np.sum(x) > 0, np.sin, lambda v: v[::-1], x), x)
    assert (out.shape, out.dtype) == ((5, 2), np.float32)
