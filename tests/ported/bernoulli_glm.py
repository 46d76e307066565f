"""A JAX-style Bayesian logistic regression: scipy.stats.bernoulli.logpmf and norm.logpdf."""

import numpy as np
from scipy.special import expit
from scipy.stats import bernoulli, norm


def log_joint(params, X, y):
    w, b = params["w"], params["b"]
    p = expit(X @ w + b)
    log_prior = np.sum(norm.logpdf(w, 0.0, 1.0)) + norm.logpdf(b, 0.0, 10.0)
    return log_prior + np.sum(bernoulli.logpmf(y, p))


def loss(params, X, y):
    return -log_joint(params, X, y) / len(y)


def setup():
    rs = np.random.RandomState(24)
    X = rs.randn(12, 3)
    y = (X @ np.array([1.0, -1.0, 0.5]) + 0.3 * rs.randn(12) > 0).astype(int)
    return {"w": 0.1 * rs.randn(3), "b": np.array(0.2)}, (X, y)
