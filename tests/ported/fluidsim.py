"""Semi-Lagrangian advection on a periodic grid: np.roll, floor indices, bilinear weights."""

import numpy as np


def project(vx, vy):
    h = 1.0 / vx.shape[0]
    div = -0.5 * h * (np.roll(vx, -1, axis=0) - np.roll(vx, 1, axis=0)
                      + np.roll(vy, -1, axis=1) - np.roll(vy, 1, axis=1))
    p = np.zeros(vx.shape)
    for _ in range(6):
        p = (div + np.roll(p, 1, axis=0) + np.roll(p, -1, axis=0)
             + np.roll(p, 1, axis=1) + np.roll(p, -1, axis=1)) / 4.0
    vx = vx - 0.5 * (np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)) / h
    vy = vy - 0.5 * (np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)) / h
    return vx, vy


def advect(f, vx, vy):
    rows, cols = f.shape
    cell_ys, cell_xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing='ij')
    center_xs = (cell_xs - vx).ravel()
    center_ys = (cell_ys - vy).ravel()
    left_ix = np.floor(center_xs).astype(int)
    top_ix = np.floor(center_ys).astype(int)
    rw = center_xs - left_ix
    bw = center_ys - top_ix
    left_ix, right_ix = np.mod(left_ix, cols), np.mod(left_ix + 1, cols)
    top_ix, bot_ix = np.mod(top_ix, rows), np.mod(top_ix + 1, rows)
    flat_f = (1 - rw) * ((1 - bw) * f[top_ix, left_ix] + bw * f[bot_ix, left_ix]) \
        + rw * ((1 - bw) * f[top_ix, right_ix] + bw * f[bot_ix, right_ix])
    return np.reshape(flat_f, (rows, cols))


def simulate(vx, vy, smoke, num_steps):
    for _ in range(num_steps):
        vx_updated = advect(vx, vx, vy)
        vy_updated = advect(vy, vx, vy)
        vx, vy = project(vx_updated, vy_updated)
        smoke = advect(smoke, vx, vy)
    return smoke


def loss(init_velocity, smoke, target):
    vx, vy = init_velocity[0], init_velocity[1]
    final = simulate(vx, vy, smoke, 3)
    return np.mean((final - target) ** 2)


def setup():
    n = 8
    ys, xs = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing='ij')
    smoke = np.exp(-((xs - 0.5) ** 2 + (ys - 0.5) ** 2) / 0.05)
    target = np.roll(smoke, 1, axis=1)
    v = np.stack([0.3 * np.sin(2 * np.pi * ys) + 0.13, 0.2 * np.cos(2 * np.pi * xs) + 0.17])
    return v, (smoke, target)
