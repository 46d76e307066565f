"""The one place gradlab's version is written (``setup.cfg`` reads it with ``attr:``)."""

__version__ = "0.2.0"
