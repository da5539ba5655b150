"""The package version (one place; ``pyproject.toml`` holds the same string, checked by
tests/test_public_api.py)."""

__version__ = "0.9.0"
