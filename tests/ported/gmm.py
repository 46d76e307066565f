"""A Gaussian mixture: per-component Cholesky factors from np.tril, log-weights normalised."""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal as mvn


def unpack_gmm_params(params, D):
    log_proportions, means, chol_factors = params
    chols = [np.tril(c, -1) + np.diag(np.exp(np.diag(c))) for c in chol_factors]
    return log_proportions - logsumexp(log_proportions), means, chols


def gmm_log_likelihood(params, data):
    log_proportions, means, chols = unpack_gmm_params(params, data.shape[1])
    cluster_lls = []
    for log_proportion, mean, chol in zip(log_proportions, means, chols):
        cov = np.dot(chol, chol.T) + 1e-6 * np.eye(len(mean))
        cluster_lls.append(log_proportion + mvn.logpdf(data, mean, cov))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


def loss(params, data):
    return -gmm_log_likelihood(params, data)


def setup():
    rs = np.random.RandomState(8)
    params = (0.1 * rs.randn(2), rs.randn(2, 2), 0.2 * rs.randn(2, 2, 2))
    data = np.concatenate([rs.randn(6, 2) + 1.0, 0.5 * rs.randn(5, 2) - 1.0])
    return params, (data,)
