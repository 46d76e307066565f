"""scipy.integrate.odeint: gradients in y0, t and args by the adjoint method."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

integrate = pytest.importorskip("scipy.integrate")
linalg = pytest.importorskip("scipy.linalg")

TOL = {"rtol": 1e-11, "atol": 1e-12}
A = np.array([[-0.5, 1.0], [-1.0, -0.3]])
T = np.array([0.0, 0.4, 1.1, 2.0])
Y0 = np.array([1.0, -0.5])


def _linear(y, t, a):
    return a @ y


def test_linear_system_gradients_match_the_matrix_exponential():
    w = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.3], [2.0, -1.0]])

    def loss(y0, t, a):
        return np.sum(integrate.odeint(_linear, y0, t, args=(a,), **TOL) * w)

    g_y0, g_t, g_a = gl.grad(loss, argnum=(0, 1, 2))(Y0, T, A)
    # y(t) = expm(A (t - t_0)) y0: dL/dy0 = sum_i expm(A t_i)^T w_i; dL/dt_i = w_i . A y(t_i)
    # for i > 0, and moving t_0 moves every later solution: dL/dt_0 = -sum_i>0 of those
    ys = [linalg.expm(A * t) @ Y0 for t in T]
    want_t = [wi @ (A @ y) for wi, y in zip(w, ys)]
    want_t[0] = -sum(want_t[1:])
    np.testing.assert_allclose(g_y0, sum(linalg.expm(A * t).T @ wi for t, wi in zip(T, w)),
                               rtol=1e-8)
    np.testing.assert_allclose(g_t, want_t, rtol=1e-7, atol=1e-9)
    eps = 1e-6
    fd = np.zeros_like(A)
    for idx in np.ndindex(A.shape):
        d = np.zeros_like(A)
        d[idx] = eps
        fd[idx] = (loss(Y0, T, A + d) - loss(Y0, T, A - d)) / (2 * eps)
    np.testing.assert_allclose(g_a, fd, rtol=1e-6)


def test_nonlinear_system_second_order_and_tfirst():
    def pendulum(t, y, damping):  # tfirst=True: func(t, y, ...)
        return np.array([y[1], -np.sin(y[0]) - damping * y[1]])

    def final_angle(damping, y0):
        ys = integrate.odeint(pendulum, y0, np.array([0.0, 1.5]), args=(damping,),
                              tfirst=True, **TOL)
        return ys[-1, 0] ** 2

    gl.check_grads(final_angle, 0.3, np.array([0.5, 0.0]), modes=("rev",), order=2,
                   rtol=1e-5, atol=1e-7)


def test_odeint_refuses_forward_mode_and_closed_over_tracers():
    def by_closure(k):  # k reaches func by its closure, not args: it would get no derivative
        return integrate.odeint(lambda y, t: -k * y, Y0 * k, T)[-1, 0]

    with pytest.raises(TypeError, match="odeint: the function closes over a traced value"):
        gl.grad(by_closure)(0.5)

    def decay(k):
        return integrate.odeint(lambda y, t, k: -k * y, Y0, T, args=(k,))[-1, 0]

    with pytest.raises(TypeError, match="odeint has a reverse-mode rule only"):
        gl.jvp(decay, (0.5,), (1.0,))
