"""GP regression the JAX-tutorial way: scipy.linalg's cho_factor/cho_solve, solve_triangular."""

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular


def rbf(X1, X2, log_ls, log_amp):
    sq = np.sum((X1[:, None, :] - X2[None, :, :]) ** 2, axis=-1)
    return np.exp(2 * log_amp) * np.exp(-0.5 * sq / np.exp(2 * log_ls))


def neg_log_marginal(params, X, y):
    log_ls, log_amp, log_noise = params
    K = rbf(X, X, log_ls, log_amp) + (np.exp(2 * log_noise) + 1e-6) * np.eye(len(X))
    factor = cho_factor(K, lower=True)
    alpha = cho_solve(factor, y)
    L = factor[0]
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * len(y) * np.log(2 * np.pi)


def predictive_variance(params, X, Xs):
    log_ls, log_amp, log_noise = params
    K = rbf(X, X, log_ls, log_amp) + np.exp(2 * log_noise) * np.eye(len(X))
    L = np.linalg.cholesky(K)
    v = solve_triangular(L, rbf(X, Xs, log_ls, log_amp), lower=True)
    return np.exp(2 * log_amp) - np.sum(v ** 2, axis=0)


def loss(params, X, y, Xs):
    return neg_log_marginal(params, X, y) + np.mean(predictive_variance(params, X, Xs))


def setup():
    X = np.linspace(-1.5, 1.5, 7)[:, None]
    y = np.sin(2 * X[:, 0]) + 0.05 * np.cos(9 * X[:, 0])
    return np.array([-0.3, 0.1, -1.5]), (X, y, np.linspace(-2, 2, 4)[:, None])
