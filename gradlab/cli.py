"""python -m gradlab: the version, what is installed, the demo, the differentiable functions.

    python -m gradlab --version
    python -m gradlab info              # versions of numpy/scipy/pyccolo, the extras, features
    python -m gradlab examples --quick  # the demo (python -m gradlab.examples)
    python -m gradlab ops linalg        # search the differentiable functions

>>> main(["ops", "logsumexp"])  # doctest: +ELLIPSIS
scipy.special.logsumexp ...
0
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import platform
import re
import sys

from ._version import __version__

__all__ = ["main", "EXTRAS", "FEATURES", "extras", "info", "installed_version", "search_ops"]

# The optional extras and the distributions each one installs, when gradlab's own
# metadata cannot say (running from a source tree that is not installed).
EXTRAS: dict[str, tuple[str, ...]] = {
    "examples": ("scikit-learn", "tqdm"),
    "ipython": ("ipython", "pipescript"),
    "plot": ("matplotlib",),
    "scipy": ("scipy",),
    "torch": ("torch",),
    "jax": ("jax",),
    "onnx": ("onnx", "onnxruntime"),
    "distributed": ("ray",),
    "typing": ("mypy",),
}
# What gradlab can do, and the distributions each feature needs.
FEATURES: dict[str, tuple[str, ...]] = {
    "notebook DSL (%load_ext gradlab)": ("ipython", "pipescript"),
    "progress bars (gl.train, the demo)": ("tqdm",),
    "loss-curve plots (train(plot=...), demo --plot)": ("matplotlib",),
    "scipy.special / stats / signal rules": ("scipy",),
    "the digits demo models": ("scikit-learn",),
}
CORE = ("numpy", "pyccolo", "ml_dtypes")


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None (read from metadata, not imported).

    >>> installed_version("numpy") is not None, installed_version("no-such-dist-xyz")
    (True, None)
    """
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def extras() -> dict[str, tuple[str, ...]]:
    """Each optional extra of the installed gradlab and the distributions it installs.

    Read from the package metadata (setup.cfg's ``extras_require``), so an extra added
    there shows up here; ``EXTRAS`` when gradlab is not installed.

    >>> extras()["plot"]
    ('matplotlib',)
    """
    try:
        requirements = importlib.metadata.requires("gradlab") or []
    except importlib.metadata.PackageNotFoundError:
        return dict(EXTRAS)
    found: dict[str, list[str]] = {}
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        match = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        name = re.match(r"[A-Za-z0-9_.\-]+", spec.strip())
        if match and name and match.group(1) not in ("test", "all"):
            if name.group(0) != "gradlab":
                found.setdefault(match.group(1), []).append(name.group(0))
    return {k: tuple(dict.fromkeys(v)) for k, v in found.items()} or dict(EXTRAS)


def info() -> str:
    """The text of ``python -m gradlab info``."""
    import gradlab

    lines = [f"gradlab {__version__} ({gradlab.__path__[0]})",
             f"python {platform.python_version()} ({sys.executable}) on {platform.platform()}",
             "", "core:"]
    lines += [f"  {name:14s} {installed_version(name) or 'MISSING'}" for name in CORE]
    lines += ["", "optional extras (pip install 'gradlab[NAME]'):"]
    for extra, dists in extras().items():
        versions = [f"{d} {installed_version(d) or '-'}" for d in dists]
        status = "yes" if all(installed_version(d) for d in dists) else "no "
        lines.append(f"  [{status}] {extra:12s} {', '.join(versions)}")
    lines += ["", "features:"]
    for feature, dists in FEATURES.items():
        missing = [d for d in dists if installed_version(d) is None]
        state = "enabled" if not missing else f"off (needs {', '.join(missing)})"
        lines.append(f"  {feature:48s} {state}")
    return "\n".join(lines)


def _spelling(fn) -> str:
    """How a user writes ``fn``: ``np.linalg.inv``, ``math.sin``, ``scipy.special.erf``."""
    name = getattr(fn, "__name__", None) or type(fn).__name__
    owner = getattr(fn, "__self__", None)
    prefixes = {"numpy": "np", "numpy.linalg": "np.linalg", "numpy.fft": "np.fft"}
    for module_name in ("numpy", "numpy.linalg", "numpy.fft", "math", "builtins", "operator",
                        "scipy.special", "scipy.stats", "scipy.signal"):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        shown = prefixes.get(module_name, module_name)
        if getattr(module, name, None) is fn:
            return f"{shown}.{name}"
        if owner is not None:
            for attr, value in vars(module).items():
                if value is owner and not attr.startswith("_"):
                    return f"{shown}.{attr}.{name}"
    defined_in = getattr(fn, "__module__", None) or "?"
    return f"{defined_in}.{getattr(fn, '__qualname__', name)}"


def search_ops(query: str = "") -> list[tuple[str, str, str]]:
    """``(function, gradlab name, kind)`` of each differentiable function matching ``query``.

    The query is matched (case-insensitively) against the function's spelling, the
    gradlab name and its kind; an empty query lists every one.

    >>> ("np.linalg.inv", "inv", "primitive") in search_ops("linalg")
    True
    """
    from .core.primitive import NUMPY_TABLE, Primitive
    from .intercept.lazy_rules import load_all

    load_all()  # SciPy's and numpy.polynomial's rules are declared on first use otherwise
    rows = []
    for original, entry in NUMPY_TABLE.items():
        impl = getattr(entry, "__gradlab__", entry)
        if isinstance(impl, Primitive):
            name = impl.name
            kind = "primitive" if impl.differentiable else "constant"
        else:
            name = f"{impl.__module__.replace('gradlab.', '')}.{impl.__name__}"
            kind = getattr(impl, "__gradlab_kind__", None) or (
                "constant" if impl.__module__.endswith(".constants") else "composition")
        if kind.startswith("constant") or kind == "in place":  # no derivative / raises
            continue
        row = (_spelling(original), name, kind)
        if query.lower() in " ".join(row).lower():
            rows.append(row)
    return sorted(set(rows))


def _ops(query: str) -> int:
    rows = search_ops(query)
    if not rows:
        print(f"no differentiable function matches {query!r} (python -m gradlab ops lists "
              "them all; docs/ops.md has the unsupported ones)", file=sys.stderr)
        return 1
    width = max(len(r[0]) for r in rows)
    for shown, name, kind in rows:
        print(f"{shown:{width}s}  {name} ({kind})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gradlab",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"gradlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("info", help="versions of gradlab, its dependencies and extras")
    sub.add_parser("examples", add_help=False,
                   help="run the demo (options go to python -m gradlab.examples; see --help)")
    ops = sub.add_parser("ops", help="search the differentiable functions")
    ops.add_argument("query", nargs="?", default="", help="part of a name, e.g. linalg")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["examples"]:  # everything after it is the demo's own options
        from .examples.__main__ import main as examples_main

        return examples_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        print(info())
        return 0
    if args.command == "ops":
        return _ops(args.query)
    parser.print_help()
    return 0
