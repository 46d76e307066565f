"""gradlab.rules: each built-in rule's formula against a hand computation, the registry,
composition order and the declared semantics."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import gradlab as gl
from gradlab import rules

ONES = np.ones(4)


@pytest.mark.parametrize("rule, x, expected", [
    (rules.d_relu, [-1.0, 0.0, 2.0, 3.0], [0.0, 0.0, 1.0, 1.0]),
    (rules.d_linear, [-1.0, 0.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0]),
    # unit box on (a, b): height 1 / (b - a)
    (rules.rectangular(), [-0.6, 0.0, 0.4, 0.5], [0.0, 1.0, 1.0, 0.0]),
    (rules.rectangular(a=0.0, b=2.0), [-0.1, 1.0, 1.9, 2.5], [0.0, 0.5, 0.5, 0.0]),
    # max(0, 1 - |x| / w) / w with w = 2
    (rules.triangular(width=2.0), [-1.0, 0.0, 3.0, 1.5], [0.25, 0.5, 0.0, 0.125]),
    # slope * s * (1 - s): s(0) = 1/2; s(ln 3) = 3/4
    (rules.sigmoid_prime(slope=1.0), [0.0, np.log(3.0), -np.log(3.0), 0.0],
     [0.25, 0.1875, 0.1875, 0.25]),
    (rules.sigmoid_prime(slope=2.0), [0.0, np.log(3.0) / 2, 0.0, 0.0], [0.5, 0.375, 0.5, 0.5]),
    # alpha / 2 / (1 + (pi/2 alpha x)^2) with alpha = 2: x = 1/pi gives 1 / 2
    (rules.atan(alpha=2.0), [0.0, 1 / np.pi, -1 / np.pi, 0.0], [1.0, 0.5, 0.5, 1.0]),
    # 1 / (1 + slope |x|)^2 with slope = 2
    (rules.fast_sigmoid(slope=2.0), [0.0, 0.5, -1.5, 1.0], [1.0, 0.25, 1 / 16, 1 / 9]),
])
def test_derivative_rule_formula_matches_hand_computation(rule, x, expected):
    g = np.array([2.0, -1.0, 0.5, 3.0])
    np.testing.assert_allclose(rule.apply(g, np.array(x)), g * np.array(expected), rtol=1e-12)


def test_default_parameters_are_stated_and_used():
    assert rules.fast_sigmoid.defaults == {"slope": 25.0}
    assert float(rules.fast_sigmoid.apply(1.0, 0.2)) == pytest.approx(1 / 36)
    assert rules.rectangular.defaults == {"a": -0.5, "b": 0.5}


def test_jamming_rules_multiply_by_uniform_draws_of_their_key():
    key = gl.random.key(3)
    g, x = np.array([1.0, -2.0, 3.0, 4.0]), np.array([-6.0, -1.0, 0.0, 2.0])
    u = gl.random.uniform(key, (4,))
    np.testing.assert_array_equal(rules.full_jam(key=key).apply(g, x), g * u)
    np.testing.assert_array_equal(rules.positive_jam(key=key).apply(g, x),
                                  g * u * np.array([0.0, 0.0, 1.0, 1.0]))
    np.testing.assert_array_equal(rules.rectangular_jam(a=-5.0, b=1.0, key=key).apply(g, x),
                                  g * u * np.array([0.0, 1.0, 1.0, 0.0]))
    assert np.all((u >= 0) & (u < 1)) and len(set(u.tolist())) == 4


def test_cotangent_rule_formulas_match_hand_computation():
    assert rules.scale(s=3.0).apply(np.array([1.0, -2.0]), None).tolist() == [3.0, -6.0]
    np.testing.assert_allclose(rules.clip_norm(max_norm=1.0).apply(np.array([3.0, 4.0]), None),
                               [0.6, 0.8])
    np.testing.assert_allclose(rules.clip_norm(1.0).apply(np.array([0.3, 0.4]), None),
                               [0.3, 0.4])
    rows = np.array([[3.0, 4.0], [0.3, 0.4]])
    np.testing.assert_allclose(rules.clip_norm(1.0, axis=1).apply(rows, None),
                               [[0.6, 0.8], [0.3, 0.4]])
    assert rules.clip_norm(1.0).apply(np.zeros(2), None).tolist() == [0.0, 0.0]  # no NaN
    assert rules.clip_value(lo=-1.0, hi=1.0).apply(np.array([-3.0, 0.5, 2.0]),
                                                   None).tolist() == [-1.0, 0.5, 1.0]
    assert rules.centralize().apply(np.array([1.0, 2.0, 3.0]), None).tolist() == [-1.0, 0.0, 1.0]
    np.testing.assert_allclose(
        rules.centralize(axis=0).apply(np.array([[1.0, 2.0], [3.0, 6.0]]), None),
        [[-1.0, -2.0], [1.0, 2.0]])


def test_noise_adds_sigma_times_normal_draws_of_its_key():
    key = gl.random.key(7)
    g = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(rules.noise(sigma=0.5, key=key).apply(g, None),
                               g + 0.5 * gl.random.normal(key, (3,)))
    other = rules.noise(sigma=0.5, key=gl.random.key(8)).apply(g, None)
    assert not np.allclose(other, rules.noise(sigma=0.5, key=key).apply(g, None))


def test_random_rule_without_key_names_the_rule_and_the_fix():
    with pytest.raises(rules.RuleError, match=r"'noise' draws random numbers and needs an "
                                              r"explicit key: rules.use\('noise', key="):
        rules.noise(sigma=1.0).apply(np.ones(2), None)
    with pytest.raises(rules.RuleError, match="'full_jam' draws random numbers"):
        rules.use("full_jam", scope="all")


def test_compose_applies_left_to_right():
    g = np.array([3.0, -0.25])
    clip_then_scale = rules.compose(rules.clip_value(-1.0, 1.0), rules.scale(2.0))
    scale_then_clip = rules.compose(rules.scale(2.0), rules.clip_value(-1.0, 1.0))
    assert clip_then_scale.apply(g, None).tolist() == [2.0, -0.5]
    assert scale_then_clip.apply(g, None).tolist() == [1.0, -0.5]
    assert clip_then_scale.kind == "cotangent" and not clip_then_scale.linear
    surrogate = rules.compose("scale", rules.fast_sigmoid(slope=1.0))
    assert surrogate.kind == "derivative" and surrogate.linear
    assert float(surrogate.apply(2.0, 1.0)) == 0.5  # scale's default s = 1


def test_registry_register_get_available_and_duplicates():
    assert {"fast_sigmoid", "clip_norm", "rectangular_jam", "centralize"} <= set(
        rules.available())
    assert rules.get("atan") is rules.atan
    rule = rules.register("test_triple", lambda g, x, k=3.0: k * g, defaults={"k": 3.0},
                          linear=True)
    try:
        assert rules.get("test_triple").apply(np.ones(1), None).tolist() == [3.0]
        with pytest.raises(ValueError, match="a rule named 'test_triple' is already registered"):
            rules.register("test_triple", lambda g, x: g)
        assert rule.kind == "derivative"  # the definition: g arrives at the op
    finally:
        rules.unregister("test_triple")
    with pytest.raises(KeyError, match="no rule named 'nope'; available: atan, centralize"):
        rules.get("nope")


def test_binding_unknown_parameters_is_refused():
    with pytest.raises(TypeError, match=r"rule 'fast_sigmoid' has no parameter 'alpha'; its "
                                        r"parameters are \('slope',\)"):
        rules.fast_sigmoid(alpha=2.0)
    with pytest.raises(TypeError, match="takes parameters"):
        rules.scale(1.0, 2.0)


def test_each_rule_declares_its_semantics():
    for name in rules.available():
        semantics = rules.get(name).semantics
        assert set(semantics) == {"jvp", "vmap", "grad(grad)"}
    assert rules.clip_norm.semantics["jvp"].startswith("RuleError")
    assert rules.noise.semantics["jvp"].startswith("RuleError")
    assert rules.fast_sigmoid.semantics["jvp"].startswith("supported")
    assert rules.centralize.semantics["jvp"].startswith("supported")
    assert repr(rules.fast_sigmoid(slope=2.0)) == "fast_sigmoid(slope=2.0)"


@pytest.mark.parametrize("name", ["gradlab.rules", "gradlab.rules.registry",
                                  "gradlab.rules.builtin", "gradlab.rules.scope",
                                  "gradlab.nn.activation_layer"])
def test_docstring_examples_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed"
    assert result.attempted > 0, f"{name} has no docstring examples"
