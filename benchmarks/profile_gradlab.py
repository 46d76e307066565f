"""Profile gradlab's row of one workload: the top functions by own time.

    python -m benchmarks.profile_gradlab A            # 25 rows, ~2 s of calls
    python -m benchmarks.profile_gradlab C --seconds 5 --top 40
    python -m benchmarks.profile_gradlab E2 --peer "gradlab jvp(grad)"
    python -m benchmarks.profile_gradlab F --sort cumulative
    python -m benchmarks.profile_gradlab I            # first calls: instrumentation
    python -m benchmarks.profile_gradlab H            # import time, module by module

For the timed workloads (A to F) the step is built and called once before
profiling (so one-time instrumentation is left out), then called repeatedly
under cProfile for ``--seconds``. ``I`` profiles only first calls of new
functions; ``H`` lists what ``import gradlab`` imports beyond ``import numpy``,
by each module's own import time (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import sys
import time

from . import pin_threads


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_gradlab")
    parser.add_argument("key", help="a timed workload: A, B, C, D1, D2, E1, E2, F")
    parser.add_argument("--peer", default="gradlab", help="row to profile (default gradlab)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time to spend calling")
    parser.add_argument("--top", type=int, default=25, help="functions to print")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (default tottime)")
    args = parser.parse_args(argv)
    pin_threads(1)

    import cProfile
    import pstats

    from .harness import Timed
    from .peers import FLOOR
    from .workloads import all_workloads

    if args.key.upper() == "H":
        return print_import_times(args.top)
    if args.key.upper() == "I":
        profiler, calls, per_call = profile_first_calls(args.seconds)
        print(f"I / gradlab: {calls} first calls of new functions, "
              f"{per_call * 1e3:.3f} ms each under the profiler\n")
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        return 0

    found = [w for w in all_workloads() if w.key.lower() == args.key.lower()]
    if not found or not isinstance(found[0], Timed):
        timed = ", ".join(w.key for w in all_workloads() if isinstance(w, Timed))
        print(f"no timed workload {args.key!r}; choose one of {timed}", file=sys.stderr)
        return 2
    builders = found[0].builders()
    if args.peer not in builders:
        print(f"{args.key} has no row {args.peer!r}; rows: {', '.join(builders)}",
              file=sys.stderr)
        return 2
    step = builders[args.peer]()
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    plain = {name: best_of(builders[name](), 0.3) for name in (FLOOR, args.peer)}
    print(f"{args.key}: without the profiler, {args.peer} {plain[args.peer] * 1e3:.3f} ms "
          f"per call, the floor {plain[FLOOR] * 1e3:.3f} ms "
          f"({plain[args.peer] / plain[FLOOR]:.2f}x)")
    calls = max(1, int(args.seconds / max(first, 1e-6)))
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(calls):
        step()
    profiler.disable()
    per_call = (time.perf_counter() - start) / calls
    print(f"{args.key} / {args.peer}: {calls} calls, {per_call * 1e3:.3f} ms per call "
          f"under the profiler (first call {first * 1e3:.3f} ms)")
    print("cProfile records no ufunc or operator calls (np.tanh, a @ b): their time is "
          "in the tottime of the Python function that made them.\n")
    stats = pstats.Stats(profiler)
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


def best_of(step, seconds):
    """The fastest of repeated calls over about ``seconds``."""
    best, deadline = float("inf"), time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        step()
        end = time.perf_counter()
        best = min(best, end - start)
        if end > deadline:
            return best


def profile_first_calls(seconds):
    """cProfile over ``grad(f)(x)`` for new functions f, one call each."""
    import cProfile

    import numpy as np

    from .peers import load_gradlab
    from .workloads.startup import HEADERS, FreshFunctions

    (grad,) = load_gradlab("grad")
    x = np.random.default_rng(0).standard_normal(8)
    fresh = FreshFunctions()
    profiler = cProfile.Profile()
    calls, spent = 0, 0.0
    try:
        grad(fresh.new(HEADERS["gradlab"]))(x)  # gradlab's own one-time setup
        while spent < seconds:
            f = fresh.new(HEADERS["gradlab"])
            start = time.perf_counter()
            profiler.enable()
            grad(f)(x)
            profiler.disable()
            spent += time.perf_counter() - start
            calls += 1
    finally:
        fresh.close()
    return profiler, calls, spent / calls


def import_times(module):
    """{imported module: own microseconds} from ``python -X importtime``."""
    import re
    import subprocess

    from .workloads.startup import ROOT

    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    found = {}
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            found[match.group(4)] = int(match.group(1))
    return found


def print_import_times(top):
    numpy_modules = import_times("numpy")
    gradlab_modules = import_times("gradlab")
    extra = {m: t for m, t in gradlab_modules.items() if m not in numpy_modules}
    total = sum(extra.values())
    print(f"import gradlab imports {len(extra)} modules beyond import numpy's "
          f"{len(numpy_modules)}: {total / 1e3:.1f} ms of their own import time "
          f"(numpy's modules: {sum(numpy_modules.values()) / 1e3:.1f} ms)\n")
    print(f"{'own ms':>8}  module")
    for module, micros in sorted(extra.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{micros / 1e3:8.2f}  {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
