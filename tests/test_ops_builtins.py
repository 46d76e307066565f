"""Python builtins, math.* and operator.* on traced values; float() refuses loudly."""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.errors import TracerConversionError


def test_builtin_max_min_over_traced_scalars_split_ties_and_batch():
    assert gl.grad(lambda x: max(x, 2.0 * x, 1.0))(3.0) == 2.0
    assert gl.grad(lambda x: min([x, 5.0 - x]))(2.0) == 1.0
    assert gl.grad(lambda x: max(x, 6.0 - x))(3.0) == 0.0  # a tie: +1/2 and -1/2
    g = gl.grad(lambda v: max(v))(np.array([1.0, 4.0, 4.0]))
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5])
    xs = np.array([-1.0, 2.0, 0.5])
    np.testing.assert_array_equal(gl.vmap(lambda x: max(x, 0.0))(xs), [0.0, 2.0, 0.5])
    assert max([3, 1, 2]) == 3 and min("bca") == "a"  # untraced calls are Python's


def test_builtin_sum_and_abs_of_traced_values():
    x = np.arange(6.0).reshape(3, 2)
    out, back = gl.vjp(lambda a: sum(a), x)
    np.testing.assert_array_equal(out, [6.0, 9.0])
    np.testing.assert_array_equal(back(np.array([1.0, 2.0]))[0], [[1, 2]] * 3)
    assert gl.grad(lambda a: sum([a, 2 * a, a * a]))(3.0) == 9.0
    assert gl.grad(lambda a: abs(a) + abs(-2.0))(-3.0) == -1.0
    assert gl.vjp(lambda a: round(a, 1), 1.26)[0] == 1.3


def test_float_of_traced_value_raises_naming_the_line():
    def f(x):
        return float(x) * 2.0  # the offending line

    with pytest.raises(TracerConversionError, match=r"to float at .*test_ops_builtins.py:\d+: "
                                                    r"return float\(x\) \* 2.0"):
        gl.grad(f)(1.0)
    with pytest.raises(TracerConversionError, match="to int"):
        gl.grad(lambda x: int(x) * x)(1.0)


def test_math_functions_on_traced_scalars():
    checks = [(math.exp, math.exp), (math.log2, lambda x: 1 / (x * math.log(2))),
              (lambda x: math.log(x, 10.0), lambda x: 1 / (x * math.log(10))),
              (math.asinh, lambda x: 1 / math.sqrt(x * x + 1)),
              (math.radians, lambda x: math.pi / 180),
              (lambda x: math.atan2(x, 2.0), lambda x: 2.0 / (x * x + 4.0)),
              (lambda x: math.hypot(x, 3.0, 4.0), lambda x: x / math.sqrt(x * x + 25.0)),
              (lambda x: math.prod([x, x, 2.0]), lambda x: 4.0 * x),
              (lambda x: math.fsum([x, x]), lambda x: 2.0),
              (lambda x: math.dist([x, 1.0], [0.0, 1.0]), lambda x: 1.0),
              (lambda x: x * math.floor(x), lambda x: math.floor(x))]
    for f, df in checks:
        assert math.isclose(gl.grad(f)(1.7), df(1.7), rel_tol=1e-12), f
    assert gl.vjp(lambda x: math.isnan(x), 1.0)[0] == np.False_
    assert gl.vjp(lambda x: math.isclose(x, 1.0), 1.0)[0] is True


def test_operator_module_functions_resolve_to_primitives():
    ops = [(operator.add, 1.0), (operator.mul, 2.0), (operator.truediv, 0.5),
           (operator.pow, 2.0 * 3.0), (operator.sub, 1.0)]
    for op, want in ops:
        assert gl.grad(lambda x, op=op: op(x, 2.0))(3.0) == want, op
    assert gl.grad(lambda x: operator.neg(operator.abs(x)))(-2.0) == 1.0
    assert operator.add([1], [2]) == [1, 2]
    w = np.ones((2, 2))
    np.testing.assert_array_equal(gl.grad(lambda v: np.sum(operator.matmul(w, v)))(np.ones(2)),
                                  [2.0, 2.0])


LAMBDAS = [
    lambda x: np.cumsum(x)[-1],
    lambda x: np.ptp(x)]


def test_a_lambda_ending_a_multiline_list_is_instrumented():
    # getsource returns "    lambda x: np.ptp(x)]" for the last one: a partial statement
    np.testing.assert_array_equal(gl.grad(LAMBDAS[1])(np.array([1.0, 3.0, 2.0])), [-1, 1, 0])


def test_array_methods_on_traced_values():
    x = np.array([[1.0, 4.0], [3.0, 2.0]])

    def f(a):
        assert a.argmax() == 1 and a.argmin(axis=0).tolist() == [0, 1]
        assert a.all() and not (a > 3).all(axis=1).any()
        total = a.cumsum(axis=1)[:, -1].sum() + a.cumprod()[-1] + a.diagonal().sum()
        total = total + a.trace() + a.take([0, 3]).sum() + a.repeat(2, axis=0).sum()
        return total + a.round(0).sum()

    np.testing.assert_allclose(gl.grad(f)(x), 1 + np.array([[24, 6], [8, 12]]) + 2 * np.eye(2)
                               + np.array([[1, 0], [0, 1]]) + 2)


def test_in_place_methods_and_item_refuse():
    with pytest.raises(gl.InPlaceMutationError, match=r"x.sort\(...\) mutates .* x = np.sort"):
        gl.grad(lambda a: (a.sort(), np.sum(a))[1])(np.ones(3))
    with pytest.raises(TracerConversionError, match=r"a Python scalar \(x.item\(\)\)"):
        gl.grad(lambda a: a.item() * a)(1.0)
    assert gl.grad(lambda a: math.floor(a) * a)(2.5) == 2.0
