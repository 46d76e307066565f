"""gradlab.random: explicit keys, determinism, independence, distributions, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab import random as gr


def test_key_is_two_uint32_words_of_the_seed():
    k = gr.key(2**32 + 5)
    assert k.dtype == np.uint32 and k.tolist() == [1, 5]
    assert gr.is_key(k) and not gr.is_key(np.array([1, 5]))


def test_same_key_gives_same_numbers_and_nothing_depends_on_global_state():
    k = gr.key(7)
    a = gr.normal(k, (5,))
    np.random.seed(123)  # numpy's global state must not matter
    np.random.normal(size=100)
    b = gr.normal(k, (5,))
    np.testing.assert_array_equal(a, b)
    assert gr.uniform(k, (3,)).tolist() == gr.uniform(k, (3,)).tolist()


def test_split_gives_distinct_deterministic_children():
    k = gr.key(0)
    children = gr.split(k, 4)
    assert children.shape == (4, 2) and children.dtype == np.uint32
    assert len({tuple(c) for c in children.tolist()} | {tuple(k.tolist())}) == 5
    np.testing.assert_array_equal(children, gr.split(k, 4))
    samples = [gr.normal(c, (1000,)) for c in children]
    corr = np.corrcoef(samples)
    assert np.max(np.abs(corr - np.eye(4))) < 0.15  # independent streams


def test_fold_in_depends_on_key_and_data_only():
    k = gr.key(1)
    assert gr.fold_in(k, 3).tolist() == gr.fold_in(k, 3).tolist()
    assert gr.fold_in(k, 3).tolist() != gr.fold_in(k, 4).tolist()
    assert gr.fold_in(k, 3).tolist() != gr.fold_in(gr.key(2), 3).tolist()
    assert gr.fold_in(k, 0).tolist() not in gr.split(k, 2).tolist()


def test_distributions_have_the_right_moments_and_dtypes():
    k = gr.key(3)
    x = gr.normal(k, (20000,))
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1) < 0.03
    assert gr.normal(k, (2, 2), dtype=np.float32).dtype == np.float32
    u = gr.uniform(k, (20000,), minval=-2.0, maxval=4.0)
    assert u.min() >= -2 and u.max() < 4 and abs(u.mean() - 1) < 0.05
    b = gr.bernoulli(k, 0.3, (20000,))
    assert b.dtype == bool and abs(b.mean() - 0.3) < 0.02
    assert gr.bernoulli(k, np.array([0.0, 1.0])).tolist() == [False, True]
    r = gr.randint(k, (1000,), 2, 5)
    assert set(np.unique(r).tolist()) == {2, 3, 4}


def test_permutation_of_int_and_of_array_rows():
    k = gr.key(4)
    p = gr.permutation(k, 10)
    assert sorted(p.tolist()) == list(range(10)) and p.tolist() != list(range(10))
    rows = np.arange(12).reshape(6, 2)
    shuffled = gr.permutation(k, rows)
    assert sorted(shuffled[:, 0].tolist()) == [0, 2, 4, 6, 8, 10]
    np.testing.assert_array_equal(shuffled[:, 1], shuffled[:, 0] + 1)  # rows move whole


def test_categorical_samples_follow_softmax_and_are_stable_at_large_logits():
    k = gr.key(5)
    logits = np.log(np.array([0.2, 0.5, 0.3]))
    draws = np.array([gr.categorical(c, logits) for c in gr.split(k, 3000)])
    freq = np.bincount(draws, minlength=3) / 3000
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.03)
    assert gr.categorical(k, np.array([[1e4, 0.0], [0.0, 1e4]])).tolist() == [0, 1]


def test_errors_name_the_function_and_what_was_passed():
    with pytest.raises(TypeError, match=r"gradlab.random.normal expects a key from "
                                        r"gradlab.random.key\(seed\).*got int 0"):
        gr.normal(0, (2,))
    with pytest.raises(TypeError, match="got ndarray of dtype int64 and shape"):
        gr.split(np.array([1, 2]))
    with pytest.raises(TypeError, match="needs an int seed, got float"):
        gr.key(1.5)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\), got -1"):
        gr.key(-1)
    with pytest.raises(ValueError, match="num must be >= 1, got 0"):
        gr.split(gr.key(0), 0)


def test_public_api_exposes_the_module():
    assert gl.random is gr


def test_samplers_map_over_a_batch_of_keys_under_vmap():
    keys = gl.random.split(gl.random.key(3), 4)
    for sample in (lambda k: gl.random.normal(k, (2, 3)),
                   lambda k: gl.random.uniform(k, (5,), minval=-1.0, maxval=2.0),
                   lambda k: gl.random.bernoulli(k, 0.3, (6,)),
                   lambda k: gl.random.permutation(k, 7),
                   lambda k: gl.random.split(k, 3)):
        batched = gl.vmap(sample)(keys)
        np.testing.assert_array_equal(batched, np.stack([sample(k) for k in keys]))
    # nested: a grid of keys, and keys that are derived inside the mapped function
    grid = np.stack([gl.random.split(k, 2) for k in keys])
    nested = gl.vmap(gl.vmap(lambda k: gl.random.normal(gl.random.fold_in(k, 1), (3,))))(grid)
    assert nested.shape == (4, 2, 3)
    np.testing.assert_array_equal(nested[2, 1],
                                  gl.random.normal(gl.random.fold_in(grid[2, 1], 1), (3,)))


def test_per_example_dropout_masks_differ_across_the_batch():
    keys = gl.random.split(gl.random.key(0), 8)
    masks = gl.vmap(lambda k: gl.random.bernoulli(k, 0.5, (16,)))(keys)
    assert len({m.tobytes() for m in masks}) == 8
