"""Layers kept in an OrderedDict (a JAX-registered pytree) and a NamedTuple of optimiser-style
state, the way Haiku/Flax-era JAX programs store parameters."""

from collections import OrderedDict
from typing import NamedTuple

import numpy as np


class Norm(NamedTuple):
    scale: np.ndarray
    shift: np.ndarray


def init(rs, sizes):
    layers = OrderedDict()
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers[f"dense_{i}"] = {"w": rs.randn(m, n) / np.sqrt(m), "b": np.zeros(n)}
    return layers, Norm(np.ones(sizes[-1]), np.zeros(sizes[-1]))


def apply(params, x):
    layers, norm = params
    for layer in layers.values():
        x = np.tanh(x @ layer["w"] + layer["b"])
    centred = x - x.mean(axis=0)
    return norm.scale * centred / np.sqrt(centred.var(axis=0) + 1e-3) + norm.shift


def loss(params, x, y):
    return np.mean((apply(params, x) - y) ** 2)


def setup():
    rs = np.random.RandomState(26)
    params = init(rs, [3, 5, 2])
    params[0]["dense_0"]["b"] = 0.1 * rs.randn(5)
    return params, (rs.randn(9, 3), rs.randn(9, 2))
