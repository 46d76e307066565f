"""docs/api.md is generated from the public docstrings and signatures and is never stale."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "api.md").read_text()

_spec = importlib.util.spec_from_file_location("gen_api_doc", ROOT / "scripts" / "gen_api_doc.py")
gen_api_doc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_api_doc)


def test_docs_api_md_matches_the_docstrings():
    # A fresh interpreter, as the lead runs the script after merging.
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_api_doc.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_public_name_of_every_public_module_has_an_entry():
    modules = gen_api_doc.public_modules()
    assert {"gradlab", "gradlab.nn", "gradlab.optim", "gradlab.ipython", "gradlab.training",
            "gradlab.random"} <= set(modules)
    assert not {"gradlab.core", "gradlab.ops", "gradlab.cli"} & set(modules)
    sections = DOC.split("\n## ")
    for module_name in modules:
        section = next(s for s in sections if s.startswith(module_name + "\n"))
        module = importlib.import_module(module_name)
        for name in gen_api_doc.public_names(module):
            assert f"`{name}" in section, f"{module_name}.{name} is missing from docs/api.md"
    assert "### `grad(fun: Callable[..., Any], argnum: int | tuple[int, ...] = 0, " \
           "has_aux: bool = False, *, audit: bool = False) -> Callable[..., Any]`" in DOC
    assert "### class `Weights(tree: dict)`" in DOC  # annotations shown as written


def test_new_packages_are_found_and_missing_ones_tolerated(tmp_path, monkeypatch):
    pkg = tmp_path / "fakelab"
    for sub in ("soft", "core", "_private"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text(
            '"""Soft decisions."""\n__all__ = ["relax"]\n\n\n'
            'def relax(x, temperature: float = 1.0) -> float:\n    """Relax ``x``."""\n'
            "    return x\n")
    (pkg / "__init__.py").write_text('"""A fake gradlab."""\n')
    (pkg / "graph.py").write_text("import not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = gen_api_doc.public_modules("fakelab")
    assert modules == ["fakelab", "fakelab.graph", "fakelab.soft"]  # core: INTERNAL
    page = gen_api_doc.render(modules)
    assert "## fakelab.soft\n\nSoft decisions.\n\n### `relax(x, temperature: float = 1.0) " \
           "-> float`\n\nRelax ``x``." in page
    assert "## fakelab.graph\n\n*Not documented here: importing it failed (No module named " \
           "'not_installed_anywhere')" in page
