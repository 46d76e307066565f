"""A numpy function with no rule never gives a wrong answer: NoRuleError, naming it and the line.

The sample below is twenty functions that gradlab deliberately leaves without a rule
(set operations, bit-level float ops, polynomial fitting, histograms...). If one of
them gains a rule, move it to docs/ops.md's supported list and pick another here.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

X = np.array([0.5, 1.5, 1.5, 2.5])

UNSUPPORTED = [
    (np.unique, ()), (np.histogram, ()), (np.polyder, ()), (np.roots, ()),
    (np.polyint, ()), (np.frexp, ()), (np.modf, ()), (np.spacing, ()), (np.nextafter, (1.0,)),
    (np.isin, ([1.5],)), (np.intersect1d, (X,)), (np.setdiff1d, (X,)), (np.trim_zeros, ()),
    (np.resize, ((2, 3),)), (np.sort_complex, ()), (np.histogram_bin_edges, ()),
    (np.lexsort, ()), (np.logspace, (3.0,)), (np.union1d, (X,)),
    (np.poly, ()),
]


def call(fn, x, rest):
    return fn(x, *rest)  # the user's line every error must point at


CALL_LINE = call.__code__.co_firstlineno + 1


@pytest.mark.parametrize("fn,rest", UNSUPPORTED, ids=[f.__name__ for f, _ in UNSUPPORTED])
def test_unsupported_function_raises_no_rule_error_with_name_and_line(fn, rest):
    assert len(UNSUPPORTED) == 20
    with pytest.raises(gl.NoRuleError) as info:
        gl.grad(lambda x: np.sum(call(fn, x, rest)))(X)
    message = str(info.value)
    assert f"numpy.{fn.__name__} has no gradlab differentiation rule" in message
    assert f"test_norule.py:{CALL_LINE}: return fn(x, *rest)" in message


@pytest.mark.parametrize("fn,rest", UNSUPPORTED[:5], ids=[f.__name__ for f, _ in UNSUPPORTED[:5]])
def test_unsupported_function_raises_under_jvp_and_vmap_too(fn, rest):
    with pytest.raises(gl.NoRuleError, match=fn.__name__):
        gl.jvp(lambda x: call(fn, x, rest), (X,), (X,))
    with pytest.raises(gl.NoRuleError, match=fn.__name__):
        gl.vmap(lambda x: call(fn, x, rest))(np.stack([X, X]))


def test_unsupported_function_still_runs_on_constants():
    def f(x):
        edges = np.histogram_bin_edges(np.array([0.0, 1.0]), bins=2)  # no traced value
        return np.sum(x * edges[1])

    assert gl.grad(f)(1.0) == 0.5
