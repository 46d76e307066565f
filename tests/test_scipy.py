"""SciPy: special functions, norm / multivariate_normal, signal.convolve; lazy, optional import."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradlab as gl

sc = pytest.importorskip("scipy.special")
st = pytest.importorskip("scipy.stats")
ss = pytest.importorskip("scipy.signal")

RNG = np.random.default_rng(3)
X = RNG.uniform(0.5, 2.5, size=4)


# --- closed forms -------------------------------------------------------------------


def test_gamma_family_derivatives():
    np.testing.assert_allclose(gl.elementwise_grad(sc.gammaln)(X), sc.digamma(X), rtol=1e-12)
    np.testing.assert_allclose(gl.elementwise_grad(sc.digamma)(X), sc.polygamma(1, X),
                               rtol=1e-12)
    np.testing.assert_allclose(gl.elementwise_grad(lambda x: sc.polygamma(2, x))(X),
                               sc.polygamma(3, X), rtol=1e-12)
    np.testing.assert_allclose(gl.elementwise_grad(sc.gamma)(X), sc.gamma(X) * sc.digamma(X),
                               rtol=1e-12)


def test_error_and_logistic_function_derivatives():
    x = np.array([-1.5, 0.0, 0.7])
    np.testing.assert_allclose(gl.elementwise_grad(sc.erf)(x), 2 / np.sqrt(np.pi) * np.exp(-x ** 2))
    np.testing.assert_allclose(gl.elementwise_grad(sc.expit)(x), sc.expit(x) * sc.expit(-x))
    y = np.array([0.2, 0.5, 0.9])
    np.testing.assert_allclose(gl.elementwise_grad(sc.erfinv)(sc.erf(x)), 1 / (
        2 / np.sqrt(np.pi) * np.exp(-x ** 2)), rtol=1e-10)
    np.testing.assert_allclose(gl.elementwise_grad(sc.logit)(y), 1 / (y * (1 - y)))


def test_bessel_derivatives_at_zero_and_away():
    assert float(gl.grad(sc.i1)(0.0)) == pytest.approx(0.5)
    assert float(gl.grad(sc.j1)(0.0)) == pytest.approx(0.5)
    assert float(gl.grad(sc.i1e)(0.0)) == pytest.approx(0.5)
    # i1(x) underflows to 0 for denormal x: the x -> 0 limit must come from the series
    assert float(gl.grad(sc.i1)(5e-324)) == pytest.approx(0.5)
    assert float(gl.grad(sc.j1)(-1e-300)) == pytest.approx(0.5)
    gl.check_grads(sc.i1e, np.array([-3e-5, 2e-5, 0.0, 1.0]), order=2)
    np.testing.assert_allclose(gl.elementwise_grad(sc.j0)(X), -sc.j1(X))
    np.testing.assert_allclose(gl.elementwise_grad(sc.i0)(X), sc.i1(X))


def test_xlogy_at_zero_has_zero_gradient_in_y():
    assert float(gl.grad(lambda y: sc.xlogy(0.0, y))(0.0)) == 0.0
    gx, gy = gl.grad(lambda x, y: sc.xlog1py(x, y), argnum=(0, 1))(2.0, 1.0)
    assert (float(gx), float(gy)) == pytest.approx((np.log(2.0), 1.0))


def test_logsumexp_gradient_is_softmax_and_stays_finite():
    x = np.array([1000.0, 1001.0, -np.inf])
    g = gl.grad(sc.logsumexp)(x)
    np.testing.assert_allclose(g, sc.softmax(x))
    assert float(gl.grad(lambda x: sc.logsumexp(x, b=np.array([2.0, 1.0])))(
        np.zeros(2))[0]) == pytest.approx(2 / 3)


def test_norm_logcdf_gradient_far_in_the_left_tail():
    # d log Phi(x) / dx ~ -x for x -> -inf: finite where Phi itself underflows.
    assert float(gl.grad(st.norm.logcdf)(-40.0)) == pytest.approx(40.0, rel=1e-3)


def test_norm_logpdf_gradients_in_x_loc_scale():
    gx, gm, gs = gl.grad(st.norm.logpdf, argnum=(0, 1, 2))(1.0, 0.5, 2.0)
    z = (1.0 - 0.5) / 2.0
    assert (float(gx), float(gm), float(gs)) == pytest.approx((-z / 2, z / 2, (z * z - 1) / 2))


def test_frozen_normal_distribution():
    assert float(gl.grad(lambda mu: st.norm(mu, 2.0).logpdf(0.5))(0.0)) == pytest.approx(0.125)
    assert float(gl.grad(lambda x: st.norm(0.0, 2.0).logpdf(x))(0.5)) == pytest.approx(-0.125)
    with pytest.raises(gl.NoRuleError, match=r"cauchy\(\.\.\.\)\.logpdf has no gradlab rule"):
        gl.grad(lambda x: st.cauchy(2.0).logpdf(x))(0.5)


def test_multivariate_normal_gradients_in_closed_form():
    b = RNG.normal(size=(3, 3))
    cov = b @ b.T + 3 * np.eye(3)
    x, mean = RNG.normal(size=3), RNG.normal(size=3)
    mvn = st.multivariate_normal
    inv = np.linalg.inv(cov)
    gx = gl.grad(lambda x: mvn.logpdf(x, mean, cov))(x)
    np.testing.assert_allclose(gx, -inv @ (x - mean), rtol=1e-10)
    # d/dcov for a symmetric perturbation: (inv d d^T inv - inv) / 2
    gc = gl.grad(lambda c: mvn.logpdf(x, mean, (c + c.T) / 2))(cov)
    d = inv @ (x - mean)
    np.testing.assert_allclose(gc, (np.outer(d, d) - inv) / 2, rtol=1e-9, atol=1e-12)


def test_convolve_full_gradient_is_sum_of_other_input():
    a, b = RNG.normal(size=5), RNG.normal(size=3)
    ga, gb = gl.grad(lambda a, b: np.sum(ss.convolve(a, b)), argnum=(0, 1))(a, b)
    np.testing.assert_allclose(ga, np.full(5, b.sum()))
    np.testing.assert_allclose(gb, np.full(3, a.sum()))


# --- check_grads and values over the call forms ----------------------------------------


def _mvn_logpdf(x, mean, cov):
    return st.multivariate_normal.logpdf(x, mean, cov)


def _mvn_diag(x):
    return st.multivariate_normal.logpdf(x, np.zeros(2), np.array([1.5, 0.7]))


def _mvn_scalar(x):
    return st.multivariate_normal.logpdf(x, 0.5, 2.0)


def _lse_b(x, b):
    return sc.logsumexp(x, axis=(0, 1), b=b, keepdims=True)


def _lse_sign(x):
    return sc.logsumexp(x, axis=0, return_sign=True)[0]


_COV = RNG.normal(size=(3, 3))
_COV = _COV @ _COV.T + 3 * np.eye(3)
CASES = {
    "gammaln": (sc.gammaln, (X,), {}),
    "polygamma": (sc.polygamma, (np.array([0, 1, 2, 1]), X), {}),
    "betaln": (sc.betaln, (X, X[::-1]), {}),
    "erfc": (sc.erfc, (X - 1,), {}),
    "erfcinv": (sc.erfcinv, (X / 3,), {}),
    "xlogy": (sc.xlogy, (X - 1, X), {}),
    "i1e": (sc.i1e, (X - 1.5,), {}),
    "log_ndtr": (sc.log_ndtr, (X - 3,), {}),
    "logsumexp_axis": (sc.logsumexp, (RNG.normal(size=(3, 4)),), {"axis": 1}),
    "logsumexp_b": (_lse_b, (RNG.normal(size=(3, 4)), RNG.uniform(1, 2, size=4)), {}),
    "logsumexp_sign": (_lse_sign, (RNG.normal(size=(3, 2)),), {}),
    "softmax": (sc.softmax, (RNG.normal(size=(3, 4)),), {"axis": 0}),
    "log_softmax": (sc.log_softmax, (RNG.normal(size=(2, 3)),), {}),
    "norm_logpdf": (st.norm.logpdf, (X, 0.3, 1.5), {}),
    "norm_cdf": (st.norm.cdf, (X,), {"loc": 1.0, "scale": 0.5}),
    "norm_logcdf": (st.norm.logcdf, (X - 2, 0.1, 0.9), {}),
    "norm_sf": (st.norm.logsf, (X,), {}),
    "mvn": (_mvn_logpdf, (RNG.normal(size=(4, 3)), RNG.normal(size=3), _COV), {}),
    "mvn_diag": (_mvn_diag, (RNG.normal(size=2),), {}),
    "mvn_scalar": (_mvn_scalar, (RNG.normal(size=5),), {}),
    "convolve_same": (ss.convolve, (RNG.normal(size=7), RNG.normal(size=3)), {"mode": "same"}),
    "convolve_valid_swap": (ss.convolve, (RNG.normal(size=3), RNG.normal(size=6)),
                            {"mode": "valid"}),
    "convolve_2d_fft": (ss.convolve, (RNG.normal(size=(4, 5)), RNG.normal(size=(3, 2))),
                        {"mode": "same", "method": "fft"}),
    "convolve2d_valid": (ss.convolve2d, (RNG.normal(size=(4, 5)), RNG.normal(size=(2, 3))),
                         {"mode": "valid"}),
    "fftconvolve": (ss.fftconvolve, (RNG.normal(size=(3, 4)), RNG.normal(size=(2, 2))), {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_check_grads_order_two(name):
    fn, args, kwargs = CASES[name]
    gl.check_grads(lambda *a: fn(*a, **kwargs), *args, order=2)


@pytest.mark.parametrize("name", list(CASES))
def test_values_under_tracing_match_scipy(name):
    fn, args, kwargs = CASES[name]
    tangents = tuple(np.zeros(np.shape(a)) for a in args)
    want = fn(*args, **kwargs)
    got = gl.jvp(lambda *a: fn(*a, **kwargs), args, tangents)[0]
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_float32_stays_float32():
    x = X.astype(np.float32)
    for fn in (sc.gammaln, sc.erf, sc.expit, lambda x: sc.polygamma(1, x), sc.log_ndtr):
        assert gl.elementwise_grad(fn)(x).dtype == np.float32


@pytest.mark.parametrize("batched", [(0, None), (None, 0), (0, 0)])
def test_vmap_of_convolve_matches_a_loop(batched):
    a, b = RNG.normal(size=(3, 4, 5)), RNG.normal(size=(3, 2, 2))
    aa = a if batched[0] == 0 else a[0]
    bb = b if batched[1] == 0 else b[0]
    for mode in ("full", "same", "valid"):
        out = gl.vmap(lambda a, b, mode=mode: ss.convolve(a, b, mode=mode),
                      in_axes=batched)(aa, bb)
        ref = [ss.convolve(aa[i] if batched[0] == 0 else aa, bb[i] if batched[1] == 0 else bb,
                           mode=mode) for i in range(3)]
        np.testing.assert_allclose(out, np.stack(ref), atol=1e-12)


# --- errors ----------------------------------------------------------------------------


def test_convolve_errors_match_scipys():
    with pytest.raises(ValueError, match="same dimensionality"):
        gl.grad(lambda a: np.sum(ss.convolve(a, np.ones((2, 2)))))(np.ones(3))
    with pytest.raises(ValueError, match="at least as large as the other"):
        gl.grad(lambda a: np.sum(ss.convolve(a, np.ones((1, 4)), mode="valid")))(np.ones((3, 2)))
    with pytest.raises(NotImplementedError, match="boundary='fill'"):
        gl.grad(lambda a: np.sum(ss.convolve2d(a, np.ones((2, 2)), boundary="wrap")))(
            np.ones((3, 3)))


def test_unsupported_scipy_function_raises_no_rule_error():
    with pytest.raises(gl.NoRuleError, match="zeta"):
        gl.grad(lambda x: sc.zeta(x, 1.0))(2.5)


# --- import behaviour ----------------------------------------------------------------

_SCRIPT_LAZY = """
import sys
import numpy as np
import gradlab as gl
assert "scipy" not in sys.modules, "import gradlab must not import scipy"
import scipy.special as sc
def f(x):
    return sc.gammaln(x)
