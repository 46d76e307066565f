"""A JAX-style pairwise-potential energy: ``energies = jnp.zeros(n)`` then ``energies += ...``
in a loop (jnp arrays are immutable, so += rebinds; after porting they are ndarrays)."""

import numpy as np


def lennard_jones(r2, sigma=1.0, eps=1.0):
    s6 = (sigma ** 2 / r2) ** 3
    return 4 * eps * (s6 ** 2 - s6)


def total_energy(positions):
    n = positions.shape[0]
    energies = np.zeros(n)
    for i in range(n):
        diffs = positions - positions[i]
        r2 = np.sum(diffs ** 2, axis=1) + np.eye(n)[i]  # skip self: r2 = 1 there
        pair = np.where(np.arange(n) == i, 0.0, lennard_jones(r2))
        energies += 0.5 * pair
    return np.sum(energies)


def loss(positions):
    return total_energy(positions)


def setup():
    grid = np.array([[0.0, 0.0], [1.1, 0.1], [0.2, 1.2], [1.3, 1.0]])
    return grid, ()
