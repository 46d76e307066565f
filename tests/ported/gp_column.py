"""GP evidence written with column vectors: y.T @ inv(K) @ y is a (1, 1) array, the loss too."""

import numpy as np


def sq_exp(X, lengthscale, variance):
    sq = np.sum(X ** 2, 1).reshape(-1, 1) + np.sum(X ** 2, 1) - 2 * np.dot(X, X.T)
    return variance * np.exp(-0.5 * sq / lengthscale ** 2)


def loss(params, X, y):
    lengthscale, variance, noise = np.exp(params)
    K = sq_exp(X, lengthscale, variance) + noise * np.eye(X.shape[0])
    Kinv = np.linalg.inv(K)
    sign, logdet = np.linalg.slogdet(K)
    return 0.5 * np.dot(np.dot(y.T, Kinv), y) + 0.5 * logdet


def setup():
    X = np.linspace(0, 3, 6).reshape(-1, 1)
    y = np.sin(2 * X)
    return np.array([-0.2, 0.1, -2.0]), (X, y)
