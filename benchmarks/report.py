"""Writing the tables to a markdown file (``--results``), with date and machine.

Everything from the line ``NOTES_MARKER`` on in the existing file is kept:
the hand-written analysis (profiles, what would close a gap) survives re-runs.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform

NOTES_MARKER = "<!-- notes: kept across re-runs -->"


def kept_notes(path) -> str:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return ""
    at = text.find(NOTES_MARKER)
    return text[at:] if at >= 0 else ""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def versions() -> str:
    """The peers' versions, for the ones installed."""
    found = []
    for name in ("numpy", "gradlab", "autograd", "torch", "jax"):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def write_results(path, tables, args) -> None:
    command = "python -m benchmarks " + " ".join(
        [*args.keys, *(["--quick"] if args.quick else []),
         *([f"--threads {args.threads}"] if args.threads != 1 else [])])
    header = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks --results benchmarks/RESULTS.md`; see "
        "`benchmarks/__init__.py` and each workload's module for what is measured.",
        "",
        f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- machine: {os.cpu_count()} cores (`nproc`), {cpu_model()}, "
        f"{platform.system()} {platform.release()}",
        f"- python {platform.python_version()}; {versions()}",
        f"- command: `{command.strip()}`; {args.threads} thread(s) per peer, float64",
        "- ratio: median time over the hand-written numpy floor's (lower is better)",
        "",
    ]
    body = [table.render() for table in tables]
    # The summary reads best first.
    text = "\n".join(header) + "\n" + "\n\n".join([body[-1], *body[:-1]]) + "\n"
    notes = kept_notes(path)
    if notes:
        text += "\n" + notes
    with open(path, "w") as f:
        f.write(text)
