"""A training driver that tests/test_distributed.py runs as a subprocess: killed with
SIGKILL mid-run (``--kill-at``), then started again to resume from its checkpoint."""

import argparse
import os
import signal

import numpy as np

import gradlab as gl

STEPS = 10


def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=64)
    return {"w": np.zeros(3), "b": np.zeros(())}, (X, y)


def loss(p, X, y):
    return np.mean((X @ p["w"] + p["b"] - y) ** 2)


def trainer(checkpoint_path=None):
    params, data = problem()
    return gl.distributed.Trainer(loss, params, data, gl.optim.Adam(0.05), num_workers=2,
                                  batch_size=16, key=gl.random.key(1),
                                  checkpoint_every=2 if checkpoint_path else None,
                                  checkpoint_path=checkpoint_path, progress=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("out")
    parser.add_argument("--kill-at", type=int, default=-1)
    args = parser.parse_args()
    gl.distributed.init()  # RAY_ADDRESS: the test's cluster

    def die(tr):
        if tr.step == args.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    tr = trainer(args.checkpoint)
    print(f"starting at step {tr.step}", flush=True)
    tr.run(STEPS - tr.step, callback=die)
    np.savez(args.out, w=tr.params["w"], b=tr.params["b"], loss=tr.history["loss"])


if __name__ == "__main__":
    main()
