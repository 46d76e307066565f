"""Higher order: Jacobians, Hessians, their products, nesting to order 4, equality chains."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(1)
A = RNG.normal(size=(4, 3))
X = RNG.normal(size=(3,))
V = RNG.normal(size=(3,))


def vec_fun(x):
    return np.tanh(A @ x) * np.sum(x ** 2)


def scalar_fun(x):
    return np.sum(np.sin(x) * x ** 2) + np.prod(x) ** 2


def fd_jacobian(f, x, eps=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        cols.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


def closed_form_hessian(x):
    """Hessian of ``scalar_fun``: sum(sin(x) x^2) is diagonal; prod(x)^2 = P^2."""
    diag = (2 - x ** 2) * np.sin(x) + 4 * x * np.cos(x)
    p = np.prod(x)
    grad_p = p / x
    hess_p = np.outer(grad_p, grad_p) / p
    np.fill_diagonal(hess_p, 0.0)
    return np.diag(diag) + 2 * np.outer(grad_p, grad_p) + 2 * p * hess_p


def test_jacrev_and_jacfwd_match_finite_differences():
    ref = fd_jacobian(vec_fun, X)
    np.testing.assert_allclose(gl.jacrev(vec_fun)(X), ref, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(gl.jacfwd(vec_fun)(X), ref, rtol=1e-7, atol=1e-8)
    m = RNG.normal(size=(2, 3))
    np.testing.assert_allclose(gl.jacfwd(lambda m: np.sin(m) @ X)(m),
                               fd_jacobian(lambda m: np.sin(m) @ X, m), rtol=1e-7)


def test_jacobians_with_one_direction_have_numpy_layout():
    np.testing.assert_allclose(gl.jacfwd(lambda t: np.sin(t) * A[0])(0.5), np.cos(0.5) * A[0])
    np.testing.assert_allclose(gl.jacfwd(lambda v: v * A[1])(np.array([2.0])), A[1][:, None])
    assert gl.jacrev(scalar_fun)(X).shape == (3,)
    np.testing.assert_allclose(gl.jacrev(scalar_fun)(X), gl.grad(scalar_fun)(X), rtol=1e-14)
    assert gl.hessian(lambda x: x ** 3)(2.0) == pytest.approx(12.0)


def test_jacobians_of_pytrees():
    params = {"w": RNG.normal(size=(3,)), "b": np.array(0.5)}

    def f(p):
        return (np.tanh(A @ p["w"] + p["b"]), np.sum(p["w"]) * p["b"])

    for jac in (gl.jacrev(f), gl.jacfwd(f)):
        (jw_vec, jw_sum) = jac(params)
        assert jw_vec["w"].shape == (4, 3) and jw_vec["b"].shape == (4,)
        np.testing.assert_allclose(jw_vec["b"], 1 - np.tanh(A @ params["w"] + 0.5) ** 2)
        np.testing.assert_allclose(jw_sum["w"], np.full(3, 0.5))
        assert jw_sum["b"] == pytest.approx(np.sum(params["w"]))


def test_hessian_closed_form_and_both_orders_agree():
    h = gl.hessian(scalar_fun)(X)
    np.testing.assert_allclose(h, closed_form_hessian(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gl.jacrev(gl.jacrev(scalar_fun))(X), h, rtol=1e-10)
    np.testing.assert_allclose(gl.jacfwd(gl.jacfwd(scalar_fun))(X), h, rtol=1e-10)
    h_y = gl.hessian(lambda x, y: np.sum(x * y ** 3), argnum=1)(X, V)
    np.testing.assert_allclose(h_y, np.diag(6 * X * V), rtol=1e-12)


def test_vmap_of_hessian_matches_loop():
    xs = RNG.normal(size=(5, 3))
    np.testing.assert_allclose(gl.vmap(gl.hessian(scalar_fun))(xs),
                               np.stack([closed_form_hessian(x) for x in xs]), rtol=1e-10)


def test_hessian_vector_products():
    h = closed_form_hessian(X)
    np.testing.assert_allclose(gl.hvp(scalar_fun, X, V), h @ V, rtol=1e-10)
    np.testing.assert_allclose(gl.hessian_vector_product(scalar_fun)(X, V), h @ V, rtol=1e-10)
    hv, g = gl.make_hvp(scalar_fun)(X)
    np.testing.assert_allclose(g, gl.grad(scalar_fun)(X), rtol=1e-12)
    np.testing.assert_allclose(hv(V), h @ V, rtol=1e-10)
    np.testing.assert_allclose(hv(2 * V), 2 * h @ V, rtol=1e-10)
    hv_w = gl.hessian_vector_product(lambda c, x: c * np.sum(x ** 4), argnum=1)(3.0, X, V)
    np.testing.assert_allclose(hv_w, 36 * X ** 2 * V, rtol=1e-12)


def test_tensor_jacobian_product_and_ggnvp():
    u = RNG.normal(size=(4,))
    jac = fd_jacobian(vec_fun, X)
    np.testing.assert_allclose(gl.tensor_jacobian_product(vec_fun)(X, u), u @ jac, rtol=1e-7)
    m = RNG.normal(size=(2, 3, 3))
    f3 = lambda x: np.tanh(m @ x)  # noqa: E731  output (2, 3)
    t = RNG.normal(size=(2,))
    np.testing.assert_allclose(gl.tensor_jacobian_product(f3)(X, t),
                               np.tensordot(t, fd_jacobian(f3, X), 1), rtol=1e-7)
    with pytest.raises(ValueError, match=r"tensor shape \(5,\) is not a prefix"):
        gl.tensor_jacobian_product(vec_fun)(X, np.ones(5))
    ggn = gl.make_ggnvp(vec_fun)(X)(V)
    np.testing.assert_allclose(ggn, jac.T @ jac @ V, rtol=1e-6)
    soft = lambda y: np.sum(np.exp(y))  # noqa: E731
    ggn_exp = gl.make_ggnvp(vec_fun, soft)(X)(V)
    np.testing.assert_allclose(ggn_exp, jac.T @ np.diag(np.exp(vec_fun(X))) @ jac @ V,
                               rtol=1e-6)


def test_linearize_runs_function_once_and_matches_jvp():
    calls = []

    def f(x, y):
        calls.append(1)
        return np.sin(x) * y

    out, f_jvp = gl.linearize(f, X, V)
    assert len(calls) == 1
    np.testing.assert_allclose(out, np.sin(X) * V)
    for tx, ty in [(np.ones(3), np.zeros(3)), (V, X)]:
        np.testing.assert_allclose(f_jvp(tx, ty), gl.jvp(f, (X, V), (tx, ty))[1], rtol=1e-12)
    assert len(calls) == 1 + 2 * 1  # jvp reran f twice; f_jvp never did
    with pytest.raises(TypeError, match="takes 2 tangents"):
        f_jvp(V)


def test_no_perturbation_confusion():
    inner = lambda x: x * gl.grad(lambda y: x * y)(2.0)  # noqa: E731
    assert gl.grad(inner)(1.0) == 2.0
    fwd = lambda x: x * gl.deriv(lambda y: x * y)(2.0)  # noqa: E731
    assert gl.deriv(fwd)(1.0) == 2.0
    assert gl.grad(fwd)(1.0) == 2.0 and gl.deriv(inner)(1.0) == 2.0


def test_grad_to_order_four_and_mixed_modes():
    f = np.sin
    x = 0.7
    d4 = gl.grad(gl.grad(gl.grad(gl.grad(f))))(x)
    assert d4 == pytest.approx(np.sin(x), rel=1e-12)
    mixed = gl.deriv(gl.grad(gl.deriv(gl.grad(f))))(x)
    assert mixed == pytest.approx(np.sin(x), rel=1e-12)
    d3 = gl.grad(lambda x: gl.hvp(lambda z: np.sum(z ** 5), x, np.ones(1))[0])(np.array([x]))
    np.testing.assert_allclose(d3, [60 * x ** 2], rtol=1e-12)


def test_equality_chain_same_derivative_five_ways():
    """d/dx of scalar_fun along V, computed by every route there is."""
    ways = {
        "grad": gl.grad(scalar_fun)(X) @ V,
        "vjp": gl.vjp(scalar_fun, X)[1](1.0)[0] @ V,
        "jvp": gl.jvp(scalar_fun, (X,), (V,))[1],
        "jacfwd": gl.jacfwd(scalar_fun)(X) @ V,
        "jacrev": gl.jacrev(scalar_fun)(X) @ V,
        "linearize": gl.linearize(scalar_fun, X)[1](V),
        "deriv": gl.deriv(lambda t: scalar_fun(X + t * V))(0.0),
        "vmap-jvp": gl.vmap(lambda t: gl.jvp(scalar_fun, (X,), (t,))[1])(V[None])[0],
        "checked_fd": (scalar_fun(X + 1e-6 * V) - scalar_fun(X - 1e-6 * V)) / 2e-6,
    }
    ref = ways.pop("grad")
    for name, value in ways.items():
        tol = 1e-8 if name == "checked_fd" else 1e-12
        assert value == pytest.approx(ref, rel=tol, abs=tol), name


def test_higher_transforms_are_differentiable():
    gl.check_grads(lambda x: np.sum(gl.jacfwd(vec_fun)(x) ** 2), X, order=1)
    gl.check_grads(lambda x: np.sum(gl.hvp(scalar_fun, x, V)), X, modes=("rev",), order=1)


@pytest.mark.parametrize("module", ["batching", "higher", "custom", "checkpoint", "shapes"])
def test_transform_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"gradlab.transforms.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("transform", ["jacfwd", "jacrev", "hessian"])
def test_keyword_arguments_pass_through_undifferentiated(transform):
    def f(x, *, k=1.0):
        return np.sum(np.sin(x) * k)

    x = np.array([0.3, -0.7])
    got = getattr(gl, transform)(f)(x, k=2.0)
    expected = np.diag(-2.0 * np.sin(x)) if transform == "hessian" else 2.0 * np.cos(x)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
