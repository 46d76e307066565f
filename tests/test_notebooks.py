"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel.

Notebooks are committed with their outputs (small: plots as PNG under 200 KB each), as
``scripts/run_notebooks.py`` leaves them, so that they read on the web without running.

The kernel gets ``GRADLAB_QUICK=1``: each notebook then trains for fewer steps (and
asserts correspondingly looser targets) so that it runs in seconds. The notebooks
assert their own results (gradient checks, accuracies, falling losses), so a notebook
that runs is a notebook whose claims hold. A cell tagged ``raises-exception`` must
raise, and its traceback must quote the cell's own source.
"""

from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")

_spec = importlib.util.spec_from_file_location("run_notebooks",
                                               ROOT / "scripts" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)


def test_the_tour_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_tour.ipynb", "02_per_example_gradients.ipynb", "03_rnns.ipynb", "04_dsl.ipynb",
        "05_soft_decisions.ipynb",
        "06_surrogate_gradients.ipynb", "07_graphs.ipynb",
        "08_backends.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_its_committed_outputs_are_small(path):
    """Outputs are committed (plots as PNG) so that notebooks read on the web; each image
    stays under 200 KB and no text output is huge (scripts/run_notebooks.py writes them)."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert run_notebooks.output_problems(nb) == [], path.name
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error" or "raises-exception" in cell.metadata.get(
                "tags", []), f"{path.name}: committed with an error in {cell.source[:60]!r}"
    assert path.stat().st_size < 1_000_000


# The notebooks whose committed outputs end with the plots a reader wants.
ENDS_WITH_PLOTS = ["01_tour.ipynb", "02_per_example_gradients.ipynb", "03_rnns.ipynb",
                   "04_dsl.ipynb"]


@pytest.mark.parametrize("name", ENDS_WITH_PLOTS)
def test_notebook_ends_with_its_plots(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    images = [o for o in last.outputs if "image/png" in o.get("data", {})]
    assert images, f"{name}: its last cell shows no plot (run scripts/run_notebooks.py)"


def test_output_limits_catch_a_big_image_and_a_huge_text():
    png = base64.b64encode(b"\x89PNG" + bytes(250_000)).decode()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot()")])
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"image/png": png}),
                           nbformat.v4.new_output("stream", name="stdout", text="x" * 30_000)]
    problems = run_notebooks.output_problems(nb)
    assert len(problems) == 2
    assert "cell 0: a image/png of 250004 bytes (limit 200000" in problems[0]
    assert "cell 0: a stream over 20000 characters" in problems[1]


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
