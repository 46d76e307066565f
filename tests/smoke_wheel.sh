#!/usr/bin/env bash
# Wheel smoke test: a plain (non-editable) install must behave exactly like the
# editable one. Builds a wheel from a clean copy of the source, installs it into
# a fresh venv (no system site-packages, dependencies from the package index),
# and runs a user script with a helper in a separate user module from a
# directory outside the source tree. Instrumenting user code must not depend on
# where gradlab itself is installed.
#
# Usage: PYTHON=.venv/bin/python bash tests/smoke_wheel.sh
#   PYTHON         interpreter that builds the wheel (default: .venv/bin/python)
#   SMOKE_PYTHON   base interpreter for the fresh venv (default: python3)
#   SMOKE_KEEP=1   keep the temporary directory for inspection
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
SMOKE_PYTHON="${SMOKE_PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gradlab-smoke.XXXXXX")"
if [[ "${SMOKE_KEEP:-0}" == "1" ]]; then
    echo "smoke: keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
t0=$SECONDS

# 1. Copy the source without build outputs, so a stale build/ directory (which
#    may hold modules deleted since) can never leak into the wheel.
mkdir -p "$WORK/src" "$WORK/wheels" "$WORK/user"
tar -C "$ROOT" \
    --exclude=./.venv --exclude=./.git --exclude=./build --exclude=./dist \
    --exclude='*.egg-info' --exclude='__pycache__' --exclude=./notebooks \
    --exclude=./.pytest_cache --exclude=./.hypothesis --exclude=./.ruff_cache \
    -cf - . | tar -C "$WORK/src" -xf -

# 2. Build the wheel; skip build isolation when the builder already has a
#    recent setuptools and wheel (fast, offline); otherwise let pip fetch them.
if "$PYTHON" -c 'import setuptools, wheel, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 64)' \
        2>/dev/null; then
    isolation=--no-build-isolation
else
    isolation=
fi
"$PYTHON" -m pip wheel --no-deps $isolation -q -w "$WORK/wheels" "$WORK/src"
wheel_file=$(ls "$WORK"/wheels/gradlab-*.whl)

# Every module of the source tree is in the wheel (a subpackage left out of the
# package list would otherwise only fail on a user's machine).
"$PYTHON" - "$WORK/src" "$wheel_file" <<'PYEOF'
import pathlib, sys, zipfile
src, whl = pathlib.Path(sys.argv[1]), sys.argv[2]
want = {p.relative_to(src).as_posix() for p in (src / "gradlab").rglob("*.py")}
have = {n for n in zipfile.ZipFile(whl).namelist() if n.endswith(".py")}
missing = sorted(want - have)
assert not missing, f"modules missing from the wheel: {missing}"
PYEOF
rm -rf "$WORK/src"

# 3. Fresh venv, install the wheel with its runtime dependencies only.
"$SMOKE_PYTHON" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install -q "$wheel_file"

# 4. A user project outside the source tree: a helper module and a script.
cat > "$WORK/user/user_helpers.py" <<'PYEOF'
import numpy as np


def squash(x):
    return np.tanh(x) ** 2


def squared_error(params, X, y):
    r = X @ params["w"] + params["b"] - y
    return 0.5 * np.sum(r**2)
PYEOF

cat > "$WORK/user/user_script.py" <<'PYEOF'
import os
import sys

import numpy as np
from user_helpers import squared_error, squash

import gradlab as gl

# gradlab comes from the fresh venv, never from the source tree.
assert os.path.realpath(gl.__file__).startswith(os.path.realpath(sys.prefix)), gl.__file__
assert "site-packages" in gl.__file__, gl.__file__


def f(x):
    return np.sum(np.tanh(x) ** 2)


x = np.linspace(-1, 1, 5)
t = np.tanh(x)
expected = 2 * t * (1 - t**2)

g = gl.grad(f)(x)
assert np.allclose(g, expected), (g, expected)

# The helper lives in another user module: it must be instrumented too.
g = gl.grad(lambda v: np.sum(squash(v)))(x)
assert np.allclose(g, expected), (g, expected)

# Dict pytree, several arguments, value and gradient together.
rng = np.random.default_rng(0)
X, y = rng.normal(size=(6, 3)), rng.normal(size=6)
params = {"w": rng.normal(size=3), "b": np.array(0.5)}
value, grads = gl.value_and_grad(squared_error)(params, X, y)
r = X @ params["w"] + params["b"] - y
assert np.isclose(value, 0.5 * np.sum(r**2)), value
assert np.allclose(grads["w"], X.T @ r), grads["w"]
assert np.allclose(grads["b"], np.sum(r)), grads["b"]

# Helpers shipped inside the installed package (the examples) still work when
# gradlab lives in site-packages.
from gradlab.examples.common import softmax_cross_entropy

logits = rng.normal(size=(4, 3))
onehot = np.eye(3)[[0, 2, 1, 1]]
g = gl.grad(softmax_cross_entropy)(logits, onehot)
p = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
assert np.allclose(g, (p - onehot) / 4), g

print("smoke: ok, gradlab from", os.path.dirname(gl.__file__))
PYEOF

cd "$WORK/user"
env -u PYTHONPATH "$VPY" user_script.py
echo "smoke: wheel $(basename "$wheel_file") passed in $((SECONDS - t0)) s"
