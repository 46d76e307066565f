"""A linear-Gaussian state-space model's log-likelihood by the Kalman filter (frozen mvn)."""

import numpy as np
from scipy.stats import multivariate_normal


def unpack(params):
    log_q, log_r, a = params
    A = np.array([[1.0, 1.0], [0.0, 1.0]]) * np.array([[1.0, 1.0], [1.0, a]])
    return A, np.exp(log_q) * np.eye(2), np.exp(log_r)


def kalman_log_likelihood(params, ys):
    A, Q, r = unpack(params)
    H = np.array([[1.0, 0.0]])
    mean, cov = np.zeros(2), np.eye(2)
    total = 0.0
    for y in ys:
        mean, cov = A @ mean, A @ cov @ A.T + Q
        S = H @ cov @ H.T + r
        total = total + multivariate_normal(H @ mean, S).logpdf(y)
        gain = cov @ H.T @ np.linalg.inv(S)
        mean = mean + gain @ (y - H @ mean)
        cov = (np.eye(2) - gain @ H) @ cov
    return total


def loss(params, ys):
    return -kalman_log_likelihood(params, ys)


def setup():
    ts = np.arange(8.0)
    ys = (0.5 * ts + 0.3 * np.sin(ts)).reshape(-1, 1)
    return np.array([-1.0, -0.5, 0.9]), (ys,)
