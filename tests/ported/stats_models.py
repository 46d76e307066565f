"""Likelihoods from scipy.stats beyond the normal: t, gamma, beta, poisson."""

import numpy as np
from scipy.stats import beta, gamma, poisson, t


def loss(params, resid, waits, fracs, counts):
    log_df, log_shape, log_a, log_b, log_rate = params
    ll = np.sum(t.logpdf(resid, np.exp(log_df)))
    ll = ll + np.sum(gamma.logpdf(waits, np.exp(log_shape)))
    ll = ll + np.sum(beta.logpdf(fracs, np.exp(log_a), np.exp(log_b)))
    ll = ll + np.sum(poisson.logpmf(counts, np.exp(log_rate)))
    return -ll


def setup():
    rs = np.random.RandomState(23)
    params = np.array([1.0, 0.3, 0.2, 0.5, 0.7])
    return params, (rs.standard_t(4, size=6), rs.gamma(2.0, size=6), rs.beta(2, 3, size=6),
                    rs.poisson(2.0, size=6))
