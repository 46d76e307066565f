"""Negative binomial maximum likelihood: gammaln, softplus-constrained parameters."""

import numpy as np
from scipy.special import gammaln


def softplus(x):
    return np.log1p(np.exp(x))


def negbin_loglike(r, p, x):
    return (gammaln(r + x) - gammaln(r) - gammaln(x + 1)
            + x * np.log(p) + r * np.log(1 - p))


def loss(params, data):
    r = softplus(params[0])
    p = 1.0 / (1.0 + np.exp(-params[1]))
    return -np.sum(negbin_loglike(r, p, data)) / len(data)


def setup():
    data = np.array([0, 3, 5, 1, 2, 8, 4, 4, 0, 6])
    return np.array([0.7, 0.2]), (data,)
