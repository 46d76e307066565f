"""gradlab.nn convolutions and pooling against naive loops; windows/overlap_add duality."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab import nn

RNG = np.random.default_rng(3)


def naive_conv2d(x, w, b, stride, padding, dilation, groups):
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = stride, padding, dilation
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    xp[:, :, pt:pt + h, pl:pl + wd] = x
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, ho, wo))
    per_out = o // groups
    for ni in range(n):
        for oi in range(o):
            gi = oi // per_out
            for i in range(ho):
                for j in range(wo):
                    acc = b[oi] if b is not None else 0.0
                    for ci in range(cg):
                        for a in range(kh):
                            for bb in range(kw):
                                acc += (w[oi, ci, a, bb]
                                        * xp[ni, gi * cg + ci, i * sh + a * dh, j * sw + bb * dw])
                    out[ni, oi, i, j] = acc
    return out


CONV_CASES = [
    dict(stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1),
    dict(stride=(2, 1), padding=((1, 2), (0, 1)), dilation=(1, 2), groups=1),
    dict(stride=(1, 2), padding=((1, 1), (1, 1)), dilation=(2, 1), groups=2),
    dict(stride=(3, 3), padding=((2, 2), (2, 2)), dilation=(1, 1), groups=4),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_naive_loop(case):
    groups = case["groups"]
    x = RNG.normal(size=(2, 4, 7, 6))
    w = RNG.normal(size=(8, 4 // groups, 3, 2))
    b = RNG.normal(size=8)
    expected = naive_conv2d(x, w, b, **case)
    np.testing.assert_allclose(nn.conv2d(x, w, b, **case), expected, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES[1:3])
def test_conv2d_matches_finite_differences_to_second_order(case):
    groups = case["groups"]
    x = RNG.normal(size=(2, 4, 5, 5))
    w = RNG.normal(size=(4, 4 // groups, 2, 2))
    gl.check_grads(lambda a, k, c: nn.conv2d(a, k, c, **case), x, w, RNG.normal(size=4))


def test_conv2d_padding_forms_same_and_valid():
    x, w = RNG.normal(size=(1, 2, 6, 5)), RNG.normal(size=(3, 2, 3, 4))
    same = nn.conv2d(x, w, padding="same")
    assert same.shape == (1, 3, 6, 5)
    ref = naive_conv2d(x, w, None, (1, 1), ((1, 1), (1, 2)), (1, 1), 1)
    np.testing.assert_allclose(same, ref, atol=1e-12)
    np.testing.assert_allclose(nn.conv2d(x, w, padding="valid"), nn.conv2d(x, w), atol=0)
    np.testing.assert_allclose(nn.conv2d(x, w, padding=(1, 2)),
                               naive_conv2d(x, w, None, (1, 1), ((1, 1), (2, 2)), (1, 1), 1),
                               atol=1e-12)
    assert nn.conv2d(x[0], w).shape == (3, 4, 2)  # no batch axis


def test_conv2d_errors_name_the_mismatch():
    x = np.ones((1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"input with 3 channels and weights of shape "
                                          r"\(2, 2, 1, 1\) do not fit groups=1"):
        nn.conv2d(x, np.ones((2, 2, 1, 1)))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.conv2d(x, np.ones((2, 3, 3, 3)), stride=2, padding="same")


def test_conv1d_matches_numpy_correlate():
    x, w = RNG.normal(size=(1, 1, 9)), RNG.normal(size=(1, 1, 3))
    ref = np.correlate(np.pad(x[0, 0], 1), w[0, 0], mode="valid")[::2]
    np.testing.assert_allclose(nn.conv1d(x, w, stride=2, padding=1)[0, 0], ref, atol=1e-12)
    gl.check_grads(lambda a, k: nn.conv1d(a, k, dilation=2, padding=2),
                   RNG.normal(size=(2, 3, 6)), RNG.normal(size=(5, 3, 2)))


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (2, 0, 0, 2, 2), (3, 1, 2, 1, 1)])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(stride, padding, output_padding, dilation,
                                                   groups):
    x = RNG.normal(size=(2, 4, 4, 5))  # conv_transpose input
    w = RNG.normal(size=(4, 6 // groups, 3, 2))  # (C_in, C_out / groups, KH, KW)
    y = nn.conv_transpose2d(x, w, stride=stride, padding=padding,
                            output_padding=output_padding, dilation=dilation, groups=groups)
    u = RNG.normal(size=y.shape)
    # <conv_transpose(x), u> == <x, conv(u)> with the same weights and geometry
    cu = nn.conv2d(u, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert cu.shape == x.shape
    assert np.vdot(y, u) == pytest.approx(np.vdot(x, cu), rel=1e-12)
    gl.check_grads(lambda a, k: nn.conv_transpose2d(a, k, stride=stride, padding=padding,
                                                    output_padding=output_padding,
                                                    dilation=dilation, groups=groups),
                   x[:1], w, order=1)


def test_conv_transpose2d_known_answer_and_bias():
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    y = nn.conv_transpose2d(x, np.ones((1, 1, 2, 2)), np.array([10.0]), stride=2)
    expected = np.kron(x[0, 0], np.ones((2, 2))) + 10
    np.testing.assert_array_equal(y[0, 0], expected)
    with pytest.raises(ValueError, match="output_padding must be smaller than the stride"):
        nn.conv_transpose2d(x, np.ones((1, 1, 2, 2)), stride=1, output_padding=1)


def test_windows_and_overlap_add_are_adjoint_and_differentiable_to_third_order():
    geom = dict(kernel=(2, 3), stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2))
    x = RNG.normal(size=(3, 6, 7))
    cols = nn.windows(x, **geom)
    u = RNG.normal(size=cols.shape)
    back = nn.overlap_add(u, shape=(6, 7), **geom)
    assert np.vdot(cols, u) == pytest.approx(np.vdot(x, back), rel=1e-12)
    gl.check_grads(lambda a: nn.windows(a, **geom) ** 2, x, order=3)
    gl.check_grads(lambda a: nn.overlap_add(a, shape=(6, 7), **geom) ** 2, u, order=3)


def test_max_and_avg_pool_match_loops():
    x = RNG.normal(size=(2, 3, 5, 6))
    mp = nn.max_pool2d(x, 2, padding=1)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    ref = np.array([[[[xp[n, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max() for j in range(4)]
                      for i in range(3)] for c in range(3)] for n in range(2)])
    np.testing.assert_array_equal(mp, ref)
    ap = nn.avg_pool2d(x, (2, 3), stride=1)
    ref = np.array([[[[x[n, c, i:i + 2, j:j + 3].mean() for j in range(4)] for i in range(4)]
                     for c in range(3)] for n in range(2)])
    np.testing.assert_allclose(ap, ref, atol=1e-14)
    gl.check_grads(lambda a: nn.max_pool2d(a, 2, padding=1), x)
    gl.check_grads(lambda a: nn.avg_pool2d(a, 3, stride=2, padding=1), x)


def test_max_pool_gradient_routes_to_the_winner_only():
    x = np.array([[[[1.0, 5.0], [2.0, 3.0]]]])
    g = gl.grad(lambda a: np.sum(nn.max_pool2d(a, 2)))(x)
    assert g[0, 0].tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_conv2d_under_vmap_matches_batched_call_and_per_example_grads_match_a_loop():
    x, w = RNG.normal(size=(4, 2, 5, 5)), RNG.normal(size=(3, 2, 3, 3))
    np.testing.assert_allclose(gl.vmap(lambda a: nn.conv2d(a, w, padding=1))(x),
                               nn.conv2d(x, w, padding=1), atol=1e-12)

    def loss(k, a):
        return np.sum(nn.max_pool2d(nn.relu(nn.conv2d(a[None], k, padding=1)), 2) ** 2)

    per_example = gl.vmap(gl.grad(loss), in_axes=(None, 0))(w, x)
    loop = np.stack([gl.grad(loss)(w, x[i]) for i in range(4)])
    np.testing.assert_allclose(per_example, loop, atol=1e-12)
