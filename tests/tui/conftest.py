"""Fixtures for the browser tests (helpers live in browse_util.py)."""

from browse_util import bundle  # noqa: F401  (the fixture)
