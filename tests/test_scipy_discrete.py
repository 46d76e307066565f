"""scipy.stats bernoulli, binom, nbinom, geom and multinomial: SciPy's values (to 1e-12,
-inf off the support, NaN for invalid parameters) and derivatives in the parameters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from scipy.special import digamma

import gradlab as gl
from gradlab.scipy import discrete

METHODS = ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf")
K = np.array([-2, -1, 0, 1, 2, 3, 4, 5, 7, 12, 30, 1.5])  # off-support and non-integer too
PARAMETERS = {"bernoulli": [(0.3,), (0.0,), (1.0,), (1.2,)],
              "binom": [(5, 0.3), (12, 0.9), (0, 0.5), (4, -0.1), (2.5, 0.5)],
              "nbinom": [(2.5, 0.3), (7, 0.95), (0.4, 0.05), (-1.0, 0.5)],
              "geom": [(0.3,), (0.999,), (1.0,), (0.0,)]}


def _gradlab(dist, method):
    """gradlab's function for ``scipy.stats.<dist>.<method>`` (run here without a transform)."""
    return discrete.discrete_method(dist, method, *discrete.DISCRETE[dist])


@pytest.mark.parametrize("dist", sorted(PARAMETERS))
@pytest.mark.parametrize("method", METHODS)
def test_values_equal_scipys(dist, method):
    fn = _gradlab(dist, method)
    for params in PARAMETERS[dist]:
        for loc in (0, 1):
            with np.errstate(all="ignore"):
                want = getattr(getattr(st, dist), method)(K, *params, loc=loc)
                got = np.asarray(fn(K, *params, loc=loc))
            if method == "logcdf" and np.isnan(want).all() != np.isnan(got).all():
                # SciPy's logcdf alone gives 0 above the support for invalid parameters
                # (its cdf gives NaN there): gradlab gives NaN throughout.
                assert np.isnan(got).all()
                continue
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300,
                                       err_msg=f"{dist}{params}.{method}")


def test_values_through_the_transform_are_gradlabs_and_scipys():
    k = np.array([0, 1, 3, 8, -1])
    value, g = gl.value_and_grad(lambda p: np.sum(st.binom.logpmf(k[:4], 8, p)))(0.4)
    assert value == pytest.approx(np.sum(st.binom.logpmf(k[:4], 8, 0.4)), rel=1e-14)
    assert g == pytest.approx(np.sum(k[:4] / 0.4 - (8 - k[:4]) / 0.6), rel=1e-13)
    out = gl.vmap(lambda p: st.geom.logpmf(k, p))(np.array([0.2, 0.7]))
    np.testing.assert_allclose(out, st.geom.logpmf(k, np.array([[0.2], [0.7]])), rtol=1e-14)
    assert np.isneginf(out[:, [0, 4]]).all()


def test_mass_derivatives_match_closed_forms():
    k = np.array([0, 1, 1, 0, 1])
    g = gl.grad(lambda p: np.sum(st.bernoulli.logpmf(k, p)))(np.full(5, 0.3))
    np.testing.assert_allclose(g, np.where(k == 1, 1 / 0.3, -1 / 0.7), rtol=1e-14)
    g = gl.grad(lambda p: st.geom.logpmf(4, p))(0.25)  # 3 log(1-p) + log p
    assert g == pytest.approx(-3 / 0.75 + 1 / 0.25, rel=1e-14)
    n, p, j = 2.5, 0.3, 3.0  # nbinom: d/dn = psi(n + k) - psi(n) + log p
    gn, gp = gl.grad(lambda n, p: st.nbinom.logpmf(j, n, p), argnum=(0, 1))(n, p)
    assert gn == pytest.approx(digamma(n + j) - digamma(n) + np.log(p), rel=1e-13)
    assert gp == pytest.approx(n / p - j / (1 - p), rel=1e-13)


def test_cdf_derivatives_match_closed_forms():
    # d/dp P(X <= k) for X ~ Binomial(n, p) is -n pmf(k; n - 1, p)
    g = gl.grad(lambda p: st.binom.cdf(3, 8, p))(0.4)
    assert g == pytest.approx(-8 * st.binom.pmf(3, 7, 0.4), rel=1e-10)
    g = gl.grad(lambda p: st.geom.sf(3, p))(0.2)  # (1 - p)^3
    assert g == pytest.approx(-3 * 0.8 ** 2, rel=1e-13)
    g = gl.grad(lambda p: st.bernoulli.cdf(0, p))(0.2)
    assert g == -1.0


