"""Repeated elementwise derivatives of tanh (autograd's tanh.py), reduced to a scalar."""

import numpy as np

from gradlab import elementwise_grad as egrad


def tanh(x):
    return (1.0 - np.exp(-2 * x)) / (1.0 + np.exp(-2 * x))


def loss(x):
    d1 = egrad(tanh)
    d2 = egrad(d1)
    d3 = egrad(d2)
    return np.sum(tanh(x) + d1(x) + d2(x) + d3(x) ** 2)


def setup():
    return np.linspace(-2.0, 2.0, 7), ()
