"""gradlab.soft.audit / relax and gl.grad(audit=True): plain Python decisions on
differentiable values, seen through the pyccolo tracer (and only when asked for)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import gradlab as gl
import gradlab.soft as soft
from tests.helpers import soft_helper


def _line(fn, text) -> int:
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def loss(w, t):
    y = 0.0
    if w > t:
        y = w * 2.0
    z = w
    while z < 3.0:
        z = z * 1.5 + 0.1
    m = max(w, t)
    s = sorted([w, t, z])
    return y + m + s[0] + soft_helper.clipped_excess(w, t)


def test_audit_finds_if_while_max_sorted_and_a_helper_in_another_module():
    report = soft.audit(loss)(1.0, 0.5)
    found = [(d.kind, d.filename, d.lineno) for d in report]
    here, helper = __file__, soft_helper.__file__
    assert found == [
        ("if", here, _line(loss, "if w > t")),
        ("while", here, _line(loss, "while z < 3.0")),
        ("max", here, _line(loss, "max(w, t)")),
        ("sorted", here, _line(loss, "sorted(")),
        ("if", helper, _line(soft_helper.clipped_excess, "if x > limit")),
    ]
    assert report.value == pytest.approx(loss(1.0, 0.5))
    text = str(report)
    assert "the gradient of `loss` does not see this branch" in text
    assert f"{here}:{_line(loss, 'if w > t')}" in text and "if w > t:" in text
    assert "flows to the winner only" in text and "follows the permutation" in text


def helper_compare_only(w, t):
    return soft_helper.is_above(w, t) * w


def test_audit_finds_a_comparison_inside_a_helper_function():
    report = soft.audit(helper_compare_only)(2.0, 1.0)
    assert [(d.kind, d.lineno) for d in report] == [
        ("compare", _line(soft_helper.is_above, "return x > limit"))]
    assert "its result is constant to the gradient of `helper_compare_only`" in str(report)


def counting(x):
    total = x * 0.0
    for i in range(3):
        if i > 1:  # a decision on a plain int: nothing to report
            total = total + x
    return total


def test_audit_ignores_decisions_on_constants():
    report = soft.audit(counting)(np.array(2.0))
    assert list(report) == [] and str(report) == "no hard decision on a differentiable value"
    assert float(report.value) == 2.0


def test_audit_respects_argnums():
    assert soft.audit(loss, argnums=1)(1.0, 0.5).kinds == ["if", "max", "sorted", "if"]


def _tracer_depth(x):
    import pyccolo

    depth.append(len(pyccolo._TRACER_STACK))
    return x * 2.0


depth: list = []


def test_ordinary_grad_never_enters_the_tracer():
    depth.clear()
    gl.grad(_tracer_depth)(1.0)
    soft.audit(_tracer_depth)(1.0)
    gl.grad(_tracer_depth)(1.0)
    assert depth == [0, 1, 0]


def test_grad_audit_warns_once_per_line_and_keeps_the_gradient():
    from gradlab.soft.decisions import _WARNED

    _WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g1 = gl.grad(loss, audit=True)(1.0, 0.5)
        g2 = gl.grad(loss, audit=True)(1.0, 0.5)
    assert g1 == g2 == pytest.approx(gl.grad(loss)(1.0, 0.5))
    hard = [w for w in caught if issubclass(w.category, soft.HardDecisionWarning)]
    assert sorted((w.filename, w.lineno) for w in hard) == sorted([
        (__file__, _line(loss, "if w > t")), (__file__, _line(loss, "while z < 3.0")),
        (__file__, _line(loss, "max(w, t)")), (__file__, _line(loss, "sorted(")),
        (soft_helper.__file__, _line(soft_helper.clipped_excess, "if x > limit"))])
    assert "the gradient of `loss` does not see this branch" in str(hard[0].message)


def branchy(x, t):
    if x > t:
        y = x * 3.0
        z = 1.0
    else:
        y = -x
        z = 0.0
    return y + z + max(x, t) + sorted([x, t, 0.5 * x])[0]


def test_relax_blends_the_if_and_softens_max_and_sorted():
    beta = 4.0

    def by_hand(x, t):
        gate = 1.0 / (1.0 + np.exp(-beta * (x - t)))
        y = gate * x * 3.0 + (1 - gate) * -x
        z = gate * 1.0
        first = soft.soft_sort(np.stack([x, t, 0.5 * x]), 1 / beta)[0]
        return y + z + soft.soft_max(np.stack([x, t]), 1 / beta) + first

    relaxed = soft.relax(branchy, beta=beta)
    x, t = 0.8, 0.5
    assert float(relaxed(np.array(x), t)) == pytest.approx(float(by_hand(x, t)))
    assert float(gl.grad(relaxed)(x, t)) == pytest.approx(float(gl.grad(by_hand)(x, t)))
    assert float(gl.grad(relaxed, 1)(x, t)) == pytest.approx(float(gl.grad(by_hand, 1)(x, t)))
    gl.check_grads(relaxed, x, t, order=2)
    kinds = [r["kind"] for r in relaxed.rewrites]
    assert kinds == ["if -> soft_if", "max -> soft_max", "sorted -> soft_sort"]
    assert relaxed.rewrites[0]["where"] == f"{__file__}:{_line(branchy, 'if x > t')}"


def test_relax_rewrites_are_listed_in_the_ledger():
    relaxed = soft.relax(branchy, beta=2.0)
    with soft.trace() as tr:
        gl.grad(relaxed)(0.8, 0.5)
    where = f"{__file__}:{_line(branchy, 'if x > t')}"
    branch = next(d for d in tr.decisions if d.name == "relax:if")
    assert branch.where == where and branch.hard == pytest.approx([0.8 * 3.0, 1.0])
    rewrites = [e for e in tr.ledger() if e["decision"].startswith("rewrite")]
    assert [e["decision"] for e in rewrites] == [
        "rewrite if -> soft_if", "rewrite max -> soft_max", "rewrite sorted -> soft_sort"]
    assert "soft_if on y, z" in rewrites[0]["surrogate"]


def early_return(x):
    if x > 0.0:
        return x * 2.0
    return x


def test_relax_says_why_and_where_it_cannot_rewrite():
    relaxed = soft.relax(early_return)
    with pytest.raises(soft.RelaxError, match=r"relax cannot rewrite the `if` at .*"
                       rf"test_soft_audit.py:{_line(early_return, 'if x > 0.0')} "
                       r"\(if x > 0.0:\): a branch uses `return`"):
        gl.grad(relaxed)(1.0)


def looping(x):
    while x < 2.0:
        x = x * 2.0
    return x


def test_relax_warns_that_a_while_loop_stays_hard():
    from gradlab.soft.decisions import RelaxWarning

    with pytest.warns(RelaxWarning, match="write it with gradlab.soft.bounded_loop"):
        assert gl.grad(soft.relax(looping))(0.75) == 4.0  # 0.75 -> 1.5 -> 3.0


def test_vmap_if_error_names_the_soft_decisions():
    def f(x):
        return x if x > 0 else -x

    with pytest.raises(gl.ConcretizationError,
                       match=r"gradlab.soft.soft_if\(score, a, b\) / gradlab.soft.diff_if"):
        gl.vmap(f)(np.array([1.0, -1.0]))


def threshold_only(x, t):
    if t > 0.3:
        y = x * 3.0
    else:
        y = -x
    return y


def test_relax_value_is_the_soft_program_whatever_is_differentiated():
    relaxed = soft.relax(threshold_only, beta=2.0)
    gate = 1.0 / (1.0 + np.exp(-2.0 * (0.5 - 0.3)))
    assert float(relaxed(1.0, 0.5)) == pytest.approx(3.0 * gate - (1 - gate))
    # d/dx with t held: the partial derivative of that soft function, not the hard one's
    assert float(gl.grad(relaxed, 0)(1.0, 0.5)) == pytest.approx(3.0 * gate - (1 - gate))
    # a decision on a loop counter stays exact
    assert float(soft.relax(counting)(np.array(2.0))) == 2.0


def test_import_and_ordinary_grad_never_load_pyccolo():
    import subprocess
    import sys

    code = ("import sys, numpy as np, gradlab as gl, gradlab.soft as soft\n"
            "gl.grad(lambda x: soft.soft_if(x, x, -x) if x > 0 else x)(1.0)\n"
            "assert 'pyccolo' not in sys.modules, 'pyccolo loaded'\n"
            "soft.audit(lambda x: x)(1.0)\n"
            "assert 'pyccolo' in sys.modules\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


def absolute_error(x, t):
    return x - t if x > t else t - x


def test_relax_blends_a_conditional_expression():
    relaxed = soft.relax(absolute_error, beta=3.0)
    gate = 1.0 / (1.0 + np.exp(-3.0 * 0.25))
    want = gate * 0.25 + (1 - gate) * -0.25
    assert float(relaxed(0.75, 0.5)) == pytest.approx(want)
    gl.check_grads(relaxed, 0.75, 0.5, order=2)
    assert relaxed.rewrites == [{"kind": "if -> soft_if",
                                 "where": f"{__file__}:{_line(absolute_error, 'return')}",
                                 "surrogate": "if -> soft_if on <expression>, beta=3"}]
    assert soft.audit(absolute_error)(0.75, 0.5).kinds == ["compare"]


class Pricer:
    def __init__(self, threshold):
        self.threshold = threshold

    def price(self, x):
        if x > self.threshold:
            y = x * 2.0
        else:
            y = x
        return y


def test_audit_and_relax_reach_lambdas_methods_and_closures():
    assert soft.audit(lambda x: max(x, 1.0))(2.0).kinds == ["max"]
    pricer = Pricer(0.5)
    assert soft.audit(pricer.price)(1.0).kinds == ["if"]
    # y = g 2x + (1 - g) x with g = sigmoid(2 (x - 0.5)): at x = 0.5, 1.5 + 0.5 * 0.5
    assert float(gl.grad(soft.relax(pricer.price, 2.0))(0.5)) == pytest.approx(1.75)
    scale = 3.0

    def outer(x):
        def inner(y):
            return sorted([y, scale * y])[0]
        return inner(x)

    report = soft.audit(outer)(1.0)
    assert report.kinds == ["sorted"] and report.value == 1.0


def one_sided(x, t):
    if x > t:
        y = x * 2.0
        extra = 1.0
    else:
        y = x
    return y + (extra if "extra" in dir() else 0.0)


def one_sided_defined(x, t):
    bonus = 0.0
    if x > t:
        bonus = x
    return bonus


def test_relax_handles_names_assigned_in_one_branch():
    # defined before the if: the other branch keeps its value, and the blend is exact
    relaxed = soft.relax(one_sided_defined, beta=2.0)
    gate = 1.0 / (1.0 + np.exp(-2.0 * 0.5))
    assert float(relaxed(1.0, 0.5)) == pytest.approx(gate * 1.0)
    # unbound before the if: the hard path leaves it unbound, as the original does
    assert soft.relax(one_sided)(1, 0) == 3 and soft.relax(one_sided)(0, 1) == 0
    with pytest.raises(soft.RelaxError, match=r"cannot blend `extra` at .*: one branch "
                                              r"assigns it and it has no value before"):
        soft.relax(one_sided)(1.0, 0.5)


def defines_function(x):
    if x > 0.0:
        def y():
            return x
    else:
        def y():
            return -x
    return y()


def test_relax_refuses_a_branch_that_defines_a_function():
    with pytest.raises(soft.RelaxError, match=r"a branch uses `def`"):
        gl.grad(soft.relax(defines_function))(1.0)


def test_relax_makes_a_python_if_vmappable():
    xs = np.array([0.2, 0.5, 0.9, 1.4])
    relaxed = soft.relax(branchy, beta=3.0)
    got = gl.vmap(relaxed, in_axes=(0, None))(xs, 0.6)
    np.testing.assert_allclose(got, [float(relaxed(x, 0.6)) for x in xs], rtol=1e-12)
    with pytest.raises(gl.ConcretizationError, match="gradlab.soft.soft_if"):
        gl.vmap(branchy, in_axes=(0, None))(xs, 0.6)


def test_audit_of_a_relaxed_function_finds_no_hard_decision_left():
    assert soft.audit(branchy)(0.8, 0.5).kinds == ["if", "max", "sorted"]
    report = soft.audit(soft.relax(branchy, beta=2.0))(0.8, 0.5)
    assert list(report) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and grad(audit=True) has nothing to warn about
        gl.grad(soft.relax(branchy, beta=2.0), audit=True)(0.8, 0.5)
