"""GP regression: hyperparameters in one flat vector, RBF kernel by broadcasting, mvn.logpdf."""

import numpy as np
from scipy.stats import multivariate_normal as mvn


def unpack_kernel_params(params):
    mean = params[0]
    noise_scale = np.exp(params[1]) + 0.0001
    return mean, noise_scale, params[2:]


def rbf_covariance(kernel_params, x, xp):
    output_scale = np.exp(kernel_params[0])
    lengthscales = np.exp(kernel_params[1:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))


def log_marginal_likelihood(params, x, y):
    mean, noise_scale, cov_params = unpack_kernel_params(params)
    cov_y_y = rbf_covariance(cov_params, x, x) + noise_scale * np.eye(len(y))
    prior_mean = mean * np.ones(len(y))
    return mvn.logpdf(y, prior_mean, cov_y_y)


def loss(params, x, y):
    return -log_marginal_likelihood(params, x, y)


def setup():
    x = np.linspace(-2.0, 2.0, 8).reshape(-1, 1)
    y = np.cos(x[:, 0]) + 0.1 * np.sin(7 * x[:, 0])
    return np.array([0.1, -1.0, 0.2, -0.3]), (x, y)
