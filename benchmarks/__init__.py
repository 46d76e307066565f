"""Benchmarks of gradlab against its peers (issue 5).

Run ``python -m benchmarks`` (all workloads) or ``python -m benchmarks A C F``.
Every table gives each peer's median time and its ratio to a hand-written numpy
forward + backward pass, the floor that no autodiff engine can beat.

This module stays free of heavy imports: :func:`pin_threads` must run before
numpy, torch or jax is first imported, or their thread pools are already sized.
"""

import os

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def pin_threads(threads: int) -> None:
    """Size every peer's thread pool to ``threads``, through the environment.

    The benchmark machine has 2 cores shared with other work; one thread per
    peer gives the most repeatable ratios, and every peer gets the same number.
    Child processes (workloads G and H) inherit the setting.

    >>> pin_threads(1)
    >>> os.environ["OMP_NUM_THREADS"]
    '1'
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        single = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        if single not in flags:
            os.environ["XLA_FLAGS"] = (flags + " " + single).strip()
    os.environ["GRADLAB_BENCH_THREADS"] = str(threads)