@pytest.mark.parametrize("dist,args", [
    ("bernoulli", (np.array([0, 1, 1]), np.array([0.2, 0.5, 0.9]))),
    ("binom", (np.array([0, 2, 5]), 6, np.array([0.2, 0.5, 0.9]))),
    ("nbinom", (np.array([0, 2, 5]), np.array([0.7, 2.0, 3.5]), np.array([0.2, 0.5, 0.9]))),
    ("geom", (np.array([1, 2, 5]), np.array([0.2, 0.5, 0.9])))])
def test_derivatives_match_finite_differences_to_second_order(dist, args):
    k, *params = args
    for method in ("logpmf", "pmf", "cdf", "sf" if dist == "bernoulli" else "logsf"):
        fn = getattr(getattr(st, dist), method)  # (bernoulli's logsf is log 0 at k = 1)
        if method in ("cdf", "logsf") and dist == "nbinom":  # not in n: see the next test
            gl.check_grads(lambda p, fn=fn: fn(k, params[0], p), params[1],
                           modes=("fwd", "rev"), order=2)
        else:
            gl.check_grads(lambda *ps, fn=fn: fn(k, *ps), *params, modes=("fwd", "rev"),
                           order=2)


def test_a_traced_shape_parameter_of_an_incomplete_beta_cdf_is_refused():
    with pytest.raises(gl.NoRuleError, match="betainc"):
        gl.grad(lambda n: st.nbinom.cdf(2, n, 0.4))(2.5)


def test_frozen_distributions():
    g = gl.grad(lambda p: st.bernoulli(p).logpmf(1) + st.binom(4, p, loc=1).logpmf(3))(0.25)
    assert g == pytest.approx(1 / 0.25 + 2 / 0.25 - 2 / 0.75, rel=1e-13)
    g = gl.grad(lambda p: st.nbinom(3.0, p).cdf(2))(0.5)
    assert g == pytest.approx(st.nbinom.pmf(2, 3.0, 0.5) * (3.0 + 2) / 0.5, rel=1e-10)

    def scaled(w):  # a frozen distribution with constant parameters, traced use
        return w * st.geom(0.3).logpmf(np.array([1, 2])) + st.geom(0.3).logcdf(w * 0 + 2.0)

    np.testing.assert_allclose(gl.elementwise_grad(scaled)(np.ones(2)),
                               st.geom.logpmf([1, 2], 0.3), rtol=1e-14)


def test_multinomial_values_gradients_and_frozen_form():
    p = np.array([0.2, 0.3, 0.5])
    x = np.array([[1, 1, 2], [0, 4, 0], [1, 1, 1], [-1, 3, 2], [2, 1.5, 0.5]])
    got = np.asarray(discrete.multinomial_logpmf(x, 4, p))
    np.testing.assert_allclose(got, st.multinomial.logpmf(x, 4, p), rtol=1e-12)
    assert np.isneginf(got[2:]).all()
    assert np.isnan(discrete.multinomial_logpmf(x[0], 4, np.array([-0.1, 0.6, 0.5])))
    g = gl.grad(lambda q: np.sum(st.multinomial.logpmf(x[:2], 4, q)))(p)
    np.testing.assert_allclose(g, (x[0] + x[1]) / p, rtol=1e-14)
    g = gl.grad(lambda q: st.multinomial(4, q).pmf(x[0]))(p)
    np.testing.assert_allclose(g, st.multinomial.pmf(x[0], 4, p) * x[0] / p, rtol=1e-13)
    # (finite differences of gradlab's function: SciPy's own re-normalises p off the simplex)
    gl.check_grads(lambda q: discrete.multinomial_logpmf(x[:2], 4, q), p,
                   modes=("fwd", "rev"), order=2)
    with pytest.raises(ValueError, match="Size of each quantile should be size of p: "
                                         "received 2, but expected 3"):
        gl.grad(lambda q: st.multinomial.logpmf([1, 1], 2, q))(p)
