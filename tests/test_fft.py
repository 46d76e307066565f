"""np.fft: closed forms, check_grads (complex directions) at order 2, numpy's exact values."""

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(7)


def _z(*shape):
    return RNG.normal(size=shape) + 1j * RNG.normal(size=shape)


def _r(*shape):
    return RNG.normal(size=shape)


def test_parseval_gradient():
    x = _r(6)
    g = gl.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(x)
    np.testing.assert_allclose(g, 2 * 6 * x, rtol=1e-12)


def test_sum_of_real_part_of_spectrum_picks_the_first_sample():
    # sum_k Re X_k = n x_0, so the gradient is n e_0.
    g = gl.grad(lambda x: np.sum(np.real(np.fft.fft(x))))(_r(5))
    np.testing.assert_allclose(g, [5.0, 0, 0, 0, 0], atol=1e-12)


def test_irfft_gradient_weights_mirrored_bins_twice():
    # irfft(X)[0] = (X_0 + 2 Re X_1 + ... + X_{n/2}) / n for even n.
    g = gl.grad(lambda x: np.fft.irfft(x)[0])(_z(4))
    np.testing.assert_allclose(g, np.array([1, 2, 2, 1]) / 6, atol=1e-12)


def _fft_n(x):
    return np.fft.fft(x, n=7)


