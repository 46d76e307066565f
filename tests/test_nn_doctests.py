"""The docstring examples of gradlab.nn, .random, .optim and .train run and are right."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gradlab.nn", "gradlab.nn.activations", "gradlab.nn.losses", "gradlab.nn.layers",
    "gradlab.nn.conv", "gradlab.nn.attention", "gradlab.nn.recurrent", "gradlab.nn.params",
    "gradlab.random", "gradlab.optim", "gradlab.optim.optimizers", "gradlab.optim.schedules",
    "gradlab.training", "gradlab.examples.text",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # failures are printed
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed"
    assert result.attempted > 0, f"{name} has no docstring examples"
