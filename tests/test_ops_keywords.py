"""numpy's keyword arguments and array-likes on traced values.

Every keyword numpy accepts either works with gradlab's rule or raises ``NoRuleError``
naming the function and the keyword (checked over the whole interception table);
``where=``/``initial=``/``ddof``/``correction``/``mean=`` of the reductions against
numpy and finite differences; lists of traced values wherever numpy takes an array.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import gradlab as gl
from gradlab.core.arguments import CallSignature
from gradlab.core.errors import NoRuleError
from gradlab.core.primitive import NUMPY_TABLE
from gradlab.intercept.lazy_rules import load_all  # noqa: E402

load_all()  # numpy.fft's and SciPy's primitives are declared on first use otherwise

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4))
MASK = np.array([[True, False, True, True], [False, True, True, False],
                 [True, True, False, True]])


class _Sentinel:
    """A keyword value no rule could mean (never numpy's default)."""


def _unsupported_cases():
    """(numpy function, keyword) for every keyword numpy takes and gradlab's rule does not."""
    cases = []
    for original, entry in NUMPY_TABLE.items():
        if not getattr(original, "__module__", "").startswith("numpy"):
            continue
        try:
            inspect.signature(original)
        except (TypeError, ValueError):
            continue
        sig = CallSignature(original, entry.__gradlab__)
        if sig.any_keyword:
            continue
        # operands by name are operands; out= is refused alike everywhere (its own test)
        operands = set(sig.operand_names) | set(sig.numpy_positional[:1]) | {"out"}
        for key in sorted(set(sig.numpy_defaults) - sig.ours - operands):
            cases.append((original, key))
    return cases


def test_every_keyword_without_a_rule_raises_no_rule_error_naming_it():
    cases = _unsupported_cases()
    assert len(cases) > 100
    wrong = []
    for original, key in cases:
        entry = NUMPY_TABLE[original]
        name = CallSignature(original, entry.__gradlab__).name
        try:
            gl.grad(lambda x, entry=entry, key=key: np.sum(entry(x, **{key: _Sentinel()})))(X)
        except NoRuleError as exc:
            if f"{name}(..., {key}=...)" in str(exc) and "test_ops_keywords.py" in str(exc):
                continue
            wrong.append(f"{name} {key}: {exc}")
        except Exception as exc:  # noqa: BLE001 - collected and reported together
            wrong.append(f"{name} {key}: {type(exc).__name__}: {exc}")
        else:
            wrong.append(f"{name} {key}: accepted")
    assert not wrong, "\n".join(wrong)


def test_a_keyword_numpy_does_not_know_is_numpys_type_error():
    with pytest.raises(TypeError, match=r"np.sum\(\) got an unexpected keyword argument 'foo'"):
        gl.grad(lambda x: np.sum(x, foo=1))(X)


def test_keywords_at_numpys_default_are_accepted_and_ignored():
    g = gl.grad(lambda x: np.sum(np.add(x, x, casting="same_kind", where=True, order="K")))(X)
    np.testing.assert_array_equal(g, np.full_like(X, 2.0))


REDUCTIONS = [
    ("sum", lambda x: np.sum(x, where=MASK)),
    ("sum axis initial", lambda x: np.sum(x, axis=1, initial=2.5, where=MASK)),
    ("sum tuple axis", lambda x: np.sum(x, axis=(0, 1), keepdims=True, where=MASK[0])),
    ("method sum", lambda x: x.sum(0, where=MASK)),
    ("prod", lambda x: np.prod(x, axis=0, where=MASK, initial=0.5)),
    ("mean", lambda x: np.mean(x, axis=1, where=MASK)),
    ("method mean", lambda x: x.mean(where=MASK)),
    ("max initial", lambda x: np.max(x, axis=0, initial=0.1)),
    ("max where", lambda x: np.max(x, axis=1, initial=-9.0, where=MASK)),
    ("min where", lambda x: np.min(x, initial=9.0, where=MASK)),
    ("amax", lambda x: np.amax(x, axis=1, initial=0.2)),
    ("method max", lambda x: x.max(axis=0, initial=0.1)),
    ("var", lambda x: np.var(x, axis=0, where=MASK, ddof=1)),
    ("var correction", lambda x: np.var(x, axis=1, correction=1)),
    ("var mean", lambda x: np.var(x, axis=1, mean=np.mean(x, axis=1, keepdims=True))),
    ("std", lambda x: np.std(x, axis=1, where=MASK)),
    ("method std", lambda x: x.std(axis=0, ddof=1, where=MASK)),
    ("nansum", lambda x: np.nansum(x, axis=1, initial=1.0, where=MASK)),
    ("nanprod", lambda x: np.nanprod(x, axis=0, where=MASK)),
    ("nanmean", lambda x: np.nanmean(x, axis=0, where=MASK)),
    ("nanmax", lambda x: np.nanmax(x, axis=1, initial=-9.0, where=MASK)),
    ("nanmin", lambda x: np.nanmin(x, axis=0, initial=9.0)),
    ("nanvar", lambda x: np.nanvar(x, axis=1, where=MASK, correction=1)),
    ("nanstd", lambda x: np.nanstd(x, where=MASK)),
]


@pytest.mark.parametrize("name,fn", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reduction_keywords_match_numpy_and_finite_differences(name, fn):
    got, _ = gl.vjp(fn, X)
    np.testing.assert_allclose(got, fn(X), rtol=1e-12)
    gl.check_grads(fn, modes=("rev", "fwd"), order=2)(X)


def test_masked_out_entries_get_no_gradient():
    g = gl.grad(lambda x: np.sum(x ** 2, where=MASK))(X)
    np.testing.assert_array_equal(g, np.where(MASK, 2 * X, 0.0))
    g = gl.grad(lambda x: np.max(x, initial=10.0))(X)  # initial wins: no gradient to x
    np.testing.assert_array_equal(g, np.zeros_like(X))


def test_where_without_initial_on_max_is_numpys_error():
    with pytest.raises(ValueError, match="to use a where mask one has to specify 'initial'"):
        gl.grad(lambda x: np.max(x, where=MASK))(X)


@pytest.mark.parametrize("fn", [np.std, np.nanstd, lambda x: np.std(x, axis=1, ddof=1)],
                         ids=["std", "nanstd", "std axis ddof"])
def test_std_of_zero_spread_has_derivative_zero(fn):
    x = np.full((2, 3), 1.5)
    np.testing.assert_array_equal(gl.grad(lambda x: np.sum(fn(x)))(x), np.zeros_like(x))
    h = gl.hessian(lambda x: np.sum(fn(x)))(x)
    assert np.all(np.isfinite(h))


ARRAY_LIKES = [
    ("mean", lambda a, b: np.mean([a, b * b])),
    ("std", lambda a, b: np.std([a, b, 2.0])),
    ("var tuple", lambda a, b: np.var((a, b * 3.0))),
    ("norm", lambda a, b: np.linalg.norm([a, b])),
    ("sum nested", lambda a, b: np.sum([[a, 1.0], [b, a * b]])),
    ("exp", lambda a, b: np.sum(np.exp([a, b]))),
    ("add", lambda a, b: np.sum(np.add(np.array([1.0, 2.0]), [a, b]))),
    ("dot", lambda a, b: np.dot([a, b], [b, 2.0])),
    ("where", lambda a, b: np.sum(np.where([True, False], [a, b], [b, a]))),
    ("max", lambda a, b: np.max([a, b, 0.5])),
    ("cumsum", lambda a, b: np.cumsum([a, b])[-1]),
    ("clip", lambda a, b: np.sum(np.clip([a, b], -1.0, 1.0))),
    ("method", lambda a, b: np.sort([a, b])[0]),
]


@pytest.mark.parametrize("name,fn", ARRAY_LIKES, ids=[c[0] for c in ARRAY_LIKES])
def test_lists_of_traced_values_are_arrays_wherever_numpy_takes_one(name, fn):
    a, b = 0.7, -0.4
    got, _ = gl.vjp(fn, a, b)
    np.testing.assert_allclose(got, fn(a, b), rtol=1e-12)
    gl.check_grads(fn, modes=("rev",), order=1)(a, b)


def test_a_sequence_of_arrays_argument_is_not_stacked():
    # np.concatenate takes a sequence of arrays of different lengths: never one array.
    g = gl.grad(lambda a: np.sum(np.concatenate([a, a[:1] * 2.0])))(np.ones(3))
    np.testing.assert_array_equal(g, [3.0, 1.0, 1.0])


def _array_like_cases():
    """(numpy function, example) for every registered example whose first argument is a
    float array numpy documents as array_like: it can be passed as a list of traced rows."""
    from gradlab.core.primitive import COMPOSITIONS, PRIMITIVES

    rng = np.random.default_rng(5)
    cases = []
    for decl in [*PRIMITIVES.values(), *COMPOSITIONS.values()]:
        examples = decl.examples(rng) if callable(decl.examples) else None
        for original in decl.numpy:
            if original not in NUMPY_TABLE or not examples:
                continue
            sig = CallSignature(original, NUMPY_TABLE[original].__gradlab__)
            for args, kwargs in examples[:1]:
                first = args[0] if args else None
                if (0 in sig.array_positions and isinstance(first, np.ndarray)
                        and first.dtype.kind == "f" and 1 <= first.ndim and len(first) <= 6):
                    cases.append((original, tuple(args), dict(kwargs)))
    return cases


def test_lists_of_traced_rows_work_across_the_registry():
    cases = _array_like_cases()
    assert len(cases) > 100
    wrong = []
    for original, args, kwargs in cases:
        entry, rest = NUMPY_TABLE[original], args[1:]
        first = args[0]

        def as_array(x, entry=entry, rest=rest, kwargs=kwargs):
            return gl.tree_leaves(entry(x, *rest, **kwargs))

        def as_rows(x, entry=entry, rest=rest, kwargs=kwargs):
            return gl.tree_leaves(entry([x[i] for i in range(len(x))], *rest, **kwargs))

        try:
            expected = gl.vjp(as_array, first)[0]
        except Exception:  # noqa: BLE001 - an example the array form does not trace: skip
            continue
        try:
            got = gl.vjp(as_rows, first)[0]
            for g, e in zip(got, expected):
                np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
        except Exception as exc:  # noqa: BLE001 - collected and reported together
            wrong.append(f"{CallSignature(original, entry.__gradlab__).name}: "
                         f"{type(exc).__name__}: {str(exc)[:200]}")
    assert not wrong, "\n".join(wrong)


SPELLINGS = {
    "clip min max": (lambda x: np.clip(x, min=0.0, max=1.0), lambda x: (x > 0) & (x < 1)),
    "solve by name": (lambda x: np.linalg.solve(a=x[:, :2] + 3 * np.eye(2), b=x[:, 2]), None),
    "sum a=": (lambda x: np.sum(a=x, axis=0), lambda x: np.ones_like(x)),
    "ufunc dtype=None": (lambda x: np.maximum(x, 0.0, dtype=None), lambda x: x > 0),
    "astype copy": (lambda x: x.astype(np.float64, copy=False), lambda x: np.ones_like(x)),
    "reshape shape=": (lambda x: np.reshape(x, shape=(3, 2)), lambda x: np.ones_like(x)),
}


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_numpys_keyword_spellings_work(name):
    fn, closed_form = SPELLINGS[name]
    x = np.array([[0.5, -2.0, 3.0], [0.25, 0.2, -1.0]])
    got, _ = gl.vjp(fn, x)
    np.testing.assert_allclose(got, fn(x), rtol=1e-12)
    if closed_form is None:
        gl.check_grads(fn, modes=("rev", "fwd"), order=1)(x)
    else:
        np.testing.assert_array_equal(gl.grad(lambda x: np.sum(fn(x)))(x),
                                      closed_form(x).astype(float))


OUT_CALLS = {  # out= into a fresh array; the same call without it; its source
    "sum": (lambda x: np.sum(x, axis=0, out=np.empty(4)), lambda x: np.sum(x, axis=0),
            "np.sum(x, axis=0, out=np.empty(4))"),
    "mean": (lambda x: np.mean(x, axis=0, out=np.empty(4)), lambda x: np.mean(x, axis=0),
             "np.mean(x, axis=0, out=np.empty(4))"),
    "cumsum": (lambda x: np.cumsum(x, out=np.empty(12)), np.cumsum,
               "np.cumsum(x, out=np.empty(12))"),
    "exp": (lambda x: np.exp(x, out=np.empty((3, 4))), np.exp,
            "np.exp(x, out=np.empty((3, 4)))"),
    "fft": (lambda x: np.real(np.fft.fft(x, out=np.empty((3, 4), complex))),
            lambda x: np.real(np.fft.fft(x)),
            "np.real(np.fft.fft(x, out=np.empty((3, 4), complex)))"),
}


@pytest.mark.parametrize("name", OUT_CALLS)
def test_out_into_a_fresh_array_works_where_instrumented(name):
    with_out, without_out, _ = OUT_CALLS[name]
    np.testing.assert_allclose(with_out(X), without_out(X), rtol=1e-14)  # plain numpy
    value, grads = gl.value_and_grad(lambda x: np.sum(np.sin(with_out(x))))(X)
    want_value, want = gl.value_and_grad(lambda x: np.sum(np.sin(without_out(x))))(X)
    np.testing.assert_allclose(value, want_value, rtol=1e-14)
    np.testing.assert_allclose(grads, want, rtol=1e-14)
    assert np.any(grads != 0)


@pytest.mark.parametrize("name", OUT_CALLS)
def test_out_into_an_array_is_refused_by_name_where_not_instrumented(name):
    namespace = {"np": np}
    exec(f"fn = lambda x: {OUT_CALLS[name][2]}", namespace)  # no source: numpy's protocols
    fn = namespace["fn"]
    with pytest.raises(gl.InPlaceMutationError, match=r"\(\.\.\., out=\.\.\.\) writes its result"
                                                      r" into an existing array, .*use the "
                                                      r"returned value.*out= also works when it "
                                                      r"names a local variable"):
        gl.grad(lambda x: np.sum(fn(x)))(X)
    assert np.sum(gl.grad(lambda x: np.sum(np.exp(x, out=None)))(X)) > 0  # out=None is fine


def test_ufunc_dtype_computes_in_that_dtype_and_differentiates():
    x = np.array([0.5, -1.25, 2.0])
    f = lambda x: np.sum(np.exp(x, dtype=np.float32) * np.add(x, 1.0, dtype=np.float32))  # noqa: E731
    value, g = gl.value_and_grad(f)(x)
    assert value.dtype == np.float32 and value == f(x)  # numpy's own float32 computation
    x32 = x.astype(np.float32)
    expected = np.exp(x32) * (x32 + 1.0) + np.exp(x32)  # d/dx e^x (x + 1), in float32
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    assert g.dtype == np.float64  # the argument's dtype
    gl.check_grads(lambda x: np.sum(np.sin(x, dtype=np.complex128).real), modes=("rev",),
                   order=2)(x)


def test_ufunc_layout_keywords_are_accepted_and_casting_is_numpys_rule():
    x = np.array([0.5, -1.25])
    g = gl.grad(lambda x: np.sum(np.tanh(x, order="C", subok=True, casting="unsafe")))(x)
    np.testing.assert_allclose(g, 1 - np.tanh(x) ** 2)
    with pytest.raises(TypeError, match="Cannot cast ufunc 'exp' input from dtype\\('float64'\\) "
                       "to dtype\\('float32'\\) with casting rule 'no'"):
        gl.grad(lambda x: np.sum(np.exp(x, dtype=np.float32, casting="no")))(x)
    with pytest.raises(NoRuleError, match=r"np.exp\(\.\.\., dtype=\.\.\.\)"):
        gl.grad(lambda x: np.sum(np.exp(x, dtype=np.int64)))(x)
