"""A user module in another file: gradlab must instrument helpers found here on demand."""

import functools
import math

import numpy as np


def softplus(x):
    return np.log1p(np.exp(x))


def scaled_sin(x, scale=2.0):
    return scale * np.sin(x)


def log_decorator(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


@log_decorator
def decorated_cube(x):
    return np.power(x, 3.0)


def math_scalar(x):
    return math.exp(x) + math.sin(x)


class Layer:
    def __init__(self, w):
        self.w = w
        self.__secret = 2.0

    def __call__(self, x):
        return np.tanh(x * self.w) * self.__secret

    def forward(self, x):
        return self(x) + self.shift(x) + Layer.square(x)

    def shift(self, x):
        return np.exp(x) - 1.0

    @staticmethod
    def square(x):
        return np.square(x)

    @classmethod
    def make(cls, x):
        return cls(np.cos(x))


class Child(Layer):
    def forward(self, x):
        return super().forward(x) * 2.0
