"""``python -m gradlab`` (the CLI), ``gl.__version__``, and the demo's terminal output."""

from __future__ import annotations

import configparser
import fcntl
import importlib.metadata
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import gradlab as gl
from gradlab import cli

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def gradlab_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradlab", *args], capture_output=True,
                          text=True, cwd=ROOT, env=ENV, timeout=300)


def test_version_has_one_source():
    source = (ROOT / "gradlab" / "_version.py").read_text()
    assert f'__version__ = "{gl.__version__}"' in source
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["metadata"]["version"].strip() == "attr: gradlab._version.__version__"
    assert gl.__version__ == importlib.metadata.version("gradlab")  # what pip installed


def test_license_and_typing_marker_ship():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    meta = config["metadata"]
    assert meta["license"] == "MIT" and meta["author"] == "gradlab authors" and meta["url"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "py.typed" in config["options.package_data"]["gradlab"]
    assert (ROOT / "gradlab" / "py.typed").exists()


def test_cli_version_and_help(capsys):
    run = gradlab_cli("--version")
    assert run.returncode == 0 and run.stdout.strip() == f"gradlab {gl.__version__}"
    assert cli.main([]) == 0  # no command: the help
    shown = capsys.readouterr().out
    assert all(f"\n    {c} " in shown for c in ("info", "examples", "ops"))


def test_cli_info_lists_versions_extras_and_features():
    import numpy as np

    run = gradlab_cli("info")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.startswith(f"gradlab {gl.__version__}")
    assert f"numpy          {np.__version__}" in out
    assert f"pyccolo        {importlib.metadata.version('pyccolo')}" in out
    for extra in cli.extras():
        assert f"] {extra}" in out
    tqdm = importlib.metadata.version("tqdm")
    assert f"[yes] examples     scikit-learn {importlib.metadata.version('scikit-learn')}, " \
           f"tqdm {tqdm}" in out
    assert "notebook DSL (%load_ext gradlab)" in out and "enabled" in out


def test_info_says_what_is_missing(monkeypatch):
    real = cli.installed_version
    monkeypatch.setattr(cli, "installed_version",
                        lambda d: None if d == "matplotlib" else real(d))
    text = cli.info()
    assert "[no ] plot         matplotlib -" in text
    assert "loss-curve plots (train(plot=...), demo --plot)  off (needs matplotlib)" in text


def test_cli_ops_searches_the_registry(capsys):
    assert cli.main(["ops", "linalg"]) == 0  # in process: importing SciPy's rules is slow
    rows = {line.split()[0]: line.split(maxsplit=1)[1]
            for line in capsys.readouterr().out.splitlines()}
    assert rows["np.linalg.inv"] == "inv (primitive)"
    assert "np.linalg.eigh" in rows and "np.exp" not in rows
    assert all("linalg" in shown + rest for shown, rest in rows.items())



def test_cli_ops_without_a_match_says_so(capsys):
    assert cli.main(["ops", "no_such_function"]) == 1
    assert "no differentiable function matches 'no_such_function'" in capsys.readouterr().err


def test_search_ops_lists_what_docs_ops_md_calls_differentiable():
    rows = cli.search_ops("")
    names = {row[0] for row in rows}
    assert "np.exp" in names and "np.argmax" not in names and "np.put_along_axis" not in names
    documented = re.search(r"## Differentiable \((\d+)\)", (ROOT / "docs" / "ops.md").read_text())
    assert len(rows) == int(documented.group(1))


def test_cli_examples_passes_its_options_to_the_demo():
    run = gradlab_cli("examples", "--list")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[:3] == ["logistic", "regression", "gradlab.examples.logreg"]


def test_demo_plot_without_matplotlib_says_how_to_get_it(monkeypatch, capsys):
    from gradlab.examples.__main__ import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    assert main(["--only", "logistic", "--plot", "never.png"]) == 2
    assert "--plot needs matplotlib: pip install 'gradlab[plot]'" in capsys.readouterr().err


def test_demo_in_a_terminal_shows_a_progress_bar_and_draws_the_loss_curves(tmp_path):
    """A pseudo-terminal: tqdm draws a bar, the table states the expected range, --plot
    writes a PNG of the loss curves."""
    png = tmp_path / "losses.png"
    pid, fd = pty.fork()
    if pid == 0:  # the child: the demo, its stdout a terminal (100 columns: tqdm's width)
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "gradlab", "examples", "--quick",
                                   "--only", "logistic", "--plot", str(png)], ENV)
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    out = b"".join(chunks).decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, out
    assert "logistic regression: 100%|" in out and "it/s" in out  # tqdm's bar
    assert "step    25  loss" not in out  # the bar replaces the loss lines
    row = next(line for line in out.splitlines() if line.startswith("logistic regression  "))
    assert row.split()[-3:-1] == ["0.93-0.98", "ok"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 200_000
