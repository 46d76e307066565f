"""The package's layers: ``core`` is the ground floor, and no two modules import each other."""

from __future__ import annotations

import ast
import pathlib

import gradlab

PACKAGE = pathlib.Path(gradlab.__file__).parent
ABOVE_CORE = ("ops", "intercept", "transforms", "nn", "ipython", "soft", "rules", "graph",
              "scipy", "optim", "examples")


def _imported_modules(path: pathlib.Path, source: str | None = None) -> set[str]:
    """Every gradlab module ``path`` imports (at module level or inside a function)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("gradlab.")}


def test_core_imports_nothing_above_it():
    upward = []
    for path in sorted((PACKAGE / "core").glob("*.py")):
        for module in _imported_modules(path):
            if module.split(".")[1] in ABOVE_CORE:
                upward.append(f"{path.name} imports {module}")
    assert upward == []


def test_the_scan_sees_a_relative_upward_import():
    # The scan above must be able to fail: a core file with a function-level ``from ..ops``.
    source = "def f():\n    from ..ops.shape import reshape\n"
    found = _imported_modules(PACKAGE / "core" / "tape.py", source)
    assert "gradlab.ops.shape" in found


def test_reverse_and_higher_do_not_import_each_other():
    transforms = PACKAGE / "transforms"
    reverse = _imported_modules(transforms / "reverse.py")
    higher = _imported_modules(transforms / "higher.py")
    assert "gradlab.transforms.reverse" in higher  # higher-order transforms build on reverse
    assert not any(m.startswith("gradlab.transforms.higher") for m in reverse)


def test_no_two_transform_modules_import_each_other():
    modules = {p.stem: _imported_modules(p) for p in (PACKAGE / "transforms").glob("*.py")}
    cycles = [(a, b) for a in modules for b in modules if a < b
              and f"gradlab.transforms.{b}" in modules[a]
              and f"gradlab.transforms.{a}" in modules[b]]
    assert cycles == []
