"""Profile gradlab's row of one workload: the top functions by own time.

    python -m benchmarks.profile_gradlab A            # 25 rows, ~2 s of calls
    python -m benchmarks.profile_gradlab C --seconds 5 --top 40
    python -m benchmarks.profile_gradlab E2 --peer "gradlab jvp(grad)"
    python -m benchmarks.profile_gradlab F --sort cumulative

Works for the in-process timed workloads (A to F). The gradlab step is built
and called once before profiling (so one-time instrumentation is left out; use
workload I for that), then called repeatedly under cProfile for ``--seconds``.
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
    from .workloads import all_workloads

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
    calls = max(1, int(args.seconds / max(first, 1e-6)))
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(calls):
        step()
    profiler.disable()
    per_call = (time.perf_counter() - start) / calls
    print(f"{args.key} / {args.peer}: {calls} calls, {per_call * 1e3:.3f} ms per call "
          f"under the profiler (first call {first * 1e3:.3f} ms)\n")
    stats = pstats.Stats(profiler)
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
