"""Dynamic loss scaling: keep small low-precision gradients from underflowing to zero.

The loss is multiplied by ``scale`` before differentiation, so every cotangent in the
backward pass is ``scale`` times larger (bfloat16 and float16 gradients that would
round to 0 survive), and the gradients are divided by ``scale`` afterwards. When a
gradient overflows (inf or NaN) the step is skipped and the scale halved; after
``growth_interval`` finite steps in a row it doubles again.

>>> import numpy as np, gradlab as gl
>>> scaler = gl.precision.LossScaler(init_scale=1024.0)
>>> def scaled_loss(w):
...     return scaler.scale_loss(np.sum(w * w))
>>> grads = scaler.unscale(gl.grad(scaled_loss)(np.array([1.0, 2.0])))
>>> grads.tolist(), scaler.update(grads), scaler.scale
([2.0, 4.0], True, 1024.0)
>>> scaler.update(np.array([np.inf])), scaler.scale, scaler.skipped
(False, 512.0, 1)
"""

from __future__ import annotations

import numpy as np

from ..core.tree import tree_leaves, tree_map


def all_finite(tree) -> bool:
    """True when every float entry of every leaf of ``tree`` is finite."""
    for leaf in tree_leaves(tree):
        dt = getattr(leaf, "dtype", None)
        if dt is not None and dt.kind in "iub":
            continue
        value = leaf.astype(np.float32) if dt is not None and dt.kind not in "fc" else leaf
        if not bool(np.all(np.isfinite(value))):
            return False
    return True


class LossScaler:
    """Dynamic loss scale: ``scale_loss`` before ``grad``, ``unscale`` and ``update`` after.

    ``update(grads)`` returns whether the step should be applied (False when a gradient
    is not finite), and adjusts the scale. ``gl.train(..., loss_scale=LossScaler())``
    does all three each step and records ``loss_scale`` and ``skipped`` in the history.
    """

    def __init__(self, init_scale: float = 2.0 ** 15, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 200,
                 min_scale: float = 1.0):
        if not (growth_factor > 1.0 and 0.0 < backoff_factor < 1.0 and init_scale > 0):
            raise ValueError("LossScaler: need init_scale > 0, growth_factor > 1 and "
                             "0 < backoff_factor < 1")
        self.scale = float(init_scale)
        self.growth_factor, self.backoff_factor = float(growth_factor), float(backoff_factor)
        self.growth_interval, self.min_scale = int(growth_interval), float(min_scale)
        self.good_steps = 0  # finite steps since the scale last changed
        self.skipped = 0  # steps skipped so far

    def __repr__(self):
        return f"LossScaler(scale={self.scale:g}, skipped={self.skipped})"

    def scale_loss(self, loss):
        """``loss * scale`` (inside the function being differentiated)."""
        return loss * self.scale

    def unscale(self, grads):
        """The gradients of the scaled loss divided by ``scale``, each in its own dtype."""
        inv = 1.0 / self.scale
        return tree_map(lambda g: (g * inv).astype(g.dtype) if hasattr(g, "dtype") else g * inv,
                        grads)

    def update(self, grads, loss=None) -> bool:
        """Adjust the scale after a step; returns False (skip the step) when a gradient, or
        the (scaled) ``loss`` if given, is not finite."""
        if all_finite(grads) and (loss is None or bool(np.isfinite(loss))):
            self.good_steps += 1
            if self.good_steps >= self.growth_interval:
                self.scale *= self.growth_factor
                self.good_steps = 0
            return True
        self.scale = max(self.min_scale, self.scale * self.backoff_factor)
        self.good_steps = 0
        self.skipped += 1
        return False

    def state_dict(self) -> dict:
        """What a checkpoint needs to resume the schedule."""
        return {"scale": self.scale, "good_steps": self.good_steps, "skipped": self.skipped}

    def load_state_dict(self, state: dict) -> None:
        self.scale = float(state["scale"])
        self.good_steps = int(state["good_steps"])
        self.skipped = int(state.get("skipped", 0))

