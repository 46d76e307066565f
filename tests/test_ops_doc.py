"""docs/ops.md is generated from the registry and must never be stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "ops.md").read_text()


def test_docs_ops_md_matches_the_registry():
    # A fresh interpreter: rules that other tests declare must not leak into the page.
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_ops_doc.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docs_list_supported_constant_and_unsupported_functions():
    assert "| `np.einsum` | `einsum` | primitive |" not in DOC  # einsum is a composition
    assert "| `np.einsum` | `ops.contract.einsum` | composition |" in DOC
    assert "| `np.exp` | `exp` | primitive |" in DOC
    assert "| `np.argmax` | `argmax` | constant (primitive) |" in DOC
    assert "| `np.shape` | (numpy's own) | called as written |" in DOC
    assert "- `np.put_along_axis`:" in DOC
    unsupported = DOC.split("## Functions that raise `NoRuleError`")[1]
    assert "`unique`" in unsupported and "`histogram`" in unsupported
    assert "`einsum`," not in unsupported and "`sort`," not in unsupported


def test_every_documented_unsupported_numpy_function_really_has_no_rule():
    from gradlab.core.primitive import NUMPY_TABLE
    from gradlab.ops.constants import PASS_THROUGH

    section = DOC.split("## Functions that raise `NoRuleError`")[1].split("### np.linalg")[0]
    names = [n.strip("`, \n") for n in section.split("### np (")[1].split("\n", 2)[2].split(",")]
    assert len(names) > 20
    for name in names:
        fn = getattr(np, name)
        assert fn not in NUMPY_TABLE and fn not in PASS_THROUGH, name
