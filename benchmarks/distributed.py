"""``python -m benchmarks.distributed``: the optional Ray row (issue 15).

Trains the digits MLP (64-64-10 tanh, batch 256) with ``gl.distributed.train`` on 1 and
2 local workers and with single-process ``gl.train``, and prints steps per second,
examples per second and the per-step overhead of the all-reduce (params sent once per
step through the object store, gradients gathered and averaged on the driver): the time
of a step minus the slowest worker's compute (as the workers measure it). One BLAS
thread per process, as Ray gives its workers. Skips with a note when Ray is missing.
"""

from __future__ import annotations

import sys
import time

STEPS, BATCH = 60, 256


def _problem():
    import numpy as np

    from gradlab.examples.common import load_digits_split, softmax_cross_entropy
    from gradlab.examples.mlp import init_params, predict

    split = load_digits_split()
    params = init_params(np.random.default_rng(2), 64, 64, split.n_classes)

    def loss(p, X, Y):
        return softmax_cross_entropy(predict(p, X), Y)

    return loss, params, (split.X_train, split.Y_train)


def _time_distributed(gl, loss, params, data, workers):
    trainer = gl.distributed.Trainer(loss, params, data, gl.optim.SGD(0.1), num_workers=workers,
                                     batch_size=BATCH, key=gl.random.key(0), progress=False)
    trainer.run(5)  # warm-up: workers instrument and compile their objective
    trainer.compute_seconds = 0.0
    start = time.perf_counter()
    trainer.run(STEPS)
    seconds = (time.perf_counter() - start) / STEPS
    trainer.close()
    return seconds, seconds - trainer.compute_seconds / STEPS


def main() -> int:
    try:
        import ray  # noqa: F401
    except ImportError:
        print("distributed row skipped: Ray is not installed (pip install 'gradlab[distributed]')")
        return 0
    from benchmarks import pin_threads

    pin_threads(1)
    import gradlab as gl

    loss, params, data = _problem()
    from gradlab.training import minibatches

    single = minibatches(gl.random.key(0), data, BATCH)
    gl.train(loss, params, single, 5, gl.optim.SGD(0.1), progress=False)
    start = time.perf_counter()
    gl.train(loss, params, single, STEPS, gl.optim.SGD(0.1), progress=False)
    t_single = (time.perf_counter() - start) / STEPS
    gl.distributed.init()
    rows = [("gl.train (1 process)", t_single, 0.0)]
    for workers in (1, 2):
        t, overhead = _time_distributed(gl, loss, params, data, workers)
        rows.append((f"gl.distributed.train, {workers} worker(s)", t, overhead))
    gl.distributed.shutdown()
    print(f"digits MLP, batch {BATCH}, {STEPS} steps, float64")
    print(f"{'run':40s} {'ms/step':>9s} {'examples/s':>11s} {'overhead ms/step':>17s}")
    for name, t, overhead in rows:
        print(f"{name:40s} {1e3 * t:9.2f} {BATCH / t:11.0f} {1e3 * overhead:17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
