"""The digits MLP of ``mlp.py`` trained twice with ``gl.train``: float32, then bfloat16 compute.

The second run uses ``gl.precision.policy(compute="bfloat16", params="float32",
output="float32")`` and a dynamic ``LossScaler``: the loss and its backward pass run
in bfloat16 (sums and matmuls accumulate in float32), the optimizer updates float32
master weights. Its test accuracy is reported next to the float32 run's; the two agree
to within a point.
"""

from __future__ import annotations

import numpy as np

import gradlab as gl
from gradlab.examples.common import accuracy, check_gradients, load_digits_split
from gradlab.examples.mlp import HIDDEN, init_params, loss, predict
from gradlab.training import minibatches

# Example models are written as a user writes them: gradlab instruments this module
# even though it ships inside the package (see docs/interception.md).
__gradlab_instrument__ = True

NAME = "mlp (bfloat16 compute)"
EXPECTED = (0.94, 0.99)  # bfloat16 compute: within a point of the float32 run
EXPECTED_QUICK = (0.93, 0.99)
EPOCHS, QUICK_EPOCHS, BATCH, LR = 30, 10, 64, 0.05


def fit(split, precision, quick: bool, loss_scale=None, log_every=None):
    """Train the MLP under ``precision`` (None: float32 throughout); returns (result, acc)."""
    params = gl.tree_map(lambda p: p.astype(np.float32),
                         init_params(np.random.default_rng(2), split.X_train.shape[1], HIDDEN,
                                     split.n_classes))
    data = minibatches(gl.random.key(0), (split.X_train.astype(np.float32),
                                          split.Y_train.astype(np.float32)), BATCH)
    steps = (QUICK_EPOCHS if quick else EPOCHS) * data.steps_per_epoch
    result = gl.train(loss, params, data, steps, gl.optim.SGD(LR, momentum=0.9),
                      progress=False, precision=precision, loss_scale=loss_scale,
                      log_every=log_every, name=NAME)
    if result.stopped_early:
        raise RuntimeError(result.stopped_early)
    test = {k: v.astype(np.float64) for k, v in result.params.items()}
    return result, accuracy(predict(test, split.X_test), split.y_test)


def train(quick: bool = False) -> dict:
    split = load_digits_split()
    check_gradients(NAME, loss, init_params(np.random.default_rng(2), split.X_train.shape[1],
                                            HIDDEN, split.n_classes), split)
    _, float32_acc = fit(split, None, quick)
    policy = gl.precision.policy(compute="bfloat16", params="float32", output="float32")
    result, acc = fit(split, policy, quick, gl.precision.LossScaler(2.0 ** 8), log_every=50)
    assert {p.dtype for p in result.params.values()} == {np.dtype(np.float32)}
    skipped = int(sum(result.history["skipped"]))
    print(f"[{NAME}] float32 test accuracy: {float32_acc:.4f}", flush=True)
    print(f"[{NAME}] test accuracy: {acc:.4f}", flush=True)
    print(f"[{NAME}] bfloat16 - float32: {100 * (acc - float32_acc):+.1f} points; "
          f"{skipped} steps skipped by the loss scaler", flush=True)
    train_params = {k: v.astype(np.float64) for k, v in result.params.items()}
    return {"params": sum(p.size for p in result.params.values()), "steps": result.steps,
            "final_loss": float(np.mean(result.history["loss"][-50:])),
            "train_acc": accuracy(predict(train_params, split.X_train), split.y_train),
            "test_acc": acc, "float32_acc": float32_acc}
