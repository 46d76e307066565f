"""Any code path, same answer: every public transform (and ``vmap`` of it) on functions
that reach numpy through every route: non-ufunc functions (``tile``, ``einsum``,
``linalg.solve``, ``logsumexp``...), a recursive module-level helper, callbacks passed
as values to ``functools.reduce`` / ``map`` / ``sorted``, and code built with ``exec``
(which the call-site rewrite never sees: numpy's ``__array_function__`` carries it).
Every answer is checked against central finite differences in float64.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import scipy.special

import gradlab as gl

A = np.array([[0.5, -1.0], [2.0, 0.3], [-0.4, 0.8]])
M = np.array([[3.0, 0.2, -0.1], [0.4, 2.5, 0.3], [-0.2, 0.1, 4.0]])
X0 = np.array([0.3, -0.7, 0.5])
V = np.array([0.2, 0.5, -0.4])
BATCH = np.stack([X0, X0[::-1] * 0.9])


def _power_sum(x, n):
    """A module-level helper calling itself by its global name."""
    if n == 0:
        return np.cumsum(x)
    return x * _power_sum(x, n - 1) + np.sin(x)


def _scaled_row(x, k):
    """Reached only as a value passed to a builtin; ``math.cos`` of a traced scalar works
    only if this function is instrumented (numpy's protocols do not cover ``math``)."""
    return np.tile(x, 2)[k:k + 3] * math.cos(x[k])


_EXEC_NAMESPACE = {"np": np}
exec("def built_with_exec(x):\n"  # noqa: S102 - the point: code the rewrite never sees
     "    return np.tile(x, 2)[1:5] * np.outer(x, x)[0, 1] + np.take(x, [0, 1, 2, 0])\n",
     _EXEC_NAMESPACE)

# Each maps x of shape (3,) to a small vector.
FUNCTIONS = {
    "tile": lambda x: np.tile(x, 2)[1:5] * np.sin(x[0]),
    "einsum": lambda x: np.einsum("i,ij,i->j", x, A, x) + np.einsum("ij,i->j", A, x),
    "outer": lambda x: np.outer(x, x[:2]).sum(axis=0) + x[:2],
    "solve": lambda x: np.linalg.solve(M + np.diag(x), x + 1.0),
    "logsumexp": lambda x: np.stack([scipy.special.logsumexp(x),
                                     scipy.special.logsumexp(x * x)]),
    "concatenate": lambda x: np.concatenate([x, x[:1] ** 2, np.sin(x[1:])]) * 1.5,
    "where": lambda x: np.where(x > 0, x ** 2, np.sin(x)),
    "take": lambda x: np.take(x, [2, 0, 1, 2]) * x[1],
    "rfft": lambda x: np.concatenate([np.real(np.fft.rfft(x * x)),
                                      np.imag(np.fft.rfft(x * x))[1:]]),
    "recursive": lambda x: _power_sum(x, 2),
    "reduce": lambda x: functools.reduce(lambda acc, k: acc + _scaled_row(x, k), range(3),
                                         np.zeros(3)),
    "map": lambda x: sum(map(functools.partial(_scaled_row, x), range(3))),
    "sorted": lambda x: sum(p[1] for p in sorted(
        [(2, _scaled_row(x, 0)), (1, _scaled_row(x, 2))], key=lambda p: p[0])),
    "exec": _EXEC_NAMESPACE["built_with_exec"],
}


def _scalar(f_vec):
    return lambda x: np.sum(np.tanh(f_vec(x)))


# --- finite-difference references (plain numpy: no transform involved) ----------------
def _jac_fd(f, x, h=1e-6):
    cols = [(np.asarray(f(x + h * e)) - np.asarray(f(x - h * e))) / (2 * h) for e in np.eye(3)]
    return np.stack(cols, axis=-1)


def _hess_fd(f, x, h=1e-4):
    e = np.eye(3) * h
    return np.array([[(f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j])
                       + f(x - e[i] - e[j])) / (4 * h * h) for j in range(3)]
                     for i in range(3)])


@functools.lru_cache(maxsize=None)
def _reference(name, row):
    """``(J, g, H, value, out)`` at X0 (row -1) or at BATCH[row]."""
    x = X0 if row < 0 else BATCH[row]
    f_vec = FUNCTIONS[name]
    f = _scalar(f_vec)
    return _jac_fd(f_vec, x), _jac_fd(f, x), _hess_fd(f, x), f(x), np.asarray(f_vec(x))


def _u(out):
    return np.linspace(0.5, -0.7, np.size(out)).reshape(np.shape(out))


# --- each transform: (what it computes from f_vec at x, the same from the references) ---
def _custom(f_vec):
    cf = gl.custom_vjp(f_vec)
    cf.defvjp(lambda x: (f_vec(x), x), lambda x, g: (gl.vjp(f_vec, x)[1](g)[0],))
    return cf


