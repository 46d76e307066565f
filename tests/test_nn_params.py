"""gradlab.nn.params: frozen and tied entries, initialisers, count_params, save/load."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab as gl
from gradlab import nn
from gradlab.files import atomic_write


def test_frozen_entry_gets_no_gradient_and_passes_through_grad():
    params = {"w": np.array([1.0, 2.0]), "scale": nn.frozen(np.array([3.0, 4.0]))}

    def loss(p):
        p = nn.resolve(p)
        return np.sum(p["w"] * p["scale"])

    g = gl.grad(loss)(params)
    assert g["w"].tolist() == [3.0, 4.0]
    assert isinstance(g["scale"], nn.Frozen)  # a marker, not a gradient
    assert gl.tree_leaves(params) == [params["w"]]


def test_tied_entry_shares_the_array_and_accumulates_both_gradients():
    emb = np.array([[1.0, 2.0], [3.0, 4.0]])
    params = {"emb": emb, "head": {"w": nn.tied("emb")}}

    def loss(p):
        p = nn.resolve(p)
        return np.sum(p["emb"] * 2.0) + np.sum(p["head"]["w"] ** 2)

    g = gl.grad(loss)(params)
    np.testing.assert_allclose(g["emb"], 2.0 + 2 * emb)
    assert nn.resolve(params)["head"]["w"] is emb


def test_tied_paths_through_lists_chains_and_errors():
    params = {"layers": [{"w": np.ones(2)}], "a": nn.tied("layers/0/w"), "b": nn.tied("a")}
    resolved = nn.resolve(params)
    assert resolved["b"] is params["layers"][0]["w"]
    with pytest.raises(KeyError, match=r"tied\('nope',\) points to no entry .*missing 'nope'"):
        nn.resolve({"x": nn.tied("nope")})
    with pytest.raises(ValueError, match="tied parameters form a cycle"):
        nn.resolve({"x": nn.tied("y"), "y": nn.tied("x")})
    with pytest.raises(ValueError, match="tied\\(\\) needs the path"):
        nn.tied()


def test_count_params_counts_frozen_unless_trainable_only_and_never_tied():
    params = {"w": np.ones((3, 4)), "b": np.ones(4), "f": nn.frozen(np.ones(5)),
              "t": nn.tied("w"), "none": None}
    assert nn.count_params(params) == 21
    assert nn.count_params(params, trainable_only=True) == 16


def test_initialisers_have_the_documented_scale_and_are_deterministic():
    k = gl.random.key(0)
    g = nn.glorot(k, (200, 300))
    assert abs(g.std() - np.sqrt(2 / 500)) < 0.002 and np.abs(g).max() <= np.sqrt(6 / 500)
    h = nn.he(k, (64, 3, 5, 5))  # conv layout: fan_in = 3 * 25
    assert abs(h.std() - np.sqrt(2 / 75)) < 0.005
    np.testing.assert_array_equal(nn.glorot(k, (3, 3)), nn.glorot(k, (3, 3)))
    assert nn.normal(k, (3,), std=0.5, dtype=np.float32).dtype == np.float32
    assert nn.he(k, (2, 2), distribution="uniform").shape == (2, 2)
    with pytest.raises(ValueError, match="distribution must be 'uniform' or 'normal'"):
        nn.glorot(k, (2, 2), distribution="cauchy")


def test_layer_initialisers_shapes():
    k = gl.random.key(1)
    assert nn.init_linear(k, 3, 2, bias=False).keys() == {"w"}
    assert nn.init_conv2d(k, 4, 6, (3, 1), groups=2)["w"].shape == (6, 2, 3, 1)
    assert nn.init_embedding(k, 7, 4).shape == (7, 4)
    assert {n: v.shape for n, v in nn.init_gru(k, 2, 3).items()} == {
        "wx": (2, 9), "wh": (3, 9), "bx": (9,), "bh": (9,)}


def test_save_load_round_trip_keeps_structure_dtypes_and_markers(tmp_path):
    tree = {
        "layers": [{"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(3)},
                   {"w": np.ones((3, 1)), "b": None}],
        "emb": nn.frozen(np.eye(2)),
        "out": nn.tied("layers", "0", "w"),
        "odd/key:name": (np.int64(3), 2.5, True),
        "empty": {}, "nothing": [],
    }
    path = tmp_path / "ckpt.npz"
    nn.save(path, params=tree, step=12, lr=0.5)
    got = nn.load(path)
    assert got["step"] == 12 and type(got["step"]) is int and got["lr"] == 0.5
    p = got["params"]
    assert list(p) == list(tree)
    assert p["layers"][0]["w"].dtype == np.float32
    np.testing.assert_array_equal(p["layers"][0]["w"], tree["layers"][0]["w"])
    assert p["layers"][1]["b"] is None
    assert isinstance(p["emb"], nn.Frozen) and np.array_equal(p["emb"].value, np.eye(2))
    assert p["out"] == nn.tied("layers", "0", "w")
    assert p["odd/key:name"][1:] == (2.5, True) and isinstance(p["odd/key:name"], tuple)
    assert p["empty"] == {} and p["nothing"] == []
    assert gl.tree_structure(p) == gl.tree_structure(tree)


def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path):
    with pytest.raises(TypeError, match="save: dict keys must be strings, got 1"):
        nn.save(tmp_path / "a.npz", params={1: np.ones(1)})
    with pytest.raises(TypeError, match="save: cannot store object at 'params/x'"):
        nn.save(tmp_path / "b.npz", params={"x": object()})


# --- checkpoints are written atomically -------------------------------------------------
_HALF_SAVE = """
import os, sys, time
import numpy as np
import gradlab as gl

