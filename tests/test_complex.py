"""Complex numbers: autograd's convention (docs/complex.md), complex check_grads, real parts."""

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.primitive import PRIMITIVES

Z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.2 - 1.1j])


def test_grad_of_abs_squared_is_twice_the_conjugate():
    # autograd's convention: grad f = df/dx - i df/dy; |z|^2 = x^2 + y^2 -> 2x - 2iy.
    assert complex(gl.grad(lambda z: np.abs(z) ** 2)(3.0 + 4.0j)) == pytest.approx(6 - 8j)


def test_grad_of_real_part_of_holomorphic_function_is_its_derivative():
    # For f = Re g(z) with g holomorphic, df/dx - i df/dy = g'(z).
    z0 = 0.3 - 0.7j
    assert complex(gl.grad(lambda z: np.real(np.exp(z) * z))(z0)) == pytest.approx(
        np.exp(z0) * (z0 + 1))


def test_grads_of_real_imag_angle_in_closed_form():
    z0 = 1.5 - 2.0j
    assert complex(gl.grad(np.real)(z0)) == 1.0
    assert complex(gl.grad(np.imag)(z0)) == -1.0j
    # angle = atan2(y, x): d/dx = -y/|z|^2, d/dy = x/|z|^2  ->  (-y - i x) / |z|^2
    expected = (-z0.imag - 1j * z0.real) / abs(z0) ** 2
    assert complex(gl.grad(np.angle)(z0)) == pytest.approx(expected)
    assert complex(gl.grad(lambda z: np.angle(z, deg=True))(z0)) == pytest.approx(
        expected * 180 / np.pi)


@pytest.mark.parametrize("fn", [
    lambda z: np.abs(z),
    lambda z: np.angle(z),
    lambda z: np.real(z) * np.imag(z),
    lambda z: np.conj(z) * z,
    lambda z: np.exp(z) * np.conjugate(z),
    lambda z: z.real ** 2 + 3 * z.imag,
    lambda z: z.conj() * np.sin(z),
    lambda z: np.abs(z) ** 2 * np.angle(z),
], ids=["abs", "angle", "re_im", "z_conj_z", "exp_conj", "attrs", "conj_method", "mixed"])
def test_check_grads_on_complex_functions(fn):
    gl.check_grads(fn, Z, order=2)


def test_complex_intermediate_of_real_input_gives_real_gradient():
    f = lambda x: np.sum(np.abs(x * (1 + 2j) + np.exp(1j * x)) ** 2)
    x = np.array([0.3, -1.2, 0.8])
    g = gl.grad(f)(x)
    assert g.dtype == np.float64
    # |x(1+2i) + e^{ix}|^2 = 5x^2 + 1 + 2x(cos x + 2 sin x)
    expected = 10 * x + 2 * (np.cos(x) + 2 * np.sin(x)) + 2 * x * (-np.sin(x) + 2 * np.cos(x))
    np.testing.assert_allclose(g, expected)
    gl.check_grads(f, x, order=2)


def test_real_parameter_feeding_complex_matmul_gets_real_cotangent():
    w = np.array([[0.5, -1.0], [2.0, 0.3]])
    c = np.array([1.0 + 1.0j, -2.0j])
    g = gl.grad(lambda w: np.real(np.sum(np.conj(w @ c) * (w @ c))))(w)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * np.real(np.outer(w @ c, np.conj(c))))


def test_jvp_of_abs_is_real_for_complex_input():
    z0, dz = 3.0 + 4.0j, 1.0 - 2.0j
    out, tangent = gl.jvp(np.abs, (z0,), (dz,))
    assert out == 5.0 and np.isrealobj(tangent)
    assert float(tangent) == pytest.approx(np.real(np.conj(z0) * dz) / 5.0)


def test_abs_at_zero_has_zero_gradient_for_complex_input():
    g = gl.grad(lambda z: np.sum(np.abs(z)))(np.array([0.0j, 3.0 + 4.0j]))
    np.testing.assert_allclose(g, [0.0, (3.0 - 4.0j) / 5.0])


def test_real_and_conj_of_real_array_add_no_tape_node():
    x = np.array([1.0, 2.0])
    assert gl.grad(lambda x: np.sum(np.real(x) * np.conj(x)))(x).tolist() == [2.0, 4.0]
    assert gl.grad(lambda x: np.sum(x + np.imag(x)))(x).tolist() == [1.0, 1.0]


def test_vmap_of_complex_ops_matches_a_loop():
    batch = np.stack([Z, Z * 2j, Z - 1])
    f = lambda z: np.sum(np.angle(z) + np.abs(z) * np.real(z) - np.imag(np.conj(z)))
    np.testing.assert_allclose(gl.vmap(f)(batch), [f(z) for z in batch])


def test_check_grads_catches_a_wrong_complex_rule():
    # conj's VJP is conj(g); a rule that forgets the conjugate is right for real
    # directions only, so only complex directions expose it.
    bad = gl.primitive("test_bad_conj", np.conj, vjp=lambda g, ans, x: g,
                       jvp=lambda t, ans, x: np.conj(t))
    try:
        with pytest.raises(AssertionError, match="rev-mode derivative"):
            gl.check_grads(lambda z: bad(z) * z, Z, order=1, modes=("rev",))
        gl.check_grads(lambda x: bad(x) * x, Z.real, order=1, modes=("rev",))  # real: fine
    finally:
        PRIMITIVES.pop("test_bad_conj")  # keep the registry-wide test's view clean


def test_matches_hips_autograd_convention():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    fns = [(lambda z: np.abs(z) ** 3, lambda z: anp.abs(z) ** 3),
           (lambda z: np.angle(z) * np.real(z), lambda z: anp.angle(z) * anp.real(z)),
           (lambda z: np.imag(z * np.conj(z + 1j)), lambda z: anp.imag(z * anp.conj(z + 1j)))]
    z0 = 0.7 - 1.3j
    for ours, theirs in fns:
        assert complex(gl.grad(ours)(z0)) == pytest.approx(complex(ag.grad(theirs)(z0)))


def test_variance_of_complex_data_is_real_like_numpy():
    z = np.array([1.0 + 2.0j, -0.5 + 0.1j, 0.3 - 1.0j])
    np.testing.assert_allclose(gl.jvp(np.var, (z,), (z,))[0], np.var(z))
    np.testing.assert_allclose(gl.jvp(np.std, (z,), (z,))[0], np.std(z))
    gl.check_grads(lambda z: np.var(z), z, modes=("fwd", "rev"), order=2)