g = gl.grad(f)(3.0)
assert abs(float(g) - float(sc.digamma(3.0))) < 1e-12, g
assert "gradlab.scipy.special" in sys.modules
# scipy.special's rules alone: scipy.stats and scipy.signal (~1 s to import) stay out
assert "scipy.stats" not in sys.modules and "scipy.signal" not in sys.modules
assert "gradlab.scipy.stats" not in sys.modules
print("ok")
"""

_SCRIPT_LAZY_UFUNC = """
import sys
import gradlab as gl
import scipy.special as sc
exec("def f(x):\\n    return sc.expit(x)\\n")  # no source: reaches the ufunc protocol
assert float(gl.grad(f)(0.0)) == 0.25
assert "gradlab.scipy" in sys.modules
print("ok")
"""

_SCRIPT_NO_SCIPY = """
import sys
sys.modules["scipy"] = None  # as if scipy were not installed
import numpy as np
import gradlab as gl
def f(x):
    return np.sum(np.linalg.inv(x))
g = gl.grad(f)(np.eye(2) * 2.0)
assert np.allclose(g, -np.full((2, 2), 0.25)), g
print("ok")
"""


@pytest.mark.parametrize("script", [_SCRIPT_LAZY, _SCRIPT_LAZY_UFUNC, _SCRIPT_NO_SCIPY],
                         ids=["lazy", "lazy_ufunc", "no_scipy"])
def test_import_behaviour_in_a_fresh_interpreter(tmp_path, script):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
