"""A user-defined gradient (autograd's define_gradient.py), via custom_vjp."""

import numpy as np

from gradlab import custom_vjp


@custom_vjp
def logsumexp(x):
    max_x = np.max(x)
    return max_x + np.log(np.sum(np.exp(x - max_x)))


def logsumexp_fwd(x):
    ans = logsumexp(x)
    return ans, (ans, x)


def logsumexp_bwd(res, g):
    ans, x = res
    return (np.full(x.shape, g) * np.exp(x - np.full(x.shape, ans)),)


logsumexp.defvjp(logsumexp_fwd, logsumexp_bwd)


def example_func(y):
    z = y ** 2
    lse = logsumexp(z)
    return np.sum(lse)


def loss(x):
    return example_func(x) + logsumexp(np.sin(x) * 3.0)


def setup():
    return np.array([1.5, 6.7, 1e-10, -0.4]), ()
