"""Sorting and order statistics: values against numpy, gradients in closed form, vmap."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl

RNG = np.random.default_rng(2)


def test_sort_gradient_routes_each_cotangent_to_its_source_element():
    x = np.array([3.0, -1.0, 2.0, 0.5])
    out, back = gl.vjp(np.sort, x)
    np.testing.assert_array_equal(out, np.sort(x))
    ct = np.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_array_equal(back(ct)[0], [40.0, 10.0, 30.0, 20.0])
    gl.check_grads(lambda a: np.sort(a, axis=0) ** 2, RNG.normal(size=(3, 4)))


def test_partition_places_the_kth_order_statistic_and_differentiates():
    x = RNG.normal(size=(7,))
    out = gl.vjp(lambda a: np.partition(a, 3), x)[0]
    assert out[3] == np.sort(x)[3]
    assert np.all(out[:3] <= out[3]) and np.all(out[4:] >= out[3])
    g = gl.grad(lambda a: np.partition(a, 3)[3])(x)
    np.testing.assert_array_equal(g, (x == np.sort(x)[3]).astype(float))


def test_median_and_quantile_gradients_split_between_neighbours():
    x = np.array([4.0, 1.0, 3.0, 2.0])
    np.testing.assert_allclose(gl.grad(np.median)(x), [0.0, 0.0, 0.5, 0.5])
    # q = 0.25 of 4 values: position 0.75 between the 1st and 2nd order statistics
    np.testing.assert_allclose(gl.grad(lambda a: np.quantile(a, 0.25))(x), [0, 0.25, 0, 0.75])
    np.testing.assert_allclose(gl.grad(lambda q: np.quantile(x, q))(0.25), 3.0)  # (n-1) * 1
    np.testing.assert_allclose(gl.grad(lambda a: np.percentile(a, 100.0))(x), [1.0, 0, 0, 0])


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "nearest", "midpoint"])
def test_quantile_methods_match_numpy(method):
    x = RNG.normal(size=(3, 6))
    q = np.array([0.0, 0.15, 0.5, 0.82, 1.0])
    got = gl.vjp(lambda a: np.quantile(a, q, axis=1, method=method), x)[0]
    np.testing.assert_allclose(got, np.quantile(x, q, axis=1, method=method))


def test_nan_order_statistics_ignore_nans():
    x = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan, 5.0, np.nan, 4.0]])
    got, back = gl.vjp(lambda a: np.nanmedian(a, axis=1), x)
    np.testing.assert_allclose(got, np.nanmedian(x, axis=1))
    np.testing.assert_allclose(back(np.ones(2))[0], [[0, 0, 0, 1.0], [0, 0.5, 0, 0.5]])
    np.testing.assert_allclose(gl.vjp(lambda a: np.nanpercentile(a, 30.0, axis=1), x)[0],
                               np.nanpercentile(x, 30.0, axis=1))


def test_argsort_and_searchsorted_are_constants():
    x = RNG.normal(size=(5,))
    g = gl.grad(lambda a: np.sum(a[np.argsort(a)] * np.arange(5.0)))(x)
    np.testing.assert_array_equal(g, np.argsort(np.argsort(x)).astype(float))
    bins = np.array([-1.0, 0.0, 1.0])
    assert gl.vjp(lambda a: np.searchsorted(bins, a), x)[0].tolist() == \
        np.searchsorted(bins, x).tolist()


@pytest.mark.parametrize("f", [
    lambda a: np.sort(a), lambda a: np.sort(a, axis=None), lambda a: np.argsort(a, axis=0),
    lambda a: np.median(a, axis=1), lambda a: np.quantile(a, [0.2, 0.7]),
    lambda a: np.partition(a, 1, axis=-1), lambda a: np.searchsorted([-0.5, 0.5], a),
    lambda a: np.nanmedian(a, axis=0)], ids=range(8))
def test_vmap_of_order_statistics_matches_loop(f):
    xs = RNG.normal(size=(4, 3, 5))
    np.testing.assert_allclose(gl.vmap(f)(xs), np.stack([f(x) for x in xs]))
    if np.issubdtype(np.result_type(f(xs[0])), np.floating):
        h = gl.grad(lambda a: np.sum(np.sin(f(a))))
        np.testing.assert_allclose(gl.vmap(h)(xs), np.stack([h(x) for x in xs]))


def test_quantile_over_several_axes_and_nan_propagation_match_numpy():
    x = RNG.normal(size=(2, 3, 4))
    for kwargs in [{"axis": (0, 2)}, {"axis": (0, 2), "keepdims": True}, {"axis": None}]:
        got = gl.vjp(lambda a, kw=kwargs: np.quantile(a, [0.3, 0.8], **kw), x)[0]
        np.testing.assert_allclose(got, np.quantile(x, [0.3, 0.8], **kwargs))
    gl.check_grads(lambda a: np.median(a, axis=(1, 2)), x)
    y = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]])
    got = gl.vjp(lambda a: np.median(a, axis=1), y)[0]
    np.testing.assert_array_equal(got, np.median(y, axis=1))  # [nan, 2.0]


def test_vmap_searchsorted_over_a_batch_of_sorted_rows():
    rows = np.sort(RNG.normal(size=(4, 6)), axis=1)
    v = RNG.normal(size=(4, 3))
    for side in ("left", "right"):
        got = gl.vmap(lambda a, b, s=side: np.searchsorted(a, b, side=s))(rows, v)
        want = np.stack([np.searchsorted(a, b, side=side) for a, b in zip(rows, v)])
        np.testing.assert_array_equal(got, want)
    got = gl.vmap(lambda a: np.searchsorted(a, 0.1), in_axes=0)(rows)
    np.testing.assert_array_equal(got, [np.searchsorted(a, 0.1) for a in rows])
