"""Student-t regression and a Poisson GLM: log1p, gammaln (also of the counts), np.maximum."""

import math

import numpy as np
from scipy.special import gammaln


def student_t_logpdf(r, nu, scale):
    return (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * math.pi)
            - np.log(scale) - (nu + 1) / 2 * np.log1p((r / scale) ** 2 / nu))


def loss(params, X, y, counts):
    w, log_scale, log_nu, v = params
    resid = y - X @ w
    t_ll = np.sum(student_t_logpdf(resid, np.exp(log_nu) + 1.0, np.exp(log_scale)))
    rate = np.maximum(np.exp(X @ v), 1e-8)
    pois_ll = np.sum(counts * np.log(rate) - rate - gammaln(counts + 1))
    return -(t_ll + pois_ll) / len(y)


def setup():
    rs = np.random.RandomState(20)
    X = np.hstack([rs.randn(10, 2), np.ones((10, 1))])
    y = X @ np.array([0.5, -1.0, 0.2]) + rs.standard_t(3, size=10) * 0.3
    counts = rs.poisson(2.0, size=10)
    params = (np.zeros(3), np.array(-0.5), np.array(0.7), 0.1 * rs.randn(3))
    return params, (X, y, counts)