real_savez = np.savez


def half_then_hang(f, **entries):  # write half the archive, then hang until killed
    import io
    buffer = io.BytesIO()
    real_savez(buffer, **entries)
    data = buffer.getvalue()
    f.write(data[: len(data) // 2])
    f.flush()
    os.fsync(f.fileno())
    print("HALF", flush=True)
    time.sleep(60)


np.savez = half_then_hang
gl.nn.save(sys.argv[1], params={"w": np.full(1000, 2.0)}, step=2)
"""


def test_a_save_killed_halfway_leaves_the_previous_checkpoint(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    path = tmp_path / "ckpt.npz"
    nn.save(path, params={"w": np.full(1000, 1.0)}, step=1)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(gl.__file__)), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", _HALF_SAVE, str(path)],
                             stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout.readline().strip() == "HALF"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    ck = nn.load(path)
    assert ck["step"] == 1 and np.array_equal(ck["params"]["w"], np.full(1000, 1.0))
    partial = [p for p in os.listdir(tmp_path) if p != "ckpt.npz"]
    assert len(partial) == 1 and partial[0].endswith(".partial")  # the dead writer's file
    nn.save(path, params={"w": np.zeros(3)}, step=3)  # and saving again works
    assert nn.load(path)["step"] == 3


def test_a_failed_save_keeps_the_old_file_and_leaves_no_partial_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    nn.save(path, step=1)
    with pytest.raises(TypeError, match="cannot store"):
        nn.save(path, step=2, bad=object())
    with pytest.raises(ZeroDivisionError):
        with atomic_write(path) as f:
            f.write(b"half")
            raise ZeroDivisionError
    assert nn.load(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]


def test_loading_a_truncated_or_foreign_file_names_it(tmp_path):
    path = tmp_path / "ckpt.npz"
    nn.save(path, params={"w": np.arange(500.0)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"load: '.*ckpt.npz' is not a complete gradlab "
                                         r"checkpoint \(truncated"):
        nn.load(path)
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(ValueError, match=r"load: '.*notes.txt' is not a complete gradlab"):
        nn.load(text)
    single = tmp_path / "array.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match=r"array.npy' .*a single ndarray \(np.save\)"):
        nn.load(single)
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "missing.npz")
