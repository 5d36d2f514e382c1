"""Fixtures shared by every test module."""

from tests.browser import browser  # noqa: F401  (the real-browser fixture, skipped where Chromium is absent)
