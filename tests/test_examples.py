"""`python -m gradlab.examples --quick` trains every registered model to a useful accuracy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradlab.examples import MODELS, load_model
from gradlab.examples.__main__ import format_table

ROOT = Path(__file__).resolve().parent.parent

# Held-out accuracy each model must beat in --quick mode; a model missing here must
# still report an accuracy above DEFAULT_THRESHOLD.
THRESHOLDS = {"logistic regression": 0.90, "mlp": 0.90}
# The full run reaches >= 0.97 (CNN); the character models' held-out accuracy is next-
# character accuracy on unseen text (always predicting the commonest character: 0.18).
THRESHOLDS.update({"mlp + layernorm + dropout": 0.93, "cnn": 0.95,
                   "transformer (chars)": 0.28, "gru (chars)": 0.33})
# Leaky integrate-and-fire neurons through a fast-sigmoid surrogate: 0.935 quick, 0.96 full.
THRESHOLDS.update({"spiking (LIF)": 0.90})
DEFAULT_THRESHOLD = 0.90

LOSS_LINE = re.compile(r"^\[(?P<name>[^\]]+)\] step\s+\d+\s+loss (?P<loss>[0-9.eE+-]+|nan|inf)$")
ACC_LINE = re.compile(r"^\[(?P<name>[^\]]+)\] test accuracy: (?P<acc>[0-9.]+)$")
CHECK_LINE = re.compile(r"^\[(?P<name>[^\]]+)\] gradient check passed")


def run_quick() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradlab.examples", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def parse(stdout: str) -> tuple[dict, dict, set]:
    losses, accuracies, checked = {}, {}, set()
    for line in stdout.splitlines():
        if m := LOSS_LINE.match(line):
            losses.setdefault(m["name"], []).append(float(m["loss"]))
        elif m := ACC_LINE.match(line):
            accuracies[m["name"]] = float(m["acc"])
        elif m := CHECK_LINE.match(line):
            checked.add(m["name"])
    return losses, accuracies, checked


# One test for the whole run, so pytest-xdist workers do not each train every model.
@pytest.mark.slow
def test_examples_quick_check_train_and_reach_accuracy():
    run = run_quick()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    losses, accuracies, checked = parse(run.stdout)
    names = [load_model(path).NAME for path in MODELS]
    assert sorted(accuracies) == sorted(names), run.stdout
    for name in names:
        assert name in checked, f"{name} was not gradient-checked before training"
        curve = losses.get(name, [])
        assert len(curve) >= 2, f"{name} logged fewer than two losses: {curve}"
        assert curve[-1] < 0.5 * curve[0], f"{name} loss did not fall: {curve}"
        threshold = THRESHOLDS.get(name, DEFAULT_THRESHOLD)
        assert accuracies[name] > threshold, f"{name}: test accuracy {accuracies[name]}"
    lines = run.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["model", "params"])
    table = lines[header:header + len(names) + 2]
    assert [row.split("  ")[0].strip() for row in table[2:]] == names
    for row in table[2:]:  # each result next to the range its module states, and within it
        assert row.split()[-2:-1] == ["ok"], row
    assert "it/s" not in run.stderr and "%|" not in run.stderr  # no progress bars in a log


def test_examples_registry_modules_have_interface():
    for path in MODELS:
        module = load_model(path)
        assert isinstance(module.NAME, str) and module.NAME
        assert callable(module.train)


def test_format_table_aligns_and_marks_missing():
    table = format_table(
        [
            {"name": "a", "params": 10, "test_acc": 0.5},
            {"name": "longer", "params": 1000, "steps": 3, "test_acc": 0.25},
        ]
    )
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[0].split()[:3] == ["model", "params", "steps"]
    assert lines[2].split()[:3] == ["a", "10", "-"]
    assert "0.2500" in lines[3]
