"""The built-in rules, each with its formula (``g``: cotangent, ``x``: the op's input).

Derivative rules (they replace the op's derivative; see ``registry``):

| rule | ``g'`` |
| --- | --- |
| ``d_relu`` | ``g * (x > 0)`` |
| ``d_linear`` | ``g`` (straight-through) |
| ``rectangular(a=-0.5, b=0.5)`` | ``g * (a < x < b) / (b - a)`` |
| ``triangular(width=1)`` | ``g * max(0, 1 - abs(x) / width) / width`` |
| ``sigmoid_prime(slope=4)`` | ``g * slope * s * (1 - s)``, ``s = sigmoid(slope * x)`` |
| ``atan(alpha=2)`` | ``g * alpha / (2 * (1 + (pi / 2 * alpha * x) ** 2))`` |
| ``fast_sigmoid(slope=25)`` | ``g / (1 + slope * abs(x)) ** 2`` |
| ``full_jam(key)`` | ``g * u``, ``u ~ U[0, 1)`` elementwise |
| ``positive_jam(key)`` | ``g * u * (x >= 0)`` |
| ``rectangular_jam(a=-5, b=5, key)`` | ``g * u * (a <= x <= b)`` |

Cotangent rules (they transform what the op's own derivative sends to an operand):

| rule | ``g'`` |
| --- | --- |
| ``scale(s)`` | ``s * g`` |
| ``clip_norm(max_norm, axis=None)`` | ``g * min(1, max_norm / norm(g, axis))`` |
| ``clip_value(lo, hi)`` | ``clip(g, lo, hi)`` |
| ``noise(sigma, key)`` | ``g + sigma * n``, ``n ~ N(0, 1)`` elementwise |
| ``centralize(axis=None)`` | ``g - mean(g, axis)`` |

The rectangular, triangular, sigmoid and atan surrogates have unit area, like the step's
derivative (a unit impulse); ``fast_sigmoid`` is SuperSpike's (Zenke and Ganguli 2018),
peak 1 at ``x = 0``. The jamming rules multiply the cotangent by uniform noise: they
test what a network learns when the backward pass lies. Random rules need an explicit
``key`` (``gradlab.random.key(seed)``); a scope folds in each op's position, so two ops
get independent draws and a rerun the same ones.

>>> import numpy as np
>>> from gradlab import rules
>>> rules.triangular(width=2.0).apply(np.ones(3), np.array([-1.0, 0.0, 3.0])).tolist()
[0.25, 0.5, 0.0]
"""

from __future__ import annotations

import math

from .. import random as _random
from ..core.shapes import shape_of
from ..ops import elementwise as E
from ..ops import misc as M
from ..ops import reduce as R
from .registry import Rule, RuleError, register


def _zeros_like(g):
    return E.multiply(g, 0.0)


def _need_key(name, key):
    if key is None:
        raise RuleError(f"rule {name!r} draws random numbers and needs an explicit key: "
                        f"rules.use({name!r}, key=gradlab.random.key(seed), ...); the same "
                        "key gives the same draws, so runs are reproducible")
    return key


def _uniform(name, key, g):
    return _random.uniform(_need_key(name, key), shape_of(g), M.dtype_of(g))


def _d_relu(g, x):
    return E.where(x > 0, g, _zeros_like(g))


def _d_linear(g, x):
    return g


def _rectangular(g, x, a, b):
    inside = (x > a) & (x < b)
    return E.where(inside, g / (b - a), _zeros_like(g))


def _triangular(g, x, width):
    return g * (E.maximum(1.0 - E.absolute(x) / width, 0.0) / width)


def _sigmoid_prime(g, x, slope):
    t = E.tanh(0.5 * slope * x)  # sigmoid(z) = (1 + tanh(z / 2)) / 2, stable for any z
    return g * (0.25 * slope * (1.0 - t * t))


def _atan(g, x, alpha):
    z = (0.5 * math.pi) * alpha * x
    return g * (0.5 * alpha / (1.0 + z * z))


def _fast_sigmoid(g, x, slope):
    d = 1.0 + slope * E.absolute(x)
    return g / (d * d)


def _full_jam(g, x, key):
    return g * _uniform("full_jam", key, g)


def _positive_jam(g, x, key):
    u = _uniform("positive_jam", key, g)
    return E.where(x >= 0, g * u, _zeros_like(g))


def _rectangular_jam(g, x, a, b, key):
    u = _uniform("rectangular_jam", key, g)
    return E.where((x >= a) & (x <= b), g * u, _zeros_like(g))


def _scale(g, x, s):
    return g * s


def _clip_norm(g, x, max_norm, axis):
    norm = E.sqrt(R.sum(g * g, axis=axis, keepdims=True))
    return g * (max_norm / E.maximum(norm, max_norm))  # min(1, max_norm / norm), 0-safe


def _clip_value(g, x, lo, hi):
    return E.minimum(E.maximum(g, lo), hi)


def _noise(g, x, sigma, key):
    return g + sigma * _random.normal(_need_key("noise", key), shape_of(g), M.dtype_of(g))


def _centralize(g, x, axis):
    return g - R.mean(g, axis=axis, keepdims=True)


def _declare(name, fn, kind, formula, defaults=None, linear=True, random=False) -> Rule:
    return register(name, Rule(name, fn, kind=kind, defaults=defaults, linear=linear,
                               random=random, formula=formula))


d_relu = _declare("d_relu", _d_relu, "derivative", "g * (x > 0)")
d_linear = _declare("d_linear", _d_linear, "derivative", "g")
rectangular = _declare("rectangular", _rectangular, "derivative",
                       "g * (a < x < b) / (b - a)", {"a": -0.5, "b": 0.5})
triangular = _declare("triangular", _triangular, "derivative",
                      "g * max(0, 1 - |x| / width) / width", {"width": 1.0})
sigmoid_prime = _declare("sigmoid_prime", _sigmoid_prime, "derivative",
                         "g * slope * s * (1 - s), s = sigmoid(slope * x)", {"slope": 4.0})
atan = _declare("atan", _atan, "derivative",
                "g * alpha / (2 * (1 + (pi / 2 * alpha * x)^2))", {"alpha": 2.0})
fast_sigmoid = _declare("fast_sigmoid", _fast_sigmoid, "derivative",
                        "g / (1 + slope * |x|)^2", {"slope": 25.0})
full_jam = _declare("full_jam", _full_jam, "derivative", "g * u, u ~ U[0, 1)",
                    {"key": None}, random=True)
positive_jam = _declare("positive_jam", _positive_jam, "derivative",
                        "g * u * (x >= 0), u ~ U[0, 1)", {"key": None}, random=True)
rectangular_jam = _declare("rectangular_jam", _rectangular_jam, "derivative",
                           "g * u * (a <= x <= b), u ~ U[0, 1)",
                           {"a": -5.0, "b": 5.0, "key": None}, random=True)
scale = _declare("scale", _scale, "cotangent", "s * g", {"s": 1.0})
clip_norm = _declare("clip_norm", _clip_norm, "cotangent",
                     "g * min(1, max_norm / ||g||_axis)", {"max_norm": 1.0, "axis": None},
                     linear=False)
clip_value = _declare("clip_value", _clip_value, "cotangent", "clip(g, lo, hi)",
                      {"lo": -1.0, "hi": 1.0}, linear=False)
noise = _declare("noise", _noise, "cotangent", "g + sigma * n, n ~ N(0, 1)",
                 {"sigma": 1.0, "key": None}, linear=False, random=True)
centralize = _declare("centralize", _centralize, "cotangent", "g - mean(g, axis)",
                      {"axis": None})
