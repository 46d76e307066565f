"""The examples in the op modules' docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["elementwise", "binary", "constants", "index", "reduce", "cumulative", "sorting",
           "stacking", "manip", "contract", "numeric", "pybuiltins", "methods"]


@pytest.mark.parametrize("name", MODULES)
def test_op_module_docstring_examples(name):
    module = importlib.import_module(f"gradlab.ops.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"gradlab.ops.{name} has no docstring example"
    assert result.failed == 0
