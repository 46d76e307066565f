"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel.

The kernel gets ``GRADLAB_QUICK=1``: each notebook then trains for fewer steps (and
asserts correspondingly looser targets) so that it runs in seconds. The notebooks
assert their own results (gradient checks, accuracies, falling losses), so a notebook
that runs is a notebook whose claims hold. A cell tagged ``raises-exception`` must
raise, and its traceback must quote the cell's own source.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_the_tour_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_tour.ipynb", "02_per_example_gradients.ipynb", "03_rnns.ipynb", "04_dsl.ipynb",
        "07_graphs.ipynb", "08_backends.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    monkeypatch.setenv("GRADLAB_QUICK", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError (naming the cell) on an unexpected error
    for cell in nb.cells:
        if "raises-exception" not in cell.get("metadata", {}).get("tags", []):
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors, f"a cell tagged raises-exception did not raise:\n{cell.source}"
        shown = ANSI.sub("", "\n".join(errors[0].traceback))
        lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
        assert all(line in shown for line in lines), shown
