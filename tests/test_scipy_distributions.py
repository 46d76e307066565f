"""scipy.stats distributions beyond the normal, and the special functions behind them."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

st = pytest.importorskip("scipy.stats")
sc = pytest.importorskip("scipy.special")

RNG = np.random.default_rng(7)


def _fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


@pytest.mark.parametrize("dist,shapes", [("t", (3.5,)), ("chi2", (2.5,)), ("gamma", (2.2,)),
                                         ("beta", (2.0, 3.0)), ("logistic", ()),
                                         ("expon", ()), ("laplace", ())])
def test_log_density_gradients_in_every_parameter(dist, shapes):
    gen = getattr(st, dist)
    x = 0.4 if dist == "beta" else 1.3
    params = (x, *shapes, 0.1, 0.9)  # x, shapes, loc, scale

    def logpdf(*p):
        return gen.logpdf(*p)

    grads = gl.grad(logpdf, argnum=tuple(range(len(params))))(*params)
    for i, g in enumerate(grads):
        def along(v, i=i):
            p = list(params)
            p[i] = v
            return gen.logpdf(*p)
        assert float(g) == pytest.approx(_fd(along, params[i]), rel=1e-6, abs=1e-8), i


@pytest.mark.parametrize("dist,shapes", [("t", (3,)), ("chi2", (3,)), ("gamma", (2,)),
                                         ("beta", (2, 3)), ("logistic", ()), ("expon", ()),
                                         ("laplace", ())])
def test_cdf_derivative_in_x_is_the_density(dist, shapes):
    gen = getattr(st, dist)
    x = np.array([0.2, 0.45, 0.7]) if dist == "beta" else np.array([0.3, 1.1, 2.4])
    g = gl.elementwise_grad(lambda x: gen.cdf(x, *shapes, loc=0.05, scale=1.2))(x)
    np.testing.assert_allclose(g, gen.pdf(x, *shapes, loc=0.05, scale=1.2), rtol=1e-10)
    gs = gl.elementwise_grad(lambda x: gen.logsf(x, *shapes, loc=0.05, scale=1.2))(x)
    np.testing.assert_allclose(gs, -gen.pdf(x, *shapes, loc=0.05, scale=1.2)
                               / gen.sf(x, *shapes, loc=0.05, scale=1.2), rtol=1e-8)


def test_values_outside_the_support_match_scipy():
    x = np.array([-1.0, 0.0, 0.5, 2.0])
    for dist, shapes in (("expon", ()), ("gamma", (2.0,)), ("beta", (2.0, 2.0)),
                         ("chi2", (3.0,))):
        fn = getattr(st, dist)
        for method in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"):
            def f(x, method=method, fn=fn, shapes=shapes):
                return getattr(fn, method)(x, *shapes)

            with np.errstate(all="ignore"):
                value, g = gl.vjp(f, x)
                want = f(x)
            np.testing.assert_allclose(value, want, err_msg=f"{dist}.{method}")
            # outside the support (x = -1, and x = 2 for beta) the derivative is 0
            with np.errstate(all="ignore"):  # log(0) at the support's edge, x = 0
                assert back_at(g, 0) == 0.0, (dist, method)


def back_at(back, i):
    ct = np.zeros(4)
    ct[i] = 1.0
    return float(back(ct)[0][0])


def test_shape_parameter_of_a_cdf_raises_naming_it():
    with pytest.raises(gl.NoRuleError, match=r"scipy.special.stdtr has no derivative in its "
                                             r"parameter 'df'"):
        gl.grad(lambda df: st.t.cdf(0.3, df))(3.0)
    with pytest.raises(gl.NoRuleError, match=r"gammainc has no derivative in its parameter 'a'"):
        gl.grad(lambda a: st.gamma.cdf(1.0, a))(2.0)
    with pytest.raises(gl.NoRuleError, match=r"betainc has no derivative in its parameter 'b'"):
        gl.grad(lambda b: sc.betainc(2.0, b, 0.5))(2.0)
    # a constant shape parameter is fine
    assert float(gl.grad(lambda x: st.gamma.cdf(x, 2.0))(1.0)) == pytest.approx(
        st.gamma.pdf(1.0, 2.0))


def test_poisson_gradient_in_the_rate():
    k = np.array([0, 2, 5])
    g = gl.grad(lambda mu: np.sum(st.poisson.logpmf(k, mu)))(2.5)
    assert float(g) == pytest.approx(np.sum(k / 2.5 - 1.0))
    gc = gl.grad(lambda mu: st.poisson.cdf(3, mu))(2.5)  # d/dmu P(N <= 3) = -pmf(3)
    assert float(gc) == pytest.approx(-st.poisson.pmf(3, 2.5))
    assert float(gl.grad(lambda mu: st.poisson(mu).pmf(3))(2.5)) == pytest.approx(
        st.poisson.pmf(3, 2.5) * (3 / 2.5 - 1))


def test_dirichlet_gradients_in_x_and_alpha():
    x = np.array([0.2, 0.3, 0.5])
    alpha = np.array([2.0, 3.0, 1.5])
    gx, ga = gl.grad(st.dirichlet.logpdf, argnum=(0, 1))(x, alpha)
    np.testing.assert_allclose(gx, (alpha - 1) / x)
    np.testing.assert_allclose(ga, np.log(x) + sc.digamma(alpha.sum()) - sc.digamma(alpha))
    frozen = gl.grad(lambda x: st.dirichlet(alpha).logpdf(x))(x)
    np.testing.assert_allclose(frozen, (alpha - 1) / x)


def test_frozen_distributions_with_traced_and_constant_parameters():
    g = gl.grad(lambda df: st.t(df, loc=0.2).logpdf(1.0))(4.0)
    assert float(g) == pytest.approx(_fd(lambda d: st.t.logpdf(1.0, d, loc=0.2), 4.0), rel=1e-6)
    g = gl.grad(lambda x: st.laplace(0.5, 2.0).logcdf(x))(0.1)
    assert float(g) == pytest.approx(_fd(lambda x: st.laplace.logcdf(x, 0.5, 2.0), 0.1))


def test_special_functions_against_recurrences():
    x = np.array([0.7, 1.4, 2.9])
    np.testing.assert_allclose(gl.elementwise_grad(lambda x: sc.jv(2, x))(x),
                               0.5 * (sc.jv(1, x) - sc.jv(3, x)))
    np.testing.assert_allclose(gl.elementwise_grad(lambda x: sc.yn(1, x))(x),
                               sc.y0(x) - sc.y1(x) / x)
    np.testing.assert_allclose(gl.elementwise_grad(lambda x: sc.ive(1.5, x))(x),
                               _fd(lambda x: sc.ive(1.5, x), x), rtol=1e-7)
    np.testing.assert_allclose(gl.elementwise_grad(sc.rgamma)(x), _fd(sc.rgamma, x), rtol=1e-7)
    np.testing.assert_allclose(gl.grad(lambda a: np.sum(sc.beta(a, 2.0)))(x),
                               _fd(lambda a: sc.beta(a, 2.0), x), rtol=1e-7)
    with pytest.raises(gl.NoRuleError, match=r"jv has no derivative in its parameter 'v'"):
        gl.grad(lambda v: sc.jv(v, 1.0))(1.0)
