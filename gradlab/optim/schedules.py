"""Learning-rate schedules: functions of the step count (0 for the first update).

Every optimizer accepts a number or one of these as its learning rate.

>>> from gradlab.optim import schedules
>>> sched = schedules.warmup(schedules.cosine_decay(0.1, 100), 10)
>>> [round(sched(s), 4) for s in (0, 5, 10, 110)]
[0.0, 0.05, 0.1, 0.0]
"""

from __future__ import annotations

import math
from typing import Callable

__all__ = ["constant", "cosine_decay", "warmup", "linear_decay", "step_decay", "step",
           "as_schedule"]

Schedule = Callable[[int], float]


def as_schedule(lr) -> Schedule:
    """A schedule from a number (constant) or a callable (returned as is)."""
    return lr if callable(lr) else constant(lr)


def constant(lr: float) -> Schedule:
    """The same learning rate at every step.

    >>> constant(0.1)(1000)
    0.1
    """
    lr = float(lr)

    def schedule(step: int) -> float:
        return lr

    return schedule


def cosine_decay(lr: float, decay_steps: int, final: float = 0.0) -> Schedule:
    """Half a cosine from ``lr`` at step 0 down to ``final`` at ``decay_steps`` (then flat).

    >>> round(cosine_decay(1.0, 10)(5), 6)
    0.5
    """
    if decay_steps <= 0:
        raise ValueError(f"cosine_decay: decay_steps must be positive, got {decay_steps}")

    def schedule(step: int) -> float:
        t = min(step, decay_steps) / decay_steps
        return final + (lr - final) * 0.5 * (1.0 + math.cos(math.pi * t))

    return schedule


def linear_decay(lr: float, decay_steps: int, final: float = 0.0) -> Schedule:
    """A straight line from ``lr`` at step 0 to ``final`` at ``decay_steps`` (then flat).

    >>> linear_decay(1.0, 4)(1)
    0.75
    """
    if decay_steps <= 0:
        raise ValueError(f"linear_decay: decay_steps must be positive, got {decay_steps}")

    def schedule(step: int) -> float:
        t = min(step, decay_steps) / decay_steps
        return lr + (final - lr) * t

    return schedule


def step_decay(lr: float, every: int, factor: float = 0.1) -> Schedule:
    """``lr * factor ** (step // every)``: a staircase.

    >>> [step_decay(1.0, 2, 0.5)(s) for s in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    if every <= 0:
        raise ValueError(f"step_decay: every must be positive, got {every}")

    def schedule(step: int) -> float:
        return lr * factor ** (step // every)

    return schedule


step = step_decay  # the name used in the docs' list of schedules


def warmup(schedule: Schedule, warmup_steps: int, start: float = 0.0) -> Schedule:
    """Ramp linearly from ``start`` to ``schedule`` over ``warmup_steps``, then follow it.

    ``schedule`` (a number or a schedule) is shifted so that its step 0 is the first
    step after the warm-up.

    >>> w = warmup(1.0, 4)
    >>> [w(s) for s in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    after = as_schedule(schedule)
    if warmup_steps < 0:
        raise ValueError(f"warmup: warmup_steps must be >= 0, got {warmup_steps}")

    def scheduled(step: int) -> float:
        if step < warmup_steps:
            return start + (after(0) - start) * step / warmup_steps
        return after(step - warmup_steps)

    return scheduled
