"""hazfleet: the composition root.  Configuration and the ``hazfleet`` console script."""

__version__ = "0.1.0"
