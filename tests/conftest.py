"""Shared pytest fixtures: paths to the test fixtures and the optional reference data."""

from __future__ import annotations

import os
import pathlib

import pytest

TESTS_DIR = pathlib.Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent


@pytest.fixture(scope="session")
def fixtures_dir() -> pathlib.Path:
    """Directory of the small hand-written CSV fixtures."""
    return TESTS_DIR / "fixtures"


@pytest.fixture(scope="session")
def reference_dir() -> pathlib.Path:
    """Directory of the shared reference data (``$FORECAST_REFERENCE_DIR`` or
    ``<repo>/../shared/reference``); tests needing it skip when it is absent."""
    env = os.environ.get("FORECAST_REFERENCE_DIR")
    path = pathlib.Path(env) if env else REPO_DIR.parent / "shared" / "reference"
    if not path.is_dir():
        pytest.skip(f"reference data directory not found: {path}")
    return path
