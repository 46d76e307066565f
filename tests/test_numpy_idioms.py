"""Idioms that ported programs use: ufunc methods on traced values, OrderedDict and
defaultdict parameters, JAX's PRNGKey spelling, and the message for a forgotten has_aux."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import gradlab as gl

X = np.array([[0.1, 0.5, -0.3], [1.0, 2.0, 0.2]])

UFUNC_METHODS = {
    "add.reduce": (lambda x: np.add.reduce(x), lambda x: np.sum(x, axis=0)),
    "add.reduce axis=1": (lambda x: np.add.reduce(x, axis=1), lambda x: np.sum(x, axis=1)),
    "multiply.reduce": (lambda x: np.multiply.reduce(x, 1), lambda x: np.prod(x, axis=1)),
    "maximum.reduce": (lambda x: np.maximum.reduce(x), lambda x: np.max(x, axis=0)),
    "logaddexp.reduce": (lambda x: np.logaddexp.reduce(x),
                         lambda x: np.log(np.sum(np.exp(x), axis=0))),
    "logaddexp2.reduce keepdims": (lambda x: np.logaddexp2.reduce(x, axis=1, keepdims=True),
                                   lambda x: np.log2(np.sum(2.0 ** x, axis=1, keepdims=True))),
    "add.accumulate": (lambda x: np.add.accumulate(x, axis=1), lambda x: np.cumsum(x, axis=1)),
    "multiply.outer": (lambda x: np.multiply.outer(x[0], x[1]), lambda x: np.outer(x[0], x[1])),
    "subtract.outer": (lambda x: np.subtract.outer(x[0], x[1]),
                       lambda x: x[0][:, None] - x[1][None, :]),
}


@pytest.mark.parametrize("name", UFUNC_METHODS)
def test_ufunc_methods_on_traced_values_match_numpy_and_finite_differences(name):
    method, reference = UFUNC_METHODS[name]
    np.testing.assert_allclose(method(X), reference(X), rtol=1e-12)
    loss = lambda x: np.sum(np.sin(method(x)))  # noqa: E731
    np.testing.assert_allclose(gl.grad(loss)(X), gl.grad(lambda x: np.sum(np.sin(reference(x))))(X),
                               rtol=1e-10)
    gl.check_grads(loss, modes=["rev", "fwd"], order=2)(X)


def test_a_ufunc_method_without_a_rule_names_itself():
    with pytest.raises(gl.NoRuleError, match=r"np.subtract.accumulate has no gradlab rule"):
        gl.grad(lambda x: np.sum(np.subtract.accumulate(x)))(X)


def test_ordered_and_default_dict_parameters_differentiate_in_their_own_key_order():
    params = collections.OrderedDict(w=np.array([1.0, 2.0]), b=np.array(0.5))
    g = gl.grad(lambda p: np.sum(p["w"] ** 2) * p["b"])(params)
    assert type(g) is collections.OrderedDict and list(g) == ["w", "b"]
    np.testing.assert_allclose(g["w"], [1.0, 2.0])
    np.testing.assert_allclose(g["b"], 5.0)
    counts = collections.defaultdict(float, {"a": np.array(3.0)})
    g = gl.grad(lambda d: d["a"] ** 2)(counts)
    assert type(g) is collections.defaultdict and g.default_factory is float
    np.testing.assert_allclose(g["a"], 6.0)
    gl.check_grads(lambda p: np.sum(np.tanh(p["w"]) * p["b"]), order=2)(params)


def test_prngkey_is_jax_spelling_of_key():
    assert np.array_equal(gl.random.PRNGKey(7), gl.random.key(7))


def test_a_tuple_output_without_has_aux_says_what_to_do():
    with pytest.raises(TypeError, match=r"returned a tuple of 2 items.*has_aux=True"):
        gl.grad(lambda w: (np.sum(w ** 2), w))(np.ones(2))


@pytest.mark.parametrize("name,kwargs", [("sgd", {"step_size": 0.1, "num_iters": 400}),
                                         ("rmsprop", {"step_size": 0.01, "num_iters": 600}),
                                         ("adam", {"step_size": 0.05, "num_iters": 400})])
def test_autograd_misc_optimizers_minimise_over_a_pytree_and_call_back(name, kwargs):
    from gradlab.misc import optimizers

    target = {"w": np.array([1.0, -2.0]), "layers": [(np.array(0.5), np.array([3.0]))]}

    def objective(p, i):
        return sum(np.sum((a - b) ** 2) for a, b in zip(gl.tree_leaves(p),
                                                         gl.tree_leaves(target)))

    seen = []
    start = gl.tree_map(np.zeros_like, target)
    best = getattr(optimizers, name)(gl.grad(objective), start,
                                     callback=lambda p, i, g: seen.append(i), **kwargs)
    assert seen == list(range(kwargs["num_iters"]))
    assert type(best["layers"][0]) is tuple
    for got, want in zip(gl.tree_leaves(best), gl.tree_leaves(target)):
        np.testing.assert_allclose(got, want, atol=2e-2)


def test_adam_takes_the_published_first_step():
    from gradlab.misc.optimizers import adam

    # the first bias-corrected Adam step moves every coordinate by step_size * sign(g)
    x = adam(lambda x, i: np.array([4.0, -0.5]), np.zeros(2), step_size=0.1, num_iters=1)
    np.testing.assert_allclose(x, [-0.1, 0.1], rtol=1e-6)


def test_frozen_multivariate_normal_with_traced_mean_data_or_covariance():
    st = pytest.importorskip("scipy.stats")
    mean, cov = np.array([0.3, -0.2]), np.array([[2.0, 0.3], [0.3, 1.0]])
    x = np.array([0.1, 0.4])
    by_mean = lambda m: st.multivariate_normal(m, cov).logpdf(x)  # noqa: E731
    np.testing.assert_allclose(by_mean(mean), st.multivariate_normal(mean, cov).logpdf(x))
    # d/dm log N(x; m, C) = C^{-1} (x - m)
    np.testing.assert_allclose(gl.grad(by_mean)(mean), np.linalg.solve(cov, x - mean),
                               rtol=1e-12)
    gl.check_grads(lambda x: st.multivariate_normal(mean, cov).logpdf(x), order=2)(x)
    gl.check_grads(lambda c: st.multivariate_normal(mean=mean, cov=c).pdf(x))(cov)
