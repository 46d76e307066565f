"""What every generated page's script shares: write the page, or with ``--check`` fail
(exit 1, a short diff) when the committed page is stale."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(output: Path, render: Callable[[], str], description: str, argv=None) -> int:
    """``python scripts/gen_X.py [--check]`` for the page ``output`` built by ``render()``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help=f"fail if {output.name} is stale")
    args = parser.parse_args(argv)
    text = render()
    name = output.relative_to(ROOT)
    if args.check:
        current = output.read_text() if output.exists() else ""
        if current != text:
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(), str(name),
                                        "generated", lineterm="", n=0)
            print("\n".join(list(diff)[:40]))
            script = Path(__import__("sys").argv[0]).name
            print(f"{name} is stale: run .venv/bin/python scripts/{script}")
            return 1
        return 0
    output.write_text(text)
    print(f"wrote {name}")
    return 0
