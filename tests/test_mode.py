from __future__ import annotations

import pytest
import torch

from d2lhelpers.mode import choose, default_device, devices, resolve_mode


@pytest.mark.parametrize("explicit,env", [("demo", "full"), ("full", "demo"), (" Full ", "demo")])
def test_explicit_mode_wins_over_env(monkeypatch, explicit, env):
    monkeypatch.setenv("D2L_MODE", env)
    assert resolve_mode(explicit) == explicit.strip().lower()


@pytest.mark.parametrize("env,cuda", [("demo", True), ("full", False), ("FULL", False)])
def test_auto_uses_env(monkeypatch, env, cuda):
    monkeypatch.setenv("D2L_MODE", env)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert resolve_mode("auto") == env.lower()
    assert resolve_mode() == env.lower()


@pytest.mark.parametrize("cuda,expected", [(True, "full"), (False, "demo")])
@pytest.mark.parametrize("unset", [True, False])
def test_auto_without_env_follows_cuda(monkeypatch, cuda, expected, unset):
    if unset:
        monkeypatch.delenv("D2L_MODE", raising=False)
    else:
        monkeypatch.setenv("D2L_MODE", "")  # an empty variable counts as unset
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert resolve_mode("auto") == expected


def test_bad_mode_raises_naming_it(monkeypatch):
    monkeypatch.delenv("D2L_MODE", raising=False)
    with pytest.raises(ValueError, match="turbo"):
        resolve_mode("turbo")


def test_bad_env_raises_naming_it(monkeypatch):
    monkeypatch.setenv("D2L_MODE", "fastest")
    with pytest.raises(ValueError, match="fastest"):
        resolve_mode("auto")
    assert resolve_mode("demo") == "demo"  # an explicit mode does not even read it


PRESETS = {"demo": {"epochs": 1, "lr": 0.1}, "full": {"epochs": 30, "lr": 0.05}}


def test_choose_picks_preset_and_applies_overrides():
    assert choose("full", PRESETS) == {"epochs": 30, "lr": 0.05}
    cfg = choose("demo", PRESETS, {"lr": 0.5})
    assert cfg == {"epochs": 1, "lr": 0.5}
    cfg["epochs"] = 99  # a copy: the presets are untouched
    assert PRESETS["demo"] == {"epochs": 1, "lr": 0.1}


def test_choose_rejects_unknown_override_keys():
    with pytest.raises(KeyError, match="epochz"):
        choose("demo", PRESETS, {"epochz": 3})


@pytest.mark.parametrize("bad", ["bogus", "", "ful"])
def test_choose_rejects_unknown_mode(bad):
    with pytest.raises(ValueError, match="mode="):
        choose(bad, PRESETS)


def test_choose_resolves_auto_like_everything_else(monkeypatch):
    monkeypatch.setenv("D2L_MODE", "full")
    assert choose("auto", PRESETS) == choose("full", PRESETS)
    assert choose(" Demo ", PRESETS) == choose("demo", PRESETS)


def test_choose_requires_both_presets():
    with pytest.raises(KeyError, match="full"):
        choose("demo", {"demo": {"epochs": 1}})


@pytest.mark.parametrize("n", [0, 1, 3])
def test_devices(monkeypatch, n):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    expected = [torch.device(f"cuda:{i}") for i in range(n)] or [torch.device("cpu")]
    assert devices() == expected
    assert default_device() == expected[0]
