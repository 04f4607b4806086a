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


SYNC_METHODS = ("tolist", "item", "cpu", "__bool__", "__float__", "__int__")


@pytest.fixture
def count_host_syncs(monkeypatch):
    """``count_host_syncs(fn, *args, **kwargs)``: run ``fn`` and return how many times it
    read a tensor back to the host (``.item()``, ``.tolist()``, ``.cpu()``, ``bool()``, ...),
    the calls that make the CPU wait for the GPU."""
    import torch

    def run(fn, *args, **kwargs) -> int:
        calls = {"n": 0}
        with monkeypatch.context() as m:
            for name in SYNC_METHODS:
                original = getattr(torch.Tensor, name)

                def counting(self, *a, _original=original, **kw):
                    calls["n"] += 1
                    return _original(self, *a, **kw)
                m.setattr(torch.Tensor, name, counting)
            fn(*args, **kwargs)
        return calls["n"]
    return run


@pytest.fixture
def fake_hub(monkeypatch):
    """``fake_hub(result)``: replace the network fetch behind torchvision's
    ``Weights.get_state_dict`` by one that returns ``result`` (or raises it, when it is an
    exception); returns the list of URLs asked for."""
    def install(result):
        calls = []

        def load_state_dict_from_url(url, *args, **kwargs):
            calls.append(url)
            if isinstance(result, BaseException):
                raise result
            return result

        import torchvision.models._api as api
        monkeypatch.setattr(api, "load_state_dict_from_url", load_state_dict_from_url)
        return calls
    return install