TRANSFORMS = {
    "grad": (lambda fv, x: gl.grad(_scalar(fv))(x), lambda J, g, H, val, out: g),
    "value_and_grad": (lambda fv, x: np.concatenate(
        [np.ravel(r) for r in gl.value_and_grad(_scalar(fv))(x)]),
        lambda J, g, H, val, out: np.concatenate([[val], g])),
    "elementwise_grad": (lambda fv, x: gl.elementwise_grad(fv)(x),
                         lambda J, g, H, val, out: J.sum(axis=0)),
    "jacobian": (lambda fv, x: gl.jacobian(fv)(x), lambda J, g, H, val, out: J),
    "jacfwd": (lambda fv, x: gl.jacfwd(fv)(x), lambda J, g, H, val, out: J),
    "jacrev": (lambda fv, x: gl.jacrev(fv)(x), lambda J, g, H, val, out: J),
    "hessian": (lambda fv, x: gl.hessian(_scalar(fv))(x), lambda J, g, H, val, out: H),
    "hvp": (lambda fv, x: gl.hvp(_scalar(fv), x, V), lambda J, g, H, val, out: H @ V),
    "make_hvp": (lambda fv, x: gl.make_hvp(_scalar(fv))(x)[0](V),
                 lambda J, g, H, val, out: H @ V),
    "hessian_vector_product": (lambda fv, x: gl.hessian_vector_product(_scalar(fv))(x, V),
                               lambda J, g, H, val, out: H @ V),
    "tensor_jacobian_product": (
        lambda fv, x: gl.tensor_jacobian_product(fv)(x, _u(_reference_out(fv))),
        lambda J, g, H, val, out: _u(out) @ J),
    "make_ggnvp": (lambda fv, x: gl.make_ggnvp(fv)(x)(V), lambda J, g, H, val, out: J.T @ J @ V),
    "make_jvp": (lambda fv, x: gl.make_jvp(fv)(x)(V)[1], lambda J, g, H, val, out: J @ V),
    "make_vjp": (lambda fv, x: gl.make_vjp(fv)(x)[0](_u(_reference_out(fv))),
                 lambda J, g, H, val, out: _u(out) @ J),
    "jvp": (lambda fv, x: gl.jvp(fv, (x,), (V,))[1], lambda J, g, H, val, out: J @ V),
    "vjp": (lambda fv, x: gl.vjp(fv, x)[1](_u(_reference_out(fv)))[0],
            lambda J, g, H, val, out: _u(out) @ J),
    "linearize": (lambda fv, x: gl.linearize(fv, x)[1](V), lambda J, g, H, val, out: J @ V),
    "deriv": (lambda fv, x: gl.deriv(lambda t: _scalar(fv)(x + t * V))(0.0),
              lambda J, g, H, val, out: g @ V),
    "checkpoint": (lambda fv, x: gl.grad(_scalar(gl.checkpoint(fv)))(x),
                   lambda J, g, H, val, out: g),
    "custom_vjp": (lambda fv, x: gl.grad(_scalar(_custom(fv)))(x),
                   lambda J, g, H, val, out: g),
}


def _reference_out(f_vec):
    name = next(k for k, v in FUNCTIONS.items() if v is f_vec)
    return _reference(name, -1)[4]


@pytest.mark.parametrize("fname", FUNCTIONS)
@pytest.mark.parametrize("tname", TRANSFORMS)
def test_transform_agrees_with_finite_differences(tname, fname):
    run, expected = TRANSFORMS[tname]
    got = run(FUNCTIONS[fname], X0)
    np.testing.assert_allclose(got, expected(*_reference(fname, -1)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fname", FUNCTIONS)
@pytest.mark.parametrize("tname", TRANSFORMS)
def test_vmap_of_transform_agrees_with_finite_differences(tname, fname):
    run, expected = TRANSFORMS[tname]
    f_vec = FUNCTIONS[fname]
    got = gl.vmap(lambda x: run(f_vec, x))(BATCH)
    want = np.stack([expected(*_reference(fname, row)) for row in range(len(BATCH))])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_protocol_path_raises_the_same_no_rule_error_as_the_rewrite():
    namespace = {"np": np}
    exec("def no_source(x):\n    return np.sum(np.poly(x))\n", namespace)  # noqa: S102

    def rewritten(x):
        return np.sum(np.poly(x))

    messages = []
    for f in (namespace["no_source"], rewritten):
        with pytest.raises(gl.NoRuleError, match=r"numpy\.poly has no gradlab differentiation "
                                                 r"rule") as info:
            gl.grad(f)(X0)
        messages.append(str(info.value))
    assert all("gradlab.primitive('poly'" in m for m in messages)
    assert "reached it at <string>:2" in messages[0]  # the exec'd line itself
    assert "np.sum(np.poly(x))" in messages[1]


def test_protocol_path_reads_shapes_of_traced_values():
    namespace = {"np": np}
    exec("def no_source(x):\n"  # noqa: S102
         "    return np.sum(x * np.ndim(x) + np.shape(x)[0] * np.linalg.norm(x))\n", namespace)
    g = gl.grad(namespace["no_source"])(X0)
    np.testing.assert_allclose(g, 1.0 + 9.0 * X0 / np.linalg.norm(X0), rtol=1e-12)  # 3 terms
