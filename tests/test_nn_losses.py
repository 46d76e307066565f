"""gradlab.nn losses: closed forms, label smoothing, stability, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab import nn

RNG = np.random.default_rng(1)
LOGITS = RNG.normal(size=(5, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2])


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_cross_entropy_integer_labels_matches_formula_and_one_hot():
    expected = -np.mean(np.log(_softmax(LOGITS))[np.arange(5), LABELS])
    assert nn.cross_entropy(LOGITS, LABELS) == pytest.approx(expected, rel=1e-13)
    assert nn.cross_entropy(LOGITS, np.eye(4)[LABELS]) == pytest.approx(expected, rel=1e-13)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    g = gl.grad(lambda z: nn.cross_entropy(z, LABELS, reduction="sum"))(LOGITS)
    np.testing.assert_allclose(g, _softmax(LOGITS) - np.eye(4)[LABELS], atol=1e-14)


def test_cross_entropy_label_smoothing_closed_form():
    eps = 0.2
    target = np.eye(4)[LABELS] * (1 - eps) + eps / 4
    expected = -np.sum(target * np.log(_softmax(LOGITS)), -1)
    got = nn.cross_entropy(LOGITS, LABELS, label_smoothing=eps, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_cross_entropy_class_axis_can_be_first():
    got = nn.cross_entropy(LOGITS.T, LABELS, axis=0, reduction="none")
    np.testing.assert_allclose(got, nn.cross_entropy(LOGITS, LABELS, reduction="none"))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_finite_differences(smoothing):
    gl.check_grads(lambda z: nn.cross_entropy(z, LABELS, label_smoothing=smoothing), LOGITS)
    gl.check_grads(lambda z, t: nn.cross_entropy(z, t, label_smoothing=smoothing),
                   LOGITS, _softmax(RNG.normal(size=(5, 4))))


def test_cross_entropy_at_logits_1e4_is_exact_and_finite():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        assert nn.cross_entropy(logits, np.array([0, 1])) == 0.0
        wrong = nn.cross_entropy(logits, np.array([2, 0]), reduction="none")
        g = gl.grad(lambda z: nn.cross_entropy(z, np.array([2, 0])))(logits)
    np.testing.assert_allclose(wrong, [2e4, 1e4])
    np.testing.assert_allclose(g, [[0.5, 0, -0.5], [-0.5, 0.5, 0]], atol=1e-15)


def test_cross_entropy_rejects_mismatched_shapes_and_bad_reduction():
    with pytest.raises(ValueError, match=r"integer labels of shape \(4,\) do not match logits"):
        nn.cross_entropy(LOGITS, LABELS[:4])
    with pytest.raises(ValueError, match=r"must have the logits' shape \(5, 4\)"):
        nn.cross_entropy(LOGITS, np.ones((5, 3)))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.cross_entropy(LOGITS, LABELS, reduction="avg")


def test_one_hot_values_axis_and_error():
    assert nn.one_hot(np.array([1, 0]), 3).tolist() == [[0, 1, 0], [1, 0, 0]]
    assert nn.one_hot(np.array([1, 0]), 3, axis=0).tolist() == [[0, 1], [1, 0], [0, 0]]
    assert nn.one_hot(np.array([2]), 3, dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="one_hot needs integer labels, got dtype float64"):
        nn.one_hot(np.array([1.0]), 3)


def test_binary_cross_entropy_with_logits_formula_gradient_and_stability():
    x, t = LOGITS.ravel(), RNG.uniform(size=20)
    s = 1 / (1 + np.exp(-x))
    expected = -np.mean(t * np.log(s) + (1 - t) * np.log(1 - s))
    assert nn.binary_cross_entropy_with_logits(x, t) == pytest.approx(expected, rel=1e-12)
    g = gl.grad(lambda z: nn.binary_cross_entropy_with_logits(z, t, reduction="sum"))(x)
    np.testing.assert_allclose(g, s - t, atol=1e-14)
    gl.check_grads(nn.binary_cross_entropy_with_logits, x, t)
    big = nn.binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([0.0, 1.0]),
                                              reduction="none")
    assert big.tolist() == [1e4, 1e4]


def test_mse_and_huber_values_and_gradients():
    p, t = RNG.normal(size=6), RNG.normal(size=6)
    assert nn.mse(p, t) == pytest.approx(np.mean((p - t) ** 2))
    assert nn.mse(p, t, reduction="sum") == pytest.approx(np.sum((p - t) ** 2))
    r = np.array([-3.0, -0.5, 0.25, 2.0])
    assert nn.huber(r, np.zeros(4), delta=1.0, reduction="none").tolist() == [2.5, 0.125,
                                                                               0.03125, 1.5]
    g = gl.grad(lambda a: nn.huber(a, np.zeros(4), reduction="sum"))(r)
    assert g.tolist() == [-1.0, -0.5, 0.25, 1.0]  # clipped residual
    gl.check_grads(lambda a, b: nn.huber(a, b, delta=0.5), p, t)
    gl.check_grads(nn.mse, p, t)


def test_accuracy_counts_argmax_hits():
    assert nn.accuracy(LOGITS, np.argmax(LOGITS, -1)) == 1.0
    assert nn.accuracy(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1, 1])) == 0.5
