"""gradlab.distributed on a local Ray with 2 workers: equality with single-process
training, a killed worker, a killed driver resuming from its checkpoint, user errors,
and parallel maps. All tests share one Ray (one xdist group)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradlab as gl

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'gradlab[distributed]'")
pytestmark = pytest.mark.xdist_group("ray")

HELPERS = Path(__file__).parent / "helpers"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    gl.distributed.init(num_cpus=2, log_to_driver=False)  # workers' teardown noise
    yield
    gl.distributed.shutdown()


def mlp_problem(n=48):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    params = {"W": rng.normal(size=(4, 8)) * 0.5, "b": np.zeros(8), "v": rng.normal(size=8)}
    return params, (X, y)


def mlp_loss(p, X, y):
    h = np.tanh(X @ p["W"] + p["b"])
    logits = h @ p["v"]
    return np.mean(np.logaddexp(0.0, logits) - y * logits), {"mean_logit": np.mean(logits)}


def assert_same_tree(a, b, atol):
    for (ka, va), (kb, vb) in zip(sorted(a.items()), sorted(b.items())):
        assert ka == kb
        np.testing.assert_allclose(va, vb, rtol=0, atol=atol)


def test_data_parallel_trajectory_equals_single_process_train():
    params, data = mlp_problem()
    key = gl.random.key(3)
    dist = gl.distributed.train(mlp_loss, params, data, 12, gl.optim.Adam(0.05),
                                num_workers=2, batch_size=8, key=key, progress=False)
    single = gl.train(mlp_loss, params, gl.distributed.sharded_batches(key, data, 8, 2), 12,
                      gl.optim.Adam(0.05), progress=False)
    assert_same_tree(dist.params, single.params, 1e-12)
    np.testing.assert_allclose(dist.history["loss"], single.history["loss"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(dist.history["mean_logit"], single.history["mean_logit"],
                               rtol=0, atol=1e-12)
    assert dist.history["step"] == list(range(12)) and dist.steps == 12
    assert not np.allclose(dist.params["W"], params["W"])  # it did train


def test_full_batch_on_unequal_shards_weights_workers_by_examples():
    params, data = mlp_problem(n=45)  # shards of 22 and 23 examples
    dist = gl.distributed.train(mlp_loss, params, data, 3, gl.optim.SGD(0.5), num_workers=2,
                                progress=False)
    single = gl.train(mlp_loss, params, data, 3, gl.optim.SGD(0.5), progress=False)
    assert_same_tree(dist.params, single.params, 1e-12)


def test_batch_size_must_split_evenly_over_workers():
    params, data = mlp_problem()
    with pytest.raises(ValueError, match="batch_size 9 must be a multiple of num_workers"):
        gl.distributed.train(mlp_loss, params, data, 1, gl.optim.SGD(0.1), batch_size=9)


def test_killed_worker_is_replaced_without_losing_or_repeating_a_step():
    params, data = mlp_problem()
    opts = dict(num_workers=2, batch_size=8, key=gl.random.key(5), progress=False)
    clean = gl.distributed.Trainer(mlp_loss, params, data, gl.optim.Adam(0.05), **opts)
    expected = clean.run(6)
    clean.close()

    faulty = gl.distributed.Trainer(mlp_loss, params, data, gl.optim.Adam(0.05), **opts)
    pids_before = ray.get([w.pid.remote() for w in faulty.workers])

    def kill_worker_0(tr):
        if tr.step == 3:
            ray.kill(tr.workers[0])

    with pytest.warns(RuntimeWarning, match="worker 0 died at step 3; replaced"):
        got = faulty.run(6, callback=kill_worker_0)
    assert faulty.restarts == 1 and faulty.step == 6
    assert ray.get(faulty.workers[0].pid.remote()) != pids_before[0]
    faulty.close()
    assert_same_tree(got.params, expected.params, 0.0)
    assert got.history["step"] == list(range(6))


def _bad_loss(p, X, y):
    if X.shape[0] < 100:
        raise ValueError(f"this batch has only {X.shape[0]} rows")
    return np.mean(X @ p["W"])


def test_user_error_on_a_worker_shows_the_users_traceback():
    params, data = mlp_problem()
    with pytest.raises(gl.distributed.WorkerError) as info:
        gl.distributed.train(_bad_loss, params, data, 2, gl.optim.SGD(0.1), batch_size=8,
                             progress=False)
    message = str(info.value)
    assert "worker 0 at step 0 failed in user code" in message
    assert "_bad_loss" in message and "test_distributed.py" in message
    assert "ValueError: this batch has only 4 rows" in message
    assert f"{os.sep}ray{os.sep}" not in message  # none of Ray's frames
    assert isinstance(info.value.cause, ValueError)


def test_map_gives_per_example_gradients_in_input_order():
    params, (X, y) = mlp_problem(n=10)

    def per_example(xy):
        x, t = xy
        return gl.grad(lambda p: mlp_loss(p, x[None], t[None])[0])(params)["v"]

    got = gl.distributed.map(per_example, (X, y), num_workers=2)
    expected = np.stack([per_example((X[i], y[i])) for i in range(10)])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-14)
    assert gl.distributed.map(lambda s: s * 2, [3, 1, 2]) == [6, 2, 4]


def test_map_error_names_the_failing_input():
    def fn(x):
        if x == 2:
            raise KeyError("no such item")
        return x

    with pytest.raises(gl.distributed.WorkerError, match=r"map: fn\(xs\[2\]\) failed"):
        gl.distributed.map(fn, [0, 1, 2, 3])


@pytest.mark.slow
def test_killed_driver_resumes_from_its_checkpoint_bit_for_bit(tmp_path):
    sys.path.insert(0, str(HELPERS))
    try:
        import dist_driver
    finally:
        sys.path.remove(str(HELPERS))
    ckpt, out = tmp_path / "ckpt.npz", tmp_path / "final.npz"
    env = dict(os.environ, RAY_ADDRESS=ray.get_runtime_context().gcs_address)
    script = [sys.executable, str(HELPERS / "dist_driver.py"), str(ckpt), str(out)]
    killed = subprocess.run(script + ["--kill-at", "5"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert ckpt.exists() and gl.nn.load(ckpt)["step"] == 4 and not out.exists()
    resumed = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "starting at step 4" in resumed.stdout

    reference = dist_driver.trainer()  # the same run, never interrupted, in this process
    reference.run(dist_driver.STEPS)
    reference.close()
    final = np.load(out)
    assert np.array_equal(final["w"], reference.params["w"])
    assert np.array_equal(final["b"], reference.params["b"])
    assert np.array_equal(final["loss"], reference.history["loss"])


def test_a_local_ray_that_times_out_at_startup_is_started_once_more(monkeypatch):
    import ray

    from gradlab.distributed import cluster

    calls, shutdowns = [], []

    def fake_init(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise Exception("The current node timed out during startup. This could happen ...")
        return "context"

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray, "shutdown", lambda: shutdowns.append(1))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cluster.init(num_cpus=1) == "context"
    assert len(calls) == 2 and shutdowns == [1]

    calls.clear()
    monkeypatch.setattr(ray, "init", lambda **kw: (_ for _ in ()).throw(ValueError("bad")))
    with pytest.raises(ValueError, match="bad"):  # any other error is raised at once
        cluster.init(num_cpus=1)
