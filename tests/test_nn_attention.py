"""gradlab.nn attention against the direct formula; masks, causality, multi-head."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab import nn

RNG = np.random.default_rng(4)


def direct_attention(q, k, v, keep=None):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def test_attention_matches_direct_formula_without_mask():
    q, k, v = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4)), RNG.normal(size=(2, 5, 6))
    np.testing.assert_allclose(nn.scaled_dot_product_attention(q, k, v),
                               direct_attention(q, k, v), atol=1e-13)


def test_attention_with_boolean_mask_and_causal_matches_direct_formula():
    q, k, v = RNG.normal(size=(2, 4, 3)), RNG.normal(size=(2, 4, 3)), RNG.normal(size=(2, 4, 2))
    mask = RNG.uniform(size=(2, 4, 4)) > 0.3
    mask[..., 0] = True  # every query sees at least one key
    causal = np.tril(np.ones((4, 4), bool))
    got = nn.scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    np.testing.assert_allclose(got, direct_attention(q, k, v, mask & causal), atol=1e-13)
    np.testing.assert_allclose(nn.scaled_dot_product_attention(q, k, v, causal=True),
                               direct_attention(q, k, v, causal), atol=1e-13)


def test_attention_float_mask_is_added_to_scores():
    q, k, v = RNG.normal(size=(3, 2)), RNG.normal(size=(4, 2)), RNG.normal(size=(4, 2))
    bias = RNG.normal(size=(3, 4))
    s = q @ k.T / np.sqrt(2) + bias
    p = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    np.testing.assert_allclose(nn.scaled_dot_product_attention(q, k, v, mask=bias), p @ v,
                               atol=1e-13)


def test_causal_mask_with_more_keys_than_queries_aligns_to_the_end():
    assert nn.causal_mask(2, 3).tolist() == [[True, True, False], [True, True, True]]


def test_fully_masked_row_is_finite_and_large_scores_do_not_overflow():
    q = np.array([[1e4, 0.0], [0.0, 1e4]])
    k, v = q.copy(), np.array([[1.0, 0.0], [0.0, 1.0]])
    mask = np.array([[False, False], [True, True]])
    with np.errstate(over="raise", invalid="raise", under="ignore"):
        out = nn.scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[1], [0.0, 1.0])


def test_attention_matches_finite_differences():
    q, k, v = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4)), RNG.normal(size=(2, 5, 3))
    mask = RNG.uniform(size=(3, 5)) > 0.4
    gl.check_grads(lambda a, b, c: nn.scaled_dot_product_attention(a, b, c, mask=mask,
                                                                   causal=True), q, k, v)


def test_multi_head_attention_matches_a_per_head_loop():
    d, heads = 8, 2
    p = nn.init_mha(gl.random.key(1), d)
    p = {name: val + RNG.normal(size=val.shape) * 0.1 for name, val in p.items()}
    x = RNG.normal(size=(2, 5, d))
    got = nn.multi_head_attention(x, p, num_heads=heads, causal=True)
    q, k, v = (x @ p["wq"] + p["bq"], x @ p["wk"] + p["bk"], x @ p["wv"] + p["bv"])
    dh = d // heads
    causal = np.tril(np.ones((5, 5), bool))
    outs = [direct_attention(q[..., h * dh:(h + 1) * dh], k[..., h * dh:(h + 1) * dh],
                             v[..., h * dh:(h + 1) * dh], causal) for h in range(heads)]
    expected = np.concatenate(outs, -1) @ p["wo"] + p["bo"]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    gl.check_grads(lambda a, prm: nn.multi_head_attention(a, prm, heads, causal=True), x, p,
                   order=1)


def test_multi_head_attention_cross_attention_shape_and_error():
    p = nn.init_mha(gl.random.key(0), 6, bias=False)
    out = nn.multi_head_attention(np.ones((3, 6)), p, 3, context=np.ones((7, 6)))
    assert out.shape == (3, 6)
    with pytest.raises(ValueError, match="model dimension 6 is not divisible by num_heads=4"):
        nn.multi_head_attention(np.ones((3, 6)), p, 4)


def test_per_example_gradients_of_an_attention_model_match_a_loop():
    table = RNG.normal(size=(7, 8)) * 0.3
    p = nn.init_mha(gl.random.key(2), 8)
    ids, targets = RNG.integers(0, 7, size=(3, 5)), RNG.integers(0, 7, size=(3, 5))

    def loss(prm, i, t):
        x = nn.layer_norm(nn.embedding(i, table))
        return nn.cross_entropy(nn.multi_head_attention(x, prm, 2, causal=True) @ table.T, t)

    per_example = gl.vmap(gl.grad(loss), in_axes=(None, 0, 0))(p, ids, targets)
    for n in range(3):
        expected = gl.grad(loss)(p, ids[n], targets[n])
        for name in ("wq", "wo", "bv"):
            np.testing.assert_allclose(per_example[name][n], expected[name], atol=1e-12)
