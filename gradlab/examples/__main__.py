"""``python -m gradlab.examples [--quick] [--only NAME] [--list] [--plot PATH]``: the demo.

Each registered model (see ``gradlab.examples.MODELS``) is gradient-checked, trained
(a progress bar per model in a terminal; loss lines in a log) and evaluated on
held-out data; a summary table follows, with the held-out accuracy each model is
expected to reach (``EXPECTED`` in its module: a character model's 0.4 is as good as
it gets on a page of text). ``--plot out.png`` draws every model's loss curve
(needs matplotlib: ``pip install 'gradlab[plot]'``). Exits non-zero if any model fails.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback

from gradlab.examples import MODELS, load_model
from gradlab.examples.training import show_progress

COLUMNS = [
    ("model", "name", "{}"),
    ("params", "params", "{:d}"),
    ("steps", "steps", "{:d}"),
    ("final loss", "final_loss", "{:.4f}"),
    ("train acc", "train_acc", "{:.4f}"),
    ("test acc", "test_acc", "{:.4f}"),
    ("float32 acc", "float32_acc", "{:.4f}"),  # a reduced-precision model's float32 run
    ("expected", "expected", "{}"),
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


def expected_range(module, quick: bool) -> tuple[float, float] | None:
    """The held-out accuracy range ``module`` states for this run (``EXPECTED`` for a full
    run, ``EXPECTED_QUICK`` for ``--quick``), or None."""
    return getattr(module, "EXPECTED_QUICK" if quick else "EXPECTED", None)


def judge(accuracy: float, expected: tuple[float, float] | None) -> str:
    """``"0.40-0.50 ok"``, ``"... LOW"`` or ``"... high"``: the range next to a result.

    >>> judge(0.44, (0.38, 0.50)), judge(0.2, (0.38, 0.50))
    ('0.38-0.50 ok', '0.38-0.50 LOW')
    """
    if expected is None:
        return "-"
    lo, hi = expected
    verdict = "ok" if lo <= accuracy <= hi else ("LOW" if accuracy < lo else "high")
    return f"{lo:.2f}-{hi:.2f} {verdict}"


def plot_losses(rows: list[dict], path: str) -> None:
    """One panel per model: its training loss against the step, saved to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    curves = [r for r in rows if r.get("loss_history")]
    cols = min(3, max(1, len(curves)))
    n_rows = max(1, math.ceil(len(curves) / cols))
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.2 * cols, 2.8 * n_rows), squeeze=False)
    for ax, row in zip(axes.flat, curves):
        ax.plot(range(1, len(row["loss_history"]) + 1), row["loss_history"], lw=0.8)
        if min(row["loss_history"]) > 0:
            ax.set_yscale("log")
        ax.set_title(f"{row['name']} (test acc {row.get('test_acc', math.nan):.2f})",
                     fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("loss", fontsize=8)
    for ax in list(axes.flat)[len(curves):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gradlab.examples", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer epochs (the test suite)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only models whose name contains NAME (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    parser.add_argument("--plot", metavar="PATH", help="save the loss curves to PATH (PNG)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: when stdout is a terminal)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.plot and not args.list:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("--plot needs matplotlib: pip install 'gradlab[plot]' "
                  "(or pip install matplotlib)", file=sys.stderr)
            return 2
    show_progress(sys.stdout.isatty() if args.progress is None else args.progress)

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
        if "test_acc" in metrics:
            metrics["expected"] = judge(metrics["test_acc"], expected_range(module, args.quick))
        rows.append({"name": module.NAME, **metrics})
    show_progress(False)

    if rows:
        print("\n" + format_table(rows))
        print("\nexpected: the held-out accuracy range of a "
              f"{'--quick' if args.quick else 'full'} run (the character models predict the "
              "next character of unseen text: about 0.4 is good)")
    if args.plot and rows:
        plot_losses(rows, args.plot)
        print(f"loss curves: {args.plot}")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
