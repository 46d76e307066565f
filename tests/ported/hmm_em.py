"""An HMM's log partition by the forward algorithm; its gradient gives expected counts."""

import numpy as np
from scipy.special import logsumexp


def log_partition_function(natural_params, data):
    if isinstance(data, list):
        return sum(map(lambda x: log_partition_function(natural_params, x), data))
    log_pi, log_A, log_B = natural_params
    log_alpha = log_pi
    for y in data:
        log_alpha = logsumexp(log_alpha[:, None] + log_A, axis=0) + log_B[:, y]
    return logsumexp(log_alpha)


def normalize(a):
    def replace_zeros(a):
        return np.where(a > 0.0, a, 1.0)
    return a / replace_zeros(a.sum(-1, keepdims=True))


def loss(natural_params, data):
    return log_partition_function(natural_params, data)


def setup():
    rs = np.random.RandomState(7)
    pi = normalize(rs.rand(3))
    A = normalize(rs.rand(3, 3))
    B = normalize(rs.rand(3, 4))
    params = (np.log(pi), np.log(A), np.log(B))
    data = [rs.randint(0, 4, size=5), rs.randint(0, 4, size=4)]
    return params, (data,)
