"""Shared fixtures: keep every test's data and results out of the checkout."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Point D2L_DATA_DIR / D2L_RESULTS_DIR at a per-test temporary folder."""
    monkeypatch.setenv("D2L_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("D2L_RESULTS_DIR", str(tmp_path / "results"))
    yield
    import sys
    if "matplotlib.pyplot" in sys.modules:  # no figures leak from one test into the next
        sys.modules["matplotlib.pyplot"].close("all")
