"""Variadic primitives cost O(n) over n operands, in reverse and forward mode.

Counted, not timed: every rule call of every variadic primitive is wrapped to add up
the operands it receives. One rule per operand that each receive all ``n`` operands
read ``n^2`` of them (what the backward of ``np.stack`` did before joint rules).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.primitive import PRIMITIVES, VARIADIC
from gradlab.core.rules import PerOperand
from gradlab.intercept.lazy_rules import load_all  # noqa: E402

load_all()  # numpy.fft's and SciPy's primitives are declared on first use otherwise

N = 300


@pytest.fixture
def operands_read(monkeypatch):
    """``count[0]``: operands handed to variadic VJP/JVP rules while the fixture lives."""
    count = [0]

    def counting(fn, skip):
        def wrapped(*args, **kwargs):
            count[0] += len(args) - skip
            return fn(*args, **kwargs)
        return wrapped

    for prim in list(PRIMITIVES.values()):
        if prim.nin is not VARIADIC:
            continue
        for attr in ("vjps", "jvps"):
            rules = getattr(prim, attr)
            if type(rules) is not PerOperand:
                continue
            monkeypatch.setattr(rules, "fn", counting(rules.fn, 3))  # i, g, ans
            if rules.joint is not None:
                monkeypatch.setattr(rules, "joint", counting(rules.joint, 2))  # (needed, g)
    return count


PROGRAMS = {
    "stack": lambda x: np.stack([x[i] * 2.0 for i in range(N)]),
    "concatenate": lambda x: np.concatenate([x[i:i + 1] for i in range(N)]),
    "array": lambda x: np.array([x[i] for i in range(N)]),
    "hstack": lambda x: np.hstack([x[i] for i in range(N)]),
    "vstack": lambda x: np.vstack([x[i:i + 1] for i in range(N)]),
    "column_stack": lambda x: np.column_stack([x[i:i + 1] for i in range(N)]),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_backward_of_n_pieces_reads_each_operand_a_bounded_number_of_times(
        name, operands_read):
    x = np.arange(1.0, N + 1.0)
    weights = np.linspace(-1.0, 1.0, N)
    program = PROGRAMS[name]
    g = gl.grad(lambda x: np.sum(np.ravel(program(x)) * weights))(x)
    expected = weights * (2.0 if name == "stack" else 1.0)
    np.testing.assert_allclose(g, expected)
    # x[i] reads 1 operand per piece, the joint rule N at once; quadratic would be N * N
    assert 0 < operands_read[0] <= 3 * N, operands_read[0]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_forward_mode_of_n_pieces_reads_each_operand_a_bounded_number_of_times(
        name, operands_read):
    x = np.arange(1.0, N + 1.0)
    tangent = np.linspace(-1.0, 1.0, N)
    _, t_out = gl.jvp(lambda x: np.ravel(PROGRAMS[name](x)), (x,), (tangent,))
    np.testing.assert_allclose(t_out, tangent * (2.0 if name == "stack" else 1.0))
    assert 0 < operands_read[0] <= 3 * N, operands_read[0]


def test_concatenate_joint_rules_agree_with_finite_differences_to_second_order():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))

    def f(a, b):
        c = np.concatenate([a * b[:2], np.sin(b), a], axis=0)
        return np.sum(c ** 3)

    gl.check_grads(f, modes=("fwd", "rev"), order=2)(a, b)


def test_custom_vjp_calls_its_backward_rule_once_for_many_arguments():
    calls = []

    @gl.custom_vjp
    def total(*xs):
        return sum(xs)

    def fwd(*xs):
        return sum(xs), None

    def bwd(res, g):
        calls.append(1)
        return tuple(g for _ in range(40))

    total.defvjp(fwd, bwd)
    grads = gl.grad(lambda x: total(*[x * k for k in range(40)]))(1.0)
    assert grads == sum(range(40)) and len(calls) == 1
