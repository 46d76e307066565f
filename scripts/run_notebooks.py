"""Execute notebooks/*.ipynb in place, keeping their (small) outputs, so they read on the web.

    .venv/bin/python scripts/run_notebooks.py                  # every notebook, full runs
    .venv/bin/python scripts/run_notebooks.py 04_dsl 02        # those whose name contains...
    .venv/bin/python scripts/run_notebooks.py --quick          # GRADLAB_QUICK=1: seconds each

Each notebook runs top to bottom in a fresh Jupyter kernel (cells tagged
``raises-exception`` may fail; any other error stops it and leaves the file as it was).
The outputs are then checked against the limits ``tests/test_notebooks.py`` enforces:
each image under ``MAX_IMAGE_BYTES`` (plots are PNG), each text output under
``MAX_TEXT_CHARS``; a notebook over them is not written. Execution counts and timings
that would only churn the diff are dropped.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MAX_IMAGE_BYTES = 200_000
MAX_TEXT_CHARS = 20_000


def output_problems(nb) -> list[str]:
    """Why ``nb``'s outputs are too big to commit (an empty list when they are fine)."""
    problems = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                if mime.startswith("image/") and mime != "image/svg+xml":
                    size = len(base64.b64decode(data))
                    if size > MAX_IMAGE_BYTES:
                        problems.append(f"cell {index}: a {mime} of {size} bytes "
                                        f"(limit {MAX_IMAGE_BYTES}; use a smaller figure or dpi)")
                elif len("".join(data) if isinstance(data, list) else str(data)) > MAX_TEXT_CHARS:
                    problems.append(f"cell {index}: a {mime} output over {MAX_TEXT_CHARS} "
                                    "characters")
            text = output.get("text", "")
            if len("".join(text) if isinstance(text, list) else text) > MAX_TEXT_CHARS:
                problems.append(f"cell {index}: a stream over {MAX_TEXT_CHARS} characters")
    return problems


def run(path: Path, quick: bool, timeout: int) -> list[str]:
    """Execute ``path`` in place; returns the problems (nothing is written if any)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if quick:
        os.environ["GRADLAB_QUICK"] = "1"
    else:
        os.environ.pop("GRADLAB_QUICK", None)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     record_timing=False,
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        return [f"a cell failed:\n{str(exc)[:3000]}"]
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    problems = output_problems(nb)
    if not problems:
        nbformat.validate(nb)
        nbformat.write(nb, path)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only notebooks whose name contains these")
    parser.add_argument("--quick", action="store_true", help="GRADLAB_QUICK=1 (short training)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [p for p in sorted(NOTEBOOKS.glob("*.ipynb"))
             if not args.names or any(n in p.name for n in args.names)]
    if not paths:
        print("no notebook matches", file=sys.stderr)
        return 1
    failed = False
    for path in paths:
        start = time.perf_counter()
        problems = run(path, args.quick, args.timeout)
        seconds = time.perf_counter() - start
        if problems:
            failed = True
            print(f"{path.name}: NOT written ({seconds:.0f} s):\n  " + "\n  ".join(problems))
        else:
            print(f"{path.name}: executed in place ({seconds:.0f} s, "
                  f"{path.stat().st_size // 1024} KB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
