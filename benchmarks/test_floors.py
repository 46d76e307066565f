"""pytest view of :mod:`benchmarks.selftest`: every floor against finite differences.

Collected by the main suite (pyproject testpaths), so a wrong floor fails CI; or run
``python -m pytest benchmarks`` or ``python -m benchmarks --selftest``.
"""

import pytest

from benchmarks.selftest import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_floor_matches_finite_differences(check):
    check()
