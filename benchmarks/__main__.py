"""``python -m benchmarks [KEYS...]``: run the workloads and print the tables.

Examples::

    python -m benchmarks              # every workload, a few minutes on 2 cores
    python -m benchmarks A C F        # a subset (a letter selects D1 and D2 too)
    python -m benchmarks --quick      # shorter budgets, smaller memory workload
    python -m benchmarks --results benchmarks/RESULTS.md
    python -m benchmarks --selftest   # the floors' gradients vs finite differences
"""

from __future__ import annotations

import argparse
import sys

from . import pin_threads


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keys", nargs="*", help="workloads to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="shorter budgets, smaller G")
    parser.add_argument("--threads", type=int, default=1, help="threads per peer (default 1)")
    parser.add_argument("--budget", type=float, default=6.0,
                        help="seconds of timed rounds per workload (default 6)")
    parser.add_argument("--results", metavar="PATH", help="also write the tables as markdown")
    parser.add_argument("--verbose", action="store_true", help="print peers' tracebacks")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--selftest", action="store_true",
                        help="check the hand-written floors against finite differences")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    pin_threads(args.threads)  # before numpy, torch or jax is imported

    from .harness import Config, summary_table
    from .workloads import select

    if args.selftest:
        from .selftest import main as selftest

        return selftest()
    try:
        workloads = select(args.keys)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    if args.list:
        for w in workloads:
            print(f"{w.key:6} {w.title}")
        return 0
    config = Config(quick=args.quick, budget=args.budget, verbose=args.verbose)
    tables = []
    for workload in workloads:
        table = workload.run(config)
        tables.append(table)
        print(table.render(), end="\n\n", flush=True)
    summary = summary_table(tables)
    print(summary.render(), flush=True)
    if args.results:
        from .report import write_results

        write_results(args.results, tables + [summary], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