CASES = {
    "fft": (np.fft.fft, (_r(5),), {}),
    "fft_pad_axis0": (np.fft.fft, (_z(3, 4),), {"n": 6, "axis": 0}),
    "fft_cut_ortho": (np.fft.fft, (_z(6),), {"n": 4, "norm": "ortho"}),
    "ifft_forward": (np.fft.ifft, (_z(4, 3),), {"norm": "forward"}),
    "rfft_odd": (np.fft.rfft, (_r(7),), {}),
    "rfft_cut": (np.fft.rfft, (_r(2, 7),), {"n": 5}),
    "rfft_pad": (np.fft.rfft, (_r(5),), {"n": 8, "norm": "ortho"}),
    "irfft": (np.fft.irfft, (_z(4),), {}),
    "irfft_odd_n": (np.fft.irfft, (_z(4),), {"n": 7, "norm": "ortho"}),
    "irfft_pad_bins": (np.fft.irfft, (_z(3, 3),), {"n": 10, "axis": 0, "norm": "forward"}),
    "fftn": (np.fft.fftn, (_z(3, 4, 2),), {}),
    "fftn_s": (np.fft.fftn, (_r(3, 4),), {"s": (5, 3), "axes": (0, 1)}),
    "fftn_repeated_axis": (np.fft.fftn, (_z(3, 4),), {"axes": (0, 0)}),
    "ifftn": (np.fft.ifftn, (_z(3, 4),), {"s": (2, 6), "axes": (1, 0), "norm": "ortho"}),
    "fft2": (np.fft.fft2, (_r(3, 4),), {}),
    "ifft2": (np.fft.ifft2, (_z(2, 3, 4),), {}),
    "rfftn": (np.fft.rfftn, (_r(4, 6),), {}),
    "rfftn_s_axes": (np.fft.rfftn, (_r(3, 4, 5),), {"axes": (0, 2), "s": (4, 7)}),
    "irfftn": (np.fft.irfftn, (_z(4, 3),), {}),
    "irfftn_s_axes": (np.fft.irfftn, (_z(3, 4, 3),), {"axes": (2, 0), "s": (5, 6),
                                                       "norm": "ortho"}),
    "rfft2": (np.fft.rfft2, (_r(4, 5),), {}),
    "irfft2": (np.fft.irfft2, (_z(4, 3),), {"s": (4, 5)}),
    "fftshift": (np.fft.fftshift, (_r(5, 4),), {}),
    "ifftshift_axis": (np.fft.ifftshift, (_r(5, 4),), {"axes": 0}),
    "fftshift_complex": (np.fft.fftshift, (_z(7),), {"axes": (-1,)}),
    "composed": (_fft_n, (_r(3, 5),), {}),
    "hfft": (np.fft.hfft, (_z(4),), {"n": 7, "norm": "ortho"}),
    "ihfft": (np.fft.ihfft, (_r(3, 6),), {"axis": 0}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_check_grads_order_two(name):
    fn, args, kwargs = CASES[name]
    gl.check_grads(lambda *a: fn(*a, **kwargs), *args, order=2)


@pytest.mark.parametrize("name", list(CASES))
def test_values_under_tracing_are_numpys_bit_for_bit(name):
    fn, args, kwargs = CASES[name]
    traced = gl.jvp(lambda *a: fn(*a, **kwargs), args, args)[0]
    np.testing.assert_array_equal(traced, fn(*args, **kwargs))


@pytest.mark.parametrize("name", ["fft_pad_axis0", "rfft_cut", "irfft_pad_bins", "fftn",
                                  "rfftn_s_axes", "irfftn_s_axes", "fftshift"])
def test_vmap_matches_a_loop(name):
    fn, (x,), kwargs = CASES[name]
    batch = np.stack([x, 2 * x, x - 1])
    out = gl.vmap(lambda x: fn(x, **kwargs))(batch)
    np.testing.assert_allclose(out, np.stack([fn(b, **kwargs) for b in batch]), atol=1e-12)


def test_float32_signal_keeps_float32_gradient():
    x = _r(8).astype(np.float32)
    g = gl.grad(lambda x: np.sum(np.abs(np.fft.rfft(x)) ** 2))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, gl.grad(lambda x: np.sum(np.abs(np.fft.rfft(x)) ** 2))(
        x.astype(np.float64)), rtol=1e-4)


def test_gradient_of_real_input_through_complex_fft_is_real():
    g = gl.grad(lambda x: np.sum(np.imag(np.fft.fft(x)) ** 3))(_r(5))
    assert g.dtype == np.float64


def test_zero_dimensional_input_raises():
    with pytest.raises(ValueError, match="at least one dimension"):
        gl.grad(lambda x: np.real(np.fft.fft(x)))(1.0)


def test_matches_hips_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    x = _r(6)
    ours = gl.grad(lambda x: np.sum(np.abs(np.fft.rfft(x * np.arange(6))) ** 1.5))(x)
    theirs = ag.grad(lambda x: anp.sum(anp.abs(anp.fft.rfft(x * anp.arange(6))) ** 1.5))(x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
def test_frequencies_are_differentiable_in_the_spacing(name):
    freq = getattr(np.fft, name)
    d = 0.5
    value, g = gl.value_and_grad(lambda d: np.sum(freq(8, d) ** 2))(d)
    ref = np.sum(freq(8) ** 2)  # sum (k / (n d))^2 = ref / d^2
    np.testing.assert_allclose(value, ref / d ** 2, rtol=1e-12)
    np.testing.assert_allclose(g, -2 * ref / d ** 3, rtol=1e-12)
    gl.check_grads(lambda d: freq(7, d), np.float64(1.3))
    assert freq(8, 0.25).tolist() == getattr(np.fft, name)(8, 0.25).tolist()


def test_fft_rules_declared_on_first_use_from_several_threads():
    # a fresh interpreter: numpy.fft's rules load on the first traced call, once, even
    # when threads meet them together
    import subprocess
    import sys

    code = (
        "import sys, threading, numpy as np, gradlab as gl\n"
        "assert 'gradlab.ops.fft' not in sys.modules\n"
        "x = np.linspace(0.1, 1.0, 8); out = [None] * 4\n"
        "def run(i): out[i] = gl.grad(lambda v: np.sum(np.abs(np.fft.fft(v)) ** 2))(x)\n"
        "ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "assert all(np.allclose(o, 16 * x) for o in out), out\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
