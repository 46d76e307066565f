"""Two stacked GP layers: cholesky, solve, slogdet and the predictive mean of each layer."""

import numpy as np


def kernel(x, xp, log_ls, log_var):
    d = (x[:, None, :] - xp[None, :, :]) / np.exp(log_ls)
    return np.exp(log_var) * np.exp(-0.5 * np.sum(d ** 2, axis=-1))


def gp_layer(params, inducing_x, inducing_y, x):
    log_ls, log_var, log_noise = params
    jitter = np.exp(log_noise) * np.eye(len(inducing_x))
    K = kernel(inducing_x, inducing_x, log_ls, log_var) + jitter
    Ks = kernel(x, inducing_x, log_ls, log_var)
    return Ks @ np.linalg.solve(K, inducing_y)


def gp_nll(params, x, y):
    log_ls, log_var, log_noise = params
    K = kernel(x, x, log_ls, log_var) + np.exp(log_noise) * np.eye(len(x))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    sign, logdet = np.linalg.slogdet(K)
    return 0.5 * np.dot(y, alpha) + 0.5 * logdet


def loss(params, x, y):
    layer1, inducing_y, layer2 = params
    inducing_x = np.linspace(-2, 2, 4)[:, None]
    hidden = gp_layer(layer1, inducing_x, inducing_y, x)
    return gp_nll(layer2, hidden, y)


def setup():
    rs = np.random.RandomState(11)
    x = np.linspace(-2, 2, 7)[:, None]
    y = np.sin(2 * x[:, 0])
    params = (np.array([0.1, 0.0, -2.0]), rs.randn(4, 1), np.array([-0.2, 0.1, -1.5]))
    return params, (x, y)
