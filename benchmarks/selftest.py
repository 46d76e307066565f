"""The hand-written floors checked against central finite differences.

Every peer is judged against a floor, so each floor's derivative must be right
first. Run ``python -m benchmarks --selftest`` (a few seconds, numpy only); the
same checks are the tests in ``benchmarks/test_floors.py``. Small instances of
each workload keep the finite differences cheap.
"""

from __future__ import annotations

import numpy as np

from .workloads import chain, hessian, loop, mlp, per_example, variadic
from .workloads import memory_child as memory

EPS = 1e-6
RTOL = 1e-6


def numeric_grad(f, args, i):
    """d f(*args) / d args[i] by central differences, entry by entry."""
    args = [np.array(a, dtype=np.float64) for a in args]
    x = args[i]
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        keep = x[idx]
        x[idx] = keep + EPS
        hi = f(*args)
        x[idx] = keep - EPS
        lo = f(*args)
        x[idx] = keep
        grad[idx] = (hi - lo) / (2 * EPS)
    return grad


def assert_close(name, got, want, rtol=RTOL):
    err = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    assert err < rtol, f"{name}: relative error {err:.1e}"


def check_value_and_grad(name, plain, floor, args, argnums):
    value, grads = floor(*args)
    assert_close(f"{name} value", np.asarray(value), np.asarray(plain(*args)))
    for i, g in zip(argnums, grads, strict=True):
        assert_close(f"{name} d/darg{i}", g, numeric_grad(plain, args, i))


def check_mlp_floors():
    check_value_and_grad("A", mlp.mse_loss, mlp.mse_floor, mlp.tiny_mlp_data(), (0, 1))
    rng = np.random.default_rng(1)
    small = (rng.standard_normal((12, 12)) / 3, rng.standard_normal((12, 5)) / 3,
             rng.standard_normal((8, 12)), np.eye(5)[rng.integers(0, 5, size=8)])
    check_value_and_grad("B", mlp.softmax_ce, mlp.softmax_ce_floor, small, (0, 1))


def check_loop_floor():
    plain, _, floor = loop.make_loop(5)
    check_value_and_grad("C", plain, floor, (np.random.default_rng(0).standard_normal(10),), (0,))


def check_per_example_floors():
    (w,), X, y = per_example.logistic_data()
    (gw,) = per_example.logistic_floor(w, X, y)
    (W1, W2), X2, y2 = per_example.mlp_data()
    dW1, dW2 = per_example.mlp_floor(W1, W2, X2, y2)
    for i in (0, 17, 255):
        def logistic(w_, i=i):
            return per_example.logistic_loss(w_, X[i], y[i])

        def mlp_loss(W1_, W2_, i=i):
            return per_example.mlp_loss(W1_, W2_, X2[i], y2[i])

        assert_close(f"D1 example {i}", gw[i], numeric_grad(logistic, (w,), 0))
        assert_close(f"D2 example {i} dW1", dW1[i], numeric_grad(mlp_loss, (W1, W2), 0))
        assert_close(f"D2 example {i} dW2", dW2[i], numeric_grad(mlp_loss, (W1, W2), 1))


def check_hessian_floors():
    A, x = hessian.hessian_data(n=6)
    f = hessian.make_f(A)

    def grad_f(x_):  # the closed-form gradient, itself checked first
        return A.T @ (1.0 - np.tanh(A @ x_) ** 2)

    assert_close("E gradient", grad_f(x), numeric_grad(f, (x,), 0))
    fd_hessian = np.stack([numeric_grad(lambda x_, k=k: grad_f(x_)[k], (x,), 0)
                           for k in range(6)])
    assert_close("E1 hessian", hessian.hessian_floor(A, x), fd_hessian)
    A, x, v = hessian.hvp_data(n=30, m=7)
    assert_close("E2 hvp", hessian.hvp_floor(A, x, v), hessian.hessian_floor(A, x) @ v)


def check_chain_floor():
    y0, Ws = chain.chain_data(20)
    check_value_and_grad("F", chain.chain, chain.chain_floor, (y0, Ws), (0,))


def check_memory_floors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    Ws = [rng.standard_normal((6, 6)) / np.sqrt(6) for _ in range(12)]  # blocks of 5, 5, 2
    for checkpoint in (False, True):
        mode = "checkpoint" if checkpoint else "plain"
        dx = memory.floor_grad(Ws, x, checkpoint, "input")
        assert_close(f"G {mode} d/dx", dx, numeric_grad(lambda x_: memory.mlp(Ws, x_), (x,), 0))
        grads = memory.floor_grad(Ws, x, checkpoint, "weights")
        for j in (0, 4, 5, 11):
            def loss_of_layer(W, j=j):
                return memory.mlp(tuple(Ws[:j]) + (W,) + tuple(Ws[j + 1:]), x)

            assert_close(f"G {mode} d/dW{j}", grads[j], numeric_grad(loss_of_layer, (Ws[j],), 0))


def check_variadic_floors():
    for key, (plain, floor, _, _) in variadic.CASES.items():
        def floor_x(x_, w_, floor=floor):
            value, grad = floor(x_, w_)
            return value, (grad,)

        x, w = variadic.case_data(key, 7, np.random.default_rng(2))
        check_value_and_grad(key, plain, floor_x, (x, w), (0,))


CHECKS = (check_mlp_floors, check_loop_floor, check_per_example_floors, check_hessian_floors,
          check_chain_floor, check_memory_floors, check_variadic_floors)


def main() -> int:
    failures = 0
    for check in CHECKS:
        try:
            check()
            print(f"ok    {check.__name__}")
        except AssertionError as exc:
            failures += 1
            print(f"FAIL  {check.__name__}: {exc}")
    print(f"{len(CHECKS) - failures} passed, {failures} failed")
    return 1 if failures else 0
