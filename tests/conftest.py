"""Shared test configuration (keep it small; fixtures used by one file live in that file)."""

from hypothesis import settings

# The suite runs on 2 shared cores under pytest-xdist: wall-clock deadlines are noise.
settings.register_profile("gradlab", deadline=None, print_blob=True)
settings.load_profile("gradlab")
