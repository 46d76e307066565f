"""gl.train: convergence, history, NaN stopping, model state, resuming exactly, extras."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

import gradlab as gl
from gradlab import nn, optim
from gradlab.training import DivergenceWarning, minibatches, plot_history

RNG = np.random.default_rng(6)
X = RNG.normal(size=(96, 3))
W_TRUE = np.array([1.5, -2.0, 0.5])
Y = X @ W_TRUE + 0.3


def mse_loss(p, X, y):
    return np.mean((X @ p["w"] + p["b"] - y) ** 2)


def test_train_fits_linear_regression_and_records_history():
    res = gl.train(mse_loss, {"w": np.zeros(3), "b": np.array(0.0)}, (X, Y), 400,
                   optim.Adam(0.05), progress=False)
    np.testing.assert_allclose(res.params["w"], W_TRUE, atol=1e-3)
    assert res.steps == 400 and res.opt_state["step"] == 400 and res.stopped_early is None
    h = res.history
    assert h["step"] == list(range(400)) and len(h["loss"]) == 400
    assert h["loss"][-1] < 1e-5 < h["loss"][0]
    assert h["lr"][0] == 0.05 and len(h["grad_norm"]) == 400


def test_metrics_from_loss_aux_land_in_history():
    def loss(p, X, y):
        err = X @ p["w"] - y
        return np.mean(err**2), {"mae": np.mean(np.abs(err))}

    res = gl.train(loss, {"w": np.zeros(3)}, (X, Y), 5, optim.SGD(0.01), progress=False)
    expected = np.mean(np.abs(X @ np.zeros(3) - Y))
    assert res.history["mae"][0] == pytest.approx(expected)


def test_nan_loss_stops_early_with_a_clear_message_and_previous_params():
    def loss(p, x):
        return np.sum(np.log(p["w"]))  # w goes negative after the first big step

    params = {"w": np.array([0.5])}
    message = (r"train stopped early at step 1: the loss became nan\. The returned "
               r"parameters are those from before that step")
    with np.errstate(invalid="ignore"), pytest.warns(DivergenceWarning, match=message):
        res = gl.train(loss, params, (np.zeros(1),), 10, optim.SGD(lr=10.0), progress=False)
    assert res.steps == 1 and res.params["w"].tolist() == [0.5 - 10.0 / 0.5]
    assert "smaller learning rate" in res.stopped_early


def test_batch_norm_state_threads_through_training():
    def loss(p, state, x, y):
        h, state = nn.batch_norm(x @ p["w"], None, None, state)
        return np.mean((h - y) ** 2), state

    y = (X @ np.ones((3, 2))) / 3
    bn = nn.batch_norm_state(2)
    res = gl.train(loss, {"w": RNG.normal(size=(3, 2))}, (X, y), 20, optim.Adam(0.01),
                   state=bn, progress=False)
    assert res.state["mean"].shape == (2,) and np.all(res.state["mean"] != 0)
    assert bn["mean"].tolist() == [0.0, 0.0]


def test_frozen_and_tied_params_are_resolved_for_the_loss_and_kept():
    params = {"w": np.zeros(3), "w2": nn.tied("w"), "b": nn.frozen(0.3)}

    def loss(p, X, y):
        return np.mean((X @ (0.5 * p["w"] + 0.5 * p["w2"]) + p["b"] - y) ** 2)

    res = gl.train(loss, params, (X, Y), 300, optim.Adam(0.05), progress=False)
    np.testing.assert_allclose(res.params["w"], W_TRUE, atol=1e-3)
    assert res.params["b"] is params["b"] and res.params["w2"] == nn.tied("w")


def test_minibatches_are_a_pure_function_of_key_and_step():
    data = minibatches(gl.random.key(0), (X, Y), 32)
    assert data.steps_per_epoch == 3
    a, b = data(4), minibatches(gl.random.key(0), (X, Y), 32)(4)
    np.testing.assert_array_equal(a[0], b[0])
    epoch = np.concatenate([data(s)[1] for s in range(3)])
    assert sorted(epoch.tolist()) == sorted(Y.tolist())
    assert not np.array_equal(data(0)[0], data(3)[0])  # a new permutation each epoch
    with pytest.raises(ValueError, match="arrays differ in length"):
        minibatches(gl.random.key(0), (X, Y[:5]), 4)


def test_resuming_from_a_saved_checkpoint_continues_bit_for_bit(tmp_path):
    key = gl.random.key(1)
    data = minibatches(key, (X, Y), 16)
    params = {"w": np.zeros(3), "b": np.array(0.0), "f": nn.frozen(1.0)}
    opt = optim.Adam(optim.warmup(optim.cosine_decay(0.05, 40), 5), clip_norm=5.0)

    def loss(p, X, y):
        return np.mean((X @ p["w"] * p["f"] + p["b"] - y) ** 2)

    straight = gl.train(loss, params, data, 20, opt, progress=False)
    half = gl.train(loss, params, data, 10, opt, progress=False)
    nn.save(tmp_path / "ckpt.npz", params=half.params, opt_state=half.opt_state)
    ck = nn.load(tmp_path / "ckpt.npz")
    resumed = gl.train(loss, ck["params"], data, 10, opt, opt_state=ck["opt_state"],
                       progress=False)
    np.testing.assert_array_equal(resumed.params["w"], straight.params["w"])
    np.testing.assert_array_equal(resumed.opt_state["nu"]["w"], straight.opt_state["nu"]["w"])
    assert resumed.history["step"] == list(range(10, 20))
    assert resumed.history["loss"] == straight.history["loss"][10:]


def test_iterable_data_stops_when_exhausted():
    batches = iter([(X, Y)] * 3)
    res = gl.train(mse_loss, {"w": np.zeros(3), "b": np.array(0.0)}, batches, 10,
                   optim.SGD(0.01), progress=False)
    assert res.steps == 3 and "data iterator is exhausted" in res.stopped_early


def test_log_every_prints_mean_loss_lines(capsys):
    gl.train(mse_loss, {"w": np.zeros(3), "b": np.array(0.0)}, (X, Y), 6, optim.SGD(0.01),
             progress=False, log_every=3, name="lin")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines] == [["[lin]", "step", "3"], ["[lin]", "step", "6"]]


def test_progress_falls_back_to_prints_without_tqdm(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    gl.train(mse_loss, {"w": np.zeros(3), "b": np.array(0.0)}, (X, Y), 20, optim.SGD(0.01),
             name="plain")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("plain: step 2/20  loss ") and out[-1].startswith("plain: step 20/20")


def test_loss_with_the_wrong_return_shape_raises_a_clear_type_error():
    with pytest.raises(TypeError, match=r"loss_fn must return a scalar loss or \(loss, metrics"):
        gl.train(lambda p, x: (np.sum(p["w"]), 1.0), {"w": np.ones(2)}, (X,), 1,
                 optim.SGD(0.1), progress=False)


def test_plot_needs_matplotlib_or_writes_a_png(tmp_path, monkeypatch):
    history = {"step": [0, 1, 2], "loss": [3.0, 2.0, 1.0]}
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"needs matplotlib: pip install 'gradlab\[plot\]'"):
            plot_history(history, tmp_path / "loss.png")
    else:
        plot_history(history, tmp_path / "loss.png")
        assert (tmp_path / "loss.png").stat().st_size > 0


def test_a_list_is_an_iterable_of_batches_and_any_init_update_optimizer_works():
    class HalfStep:  # not a gradlab.optim optimizer: no schedule attribute
        def init(self, params):
            return {"step": 0}

        def update(self, grads, state, params):
            new = gl.tree_map(lambda p, g: p - 0.05 * g, params, grads)
            return new, {"step": state["step"] + 1}

    batches = [(X[:48], Y[:48]), (X[48:], Y[48:])]
    res = gl.train(mse_loss, {"w": np.zeros(3), "b": np.array(0.0)}, batches, 5, HalfStep(),
                   progress=False)
    assert res.steps == 2 and res.opt_state == {"step": 2}
    assert np.isnan(res.history["lr"]).all() and res.history["loss"][1] < res.history["loss"][0]
