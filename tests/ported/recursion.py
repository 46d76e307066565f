"""Recursive programs: Horner's rule and a balanced binary-tree product."""

import numpy as np


def horner(coeffs, x):
    if len(coeffs) == 1:
        return coeffs[0]
    return coeffs[0] + x * horner(coeffs[1:], x)


def tree_product(mats):
    if len(mats) == 1:
        return mats[0]
    mid = len(mats) // 2
    return tree_product(mats[:mid]) @ tree_product(mats[mid:])


def loss(params, xs):
    coeffs, mats = params
    poly = np.sum(horner(coeffs, xs) ** 2)
    prod = tree_product([np.eye(2) + 0.3 * m for m in mats])
    return poly / len(xs) + np.trace(prod)


def setup():
    rs = np.random.RandomState(15)
    return (rs.randn(4), [rs.randn(2, 2) for _ in range(5)]), (np.linspace(-1, 1, 5),)
