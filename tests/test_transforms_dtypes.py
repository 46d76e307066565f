"""A derivative has the dtype of its argument (a tangent: of the primal output), for every
transform and every float dtype, however the program promotes inside; and the small
API conveniences of autograd and JAX (size-1 outputs, ``argnums=``, curried check_grads).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import gradlab as gl

DTYPES = [np.float16, ml_dtypes.bfloat16, np.float32, np.float64, np.complex64,
          np.complex128]
X64 = np.array([[0.3, -0.2], [0.1, 0.5], [-0.4, 0.25]])


def _real_loss(x):
    # float64 inside: 3.0 * np.eye(3) promotes x32 @ x32.T
    return np.sum(np.tanh(x @ x.T + 3.0 * np.eye(3)))


def _complex_loss(x):
    return np.sum(np.abs(x @ x.T + 3.0 * np.eye(3)) ** 2)


def _map(x):
    return np.sin(x) * np.ones(x.shape)  # float64 ones promote float32 x


TRANSFORMS = {
    "grad": lambda loss, x: gl.grad(loss)(x),
    "value_and_grad": lambda loss, x: gl.value_and_grad(loss)(x)[1],
    "vjp": lambda loss, x: gl.vjp(_map, x)[1](np.ones(x.shape))[0],
    "make_vjp": lambda loss, x: gl.make_vjp(_map)(x)[0](np.ones(x.shape)),
    "elementwise_grad": lambda loss, x: gl.elementwise_grad(_map)(x),
    "jacobian": lambda loss, x: gl.jacobian(_map)(x),
    "vmap(grad)": lambda loss, x: gl.vmap(gl.grad(lambda r: loss(r[None] * np.ones((3, 1)))))(x),
    "hessian": lambda loss, x: gl.hessian(loss)(x),
    "grad of grad": lambda loss, x: gl.grad(lambda y: np.sum(gl.grad(loss)(y) ** 2))(x),
}


def _case(dtype):
    dtype = np.dtype(dtype)
    x = X64.astype(dtype) if dtype.kind != "c" else (X64 + 0.5j * X64[::-1]).astype(dtype)
    return x, (_complex_loss if dtype.kind == "c" else _real_loss)


def _tolerance(dtype):
    return {2: 0.05, 4: 2e-3}.get(np.dtype(dtype).itemsize, 1e-9) if np.dtype(
        dtype).kind != "c" else {8: 2e-3, 16: 1e-9}[np.dtype(dtype).itemsize]


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_derivative_has_the_arguments_dtype(name, dtype):
    x, loss = _case(dtype)
    if name in ("hessian", "grad of grad") and np.dtype(dtype).itemsize <= 2:
        pytest.skip("second derivatives in 16 bits are the precision helper's")
    got = TRANSFORMS[name](loss, x)
    assert got.dtype == x.dtype, f"{name}: {got.dtype} for a {x.dtype} argument"
    wide = x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    expected = TRANSFORMS[name](loss, wide)
    np.testing.assert_allclose(got.astype(expected.dtype), expected, rtol=_tolerance(dtype),
                               atol=_tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_tangents_have_the_primal_outputs_dtype(dtype):
    x, _ = _case(dtype)
    out, tangent = gl.jvp(lambda x: np.sin(x) * 2.0, (x,), (np.ones(x.shape),))  # f64 tangent
    assert out.dtype == x.dtype and tangent.dtype == x.dtype
    out, f_jvp = gl.linearize(lambda x: np.sin(x) * 2.0, x)
    assert f_jvp(np.ones(x.shape)).dtype == out.dtype
    promoted = gl.jvp(_real_loss, (x.real,), (x.real,))
    assert promoted[1].dtype == promoted[0].dtype == np.float64  # the program promotes


def test_a_float32_gradient_stays_float32_to_second_order():
    x = X64.astype(np.float32)
    h = gl.jacfwd(gl.grad(_real_loss))(x)
    assert h.dtype == np.float32
    np.testing.assert_allclose(h, gl.hessian(_real_loss)(X64), rtol=1e-4, atol=1e-5)


def test_grad_of_a_size_one_output_is_accepted_like_a_scalar():
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(gl.grad(lambda x: x[:1] * 3.0)(x), [3.0, 0.0, 0.0])
    g = gl.grad(lambda x: np.reshape(np.sum(x ** 2), (1, 1)))(x)
    np.testing.assert_array_equal(g, 2 * x)
    value, _ = gl.value_and_grad(lambda x: x[1:2] ** 2)(x)
    assert value.shape == (1,)
    with pytest.raises(TypeError, match=r"requires a scalar output.*shape \(2,\)"):
        gl.grad(lambda x: x[:2])(x)


@pytest.mark.parametrize("transform", [gl.grad, gl.value_and_grad, gl.jacobian, gl.jacfwd,
                                       gl.jacrev, gl.hessian, gl.elementwise_grad])
def test_argnums_is_an_alias_of_argnum(transform):
    def f(x, y):
        return np.sum(x * y ** 2)

    x, y = np.array([1.0, 2.0]), np.array([0.5, -1.5])
    got = transform(f, argnums=1)(x, y)
    expected = transform(f, argnum=1)(x, y)
    for a, b in zip(gl.tree_leaves(got), gl.tree_leaves(expected)):
        np.testing.assert_array_equal(a, b)
    both = gl.grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(both[1], 2 * x * y)
    with pytest.raises(TypeError, match="pass argnum or argnums, not both"):
        transform(f, argnum=0, argnums=1)


def test_check_grads_curried_as_in_autograd():
    assert gl.check_grads(np.sin, modes=["fwd", "rev"], order=2)(np.array([0.3, 1.0])) is None
    with pytest.raises(AssertionError, match="rev-mode derivative"):
        wrong = gl.custom_vjp(lambda x: np.sin(x))
        wrong.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g * 2.0,))
        gl.check_grads(wrong, modes=["rev"], order=1)(np.array([0.3]))


@pytest.mark.parametrize("module", ["gradlab.transforms.dtypes", "gradlab.transforms.argnums",
                                    "gradlab.core.arguments", "gradlab.files", "gradlab.check"])
def test_docstring_examples_of_the_boundary_modules_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128], ids=lambda d: np.dtype(d).name)
def test_the_cotangent_of_np_real_for_a_complex_input_is_complex(dtype):
    z = np.array([1.0 + 2.0j, -0.5 + 0.25j], dtype)
    (ct,) = gl.vjp(np.real, z)[1](np.array([1.0, -2.0]))
    assert ct.dtype == dtype
    np.testing.assert_array_equal(ct, [1.0 + 0.0j, -2.0 + 0.0j])
    g = gl.grad(lambda z: np.sum(np.real(z) ** 2 + z.real))(z)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, 2 * z.real + 1.0, rtol=1e-6)
