"""``python -m gradlab.examples [--quick] [--only NAME] [--list]``: train the example models.

Each registered model (see ``gradlab.examples.MODELS``) is gradient-checked, trained
while its loss is printed, and evaluated on held-out data; a summary table follows.
Exits non-zero if any model fails.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from gradlab.examples import MODELS, load_model

COLUMNS = [
    ("model", "name", "{}"),
    ("params", "params", "{:d}"),
    ("steps", "steps", "{:d}"),
    ("final loss", "final_loss", "{:.4f}"),
    ("train acc", "train_acc", "{:.4f}"),
    ("test acc", "test_acc", "{:.4f}"),
    ("float32 acc", "float32_acc", "{:.4f}"),  # a reduced-precision model's float32 run
    ("time (s)", "seconds", "{:.1f}"),
]


def format_table(rows: list[dict]) -> str:
    """Render metrics dicts as an aligned text table; missing values show as '-'."""
    cells = [[title for title, _, _ in COLUMNS]]
    for row in rows:
        cells.append([fmt.format(row[key]) if key in row else "-" for _, key, fmt in COLUMNS])
    widths = [max(len(r[i]) for r in cells) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradlab.examples", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer epochs (the test suite)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only models whose name contains NAME (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    args = parser.parse_args(argv)

    rows, failed = [], []
    for path in MODELS:
        try:
            module = load_model(path)
        except Exception:
            traceback.print_exc()
            failed.append(path)
            continue
        if args.only and not any(s.lower() in module.NAME.lower() for s in args.only):
            continue
        if args.list:
            print(f"{module.NAME:24s} {path}")
            continue
        print(f"\n=== {module.NAME} ===", flush=True)
        start = time.perf_counter()
        try:
            metrics = module.train(quick=args.quick)
        except Exception:
            traceback.print_exc()
            failed.append(module.NAME)
            continue
        metrics.setdefault("seconds", time.perf_counter() - start)
        rows.append({"name": module.NAME, **metrics})

    if rows:
        print("\n" + format_table(rows))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
