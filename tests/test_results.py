from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from d2lhelpers import fileio, results
from d2lhelpers.paths import results_root
from d2lhelpers.results import (device_name, git_commit, load_results, read_timings, record_timing,
                                save_benchmark, save_results)

REPO = Path(__file__).resolve().parents[1]
KEYS = {"section", "mode", "rehearsal", "device", "torch", "dataset", "epochs", "metrics",
        "examples_per_sec", "wall_seconds", "git_commit", "date"}


def save(section: str = "01-image-augmentation", mode: str = "demo", **kw) -> Path:
    args = dict(dataset="demo shapes", epochs=2, metrics={"test_acc": 0.5},
                examples_per_sec=123.4, wall_seconds=5.0, device="cpu")
    args.update(kw)
    return save_results(section, mode, **args)


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------- where results go

def test_writes_section_mode_json_under_env_results_root(tmp_path):
    root = tmp_path / "results"  # conftest points D2L_RESULTS_DIR here
    assert results_root() == root
    path = save()
    assert path == root / "01-image-augmentation" / "demo.json"
    assert files_under(root) == ["01-image-augmentation/demo.json"]
    record = json.loads(path.read_text(encoding="utf-8"))
    assert set(record) == KEYS
    assert record["section"] == "01-image-augmentation" and record["mode"] == "demo"
    assert record["device"] == device_name("cpu") and record["device"].startswith("cpu (")
    assert record["torch"] == torch.__version__
    assert record["dataset"] == "demo shapes" and record["epochs"] == 2
    assert record["metrics"] == {"test_acc": 0.5}
    assert record["examples_per_sec"] == 123.4 and record["wall_seconds"] == 5.0
    assert record["date"].endswith("+00:00")


def test_without_env_results_go_to_the_checkout_found_from_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("D2L_RESULTS_DIR")
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    (book / "_toc.yml").write_text("root: index\n")
    monkeypatch.chdir(book / "chapters")  # notebooks run in chapters/
    path = save("02-fine-tuning", "full")
    assert path == book / "results" / "02-fine-tuning" / "full.json"
    assert path.is_file()
    assert load_results("02-fine-tuning", "full")["mode"] == "full"


def test_without_env_or_checkout_results_go_to_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("D2L_RESULTS_DIR")
    monkeypatch.chdir(tmp_path)
    assert save().resolve() == (tmp_path / "results" / "01-image-augmentation" / "demo.json").resolve()


def test_extra_is_kept_only_when_given():
    assert "extra" not in load_results_after(save())
    record = load_results_after(save(extra={"note": "x", "lr": np.float32(0.5)}))
    assert record["extra"] == {"note": "x", "lr": 0.5}


def load_results_after(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- JSON conversion

def test_dataframes_scalars_and_nonfinite_numbers_become_json():
    history = pd.DataFrame({"method": ["a", "b"], "test acc": [0.5, float("nan")],
                            "epochs": np.array([1, 2], dtype=np.int64)})
    metrics = {
        "table": history,
        "np_float": np.float64(0.25), "np_float32": np.float32(0.5), "np_int": np.int64(7),
        "np_bool": np.bool_(True), "torch_float": torch.tensor(0.75),
        "torch_int": torch.tensor(3), "nan": float("nan"), "np_nan": np.float64("nan"),
        "torch_nan": torch.tensor(float("nan")), "inf": float("inf"), "ninf": -math.inf,
        "nested": {"list": [np.float32(1.5), (torch.tensor(2), None)], 3: "int key"},
        "array": np.array([1.0, np.nan]), "tensor": torch.tensor([[1, 2], [3, 4]]),
        "series": pd.Series({"x": 1.0, "y": 2.0}),
        "none": None, "text": "ünïcode",
    }
    path = save(metrics=metrics, examples_per_sec=np.float64("nan"), wall_seconds=np.float32(2.5),
                epochs=np.int64(3))
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    assert "ünïcode" in text  # kept readable, not \u-escaped
    record = json.loads(text)  # strict JSON
    m = record["metrics"]
    assert m["table"] == [{"method": "a", "test acc": 0.5, "epochs": 1},
                          {"method": "b", "test acc": None, "epochs": 2}]
    assert m["np_float"] == 0.25 and m["np_float32"] == 0.5 and m["np_int"] == 7
    assert m["np_bool"] is True and m["torch_float"] == 0.75 and m["torch_int"] == 3
    assert m["nan"] is None and m["np_nan"] is None and m["torch_nan"] is None
    assert m["inf"] is None and m["ninf"] is None
    assert m["nested"] == {"list": [1.5, [2, None]], "3": "int key"}
    assert m["array"] == [1.0, None] and m["tensor"] == [[1, 2], [3, 4]]
    assert m["series"] == [1.0, 2.0]
    assert m["none"] is None and m["text"] == "ünïcode"
    assert record["examples_per_sec"] is None
    assert record["wall_seconds"] == 2.5 and record["epochs"] == 3
    assert type(record["epochs"]) is int


def test_unserialisable_value_raises_and_writes_nothing(tmp_path):
    with pytest.raises(TypeError):
        save(metrics={"model": object()})
    assert not (tmp_path / "results").exists() or files_under(tmp_path / "results") == []


# ---------------------------------------------------------------- validation

BAD_MODES = ["", "../demo", "demo/x", None, "fulll"]
BAD_SECTIONS = ["..", ".", "a/b", "", "../escape", "a\\b", ".hidden", "/abs", "sec tion", "x\n",
                None]


@pytest.mark.parametrize("knob", ["D2L_FAST_DEV_RUN", "D2L_TIME_LIMIT"])
def test_a_bounded_run_is_saved_as_a_rehearsal_never_as_full(knob, tmp_path, monkeypatch):
    monkeypatch.setenv(knob, "2")
    path = save(mode="full")
    record = json.loads(path.read_text())
    assert path.name == "rehearsal.json" and record["mode"] == "rehearsal"
    assert record["rehearsal"] == f"{knob}=2"
    assert not (path.parent / "full.json").exists()
    assert load_results("01-image-augmentation", "rehearsal") == record
    monkeypatch.delenv(knob)
    assert json.loads(save(mode="full").read_text())["rehearsal"] is None


def test_save_and_load_resolve_auto_like_everything_else(tmp_path, monkeypatch):
    monkeypatch.setenv("D2L_MODE", "demo")
    path = save(mode="auto")
    assert path.name == "demo.json" and json.loads(path.read_text())["mode"] == "demo"
    assert load_results("01-image-augmentation", "auto")["mode"] == "demo"


@pytest.mark.parametrize("mode", BAD_MODES)
def test_save_rejects_bad_mode(mode, tmp_path):
    with pytest.raises(ValueError, match="mode="):
        save(mode=mode)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("section", BAD_SECTIONS)
def test_save_rejects_bad_section(section, tmp_path):
    with pytest.raises(ValueError, match="section="):
        save(section=section)
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("mode", BAD_MODES)
def test_load_rejects_bad_mode(mode):
    with pytest.raises(ValueError, match="mode="):
        load_results("01-image-augmentation", mode)


@pytest.mark.parametrize("section", BAD_SECTIONS)
def test_load_rejects_bad_section(section, tmp_path):
    (tmp_path / "escape").mkdir()  # a file that '../escape' would reach from the results root
    (tmp_path / "escape" / "demo.json").write_text("{}")
    with pytest.raises(ValueError, match="section="):
        load_results(section, "demo")


@pytest.mark.parametrize("section", ["01-image-augmentation", "A_b.c-2", "9"])
def test_good_sections_accepted(section, tmp_path):
    assert save(section=section).parent == tmp_path / "results" / section


# ---------------------------------------------------------------- atomic writing

def test_overwrite_leaves_no_temporary_file(tmp_path):
    save(metrics={"test_acc": 0.1})
    save(metrics={"test_acc": 0.9})
    assert files_under(tmp_path / "results") == ["01-image-augmentation/demo.json"]
    assert load_results("01-image-augmentation", "demo")["metrics"] == {"test_acc": 0.9}


def test_failed_write_keeps_previous_file_and_no_temporary(tmp_path, monkeypatch):
    save(metrics={"test_acc": 0.1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    with monkeypatch.context() as patch:  # not monkeypatch.undo(): that drops conftest's env too
        patch.setattr(fileio.os, "replace", broken_replace)
        with pytest.raises(OSError, match="disk full"):
            save(metrics={"test_acc": 0.9})
    assert files_under(tmp_path / "results") == ["01-image-augmentation/demo.json"]
    assert load_results("01-image-augmentation", "demo")["metrics"] == {"test_acc": 0.1}


def test_save_goes_through_atomic_write(monkeypatch):
    calls = []
    real = results.atomic_write_text
    monkeypatch.setattr(results, "atomic_write_text",
                        lambda path, text: (calls.append(path), real(path, text))[1])
    path = save()
    assert calls == [path]


# ---------------------------------------------------------------- load_results

def test_load_results_round_trips():
    metrics = {"test_acc": 0.875, "per_class": [0.5, 1.0], "table": [{"a": 1, "b": "x"}]}
    path = save("02-fine-tuning", "full", metrics=metrics, epochs=None, dataset="hotdog",
                examples_per_sec=None, wall_seconds=12.5, extra={"k": [1, 2]})
    record = load_results("02-fine-tuning", "full")
    assert record == json.loads(path.read_text(encoding="utf-8"))
    assert record["metrics"] == metrics and record["extra"] == {"k": [1, 2]}
    assert record["epochs"] is None and record["examples_per_sec"] is None
    assert record["dataset"] == "hotdog" and record["wall_seconds"] == 12.5


def test_load_results_missing_names_the_file_and_notebook(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        load_results("02-fine-tuning", "demo")
    message = str(caught.value)
    assert str(tmp_path / "results" / "02-fine-tuning" / "demo.json") in message
    assert "02-fine-tuning" in message and "demo mode" in message


def test_demo_and_full_are_separate_files():
    save(mode="demo", metrics={"test_acc": 0.1})
    save(mode="full", metrics={"test_acc": 0.9})
    assert load_results("01-image-augmentation", "demo")["metrics"]["test_acc"] == 0.1
    assert load_results("01-image-augmentation", "full")["metrics"]["test_acc"] == 0.9


# ---------------------------------------------------------------- git commit, device

def test_git_commit_none_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert git_commit() is None
    assert load_results_after(save())["git_commit"] is None


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(),
                    reason="needs git and the book's git checkout")
def test_git_commit_of_the_checkout_is_recorded(monkeypatch):
    monkeypatch.chdir(REPO / "chapters")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()
    commit = load_results_after(save())["git_commit"]
    assert commit in (head, f"{head}-dirty")
    assert commit == git_commit()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_commit_of_a_fresh_checkout_then_dirty(tmp_path, monkeypatch):
    book = tmp_path / "book"
    book.mkdir()
    (book / "_toc.yml").write_text("root: index\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
           "-c", "commit.gpgsign=false"]
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["add", "_toc.yml"], ["commit", "-q", "-m", "book"]):
        subprocess.run(git + args, cwd=book, check=True, env=env, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=book, capture_output=True,
                          text=True, check=True).stdout.strip()
    monkeypatch.chdir(book)
    assert git_commit() == head  # clean: the full hash
    (book / "_toc.yml").write_text("root: changed\n")
    assert git_commit() == f"{head}-dirty"
    assert load_results_after(save())["git_commit"] == f"{head}-dirty"


def test_git_commit_none_when_git_fails(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("")  # a checkout by its marker, but no git repository
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit() is None


def test_device_name():
    assert device_name(torch.device("cpu")) == device_name("cpu")
    assert f"{torch.get_num_threads()} threads" in device_name("cpu")
    assert isinstance(device_name(), str)


# ---------------------------------------------------------------- timings.json

def test_record_timing_merges_rounds_and_sorts(tmp_path):
    record_timing(tmp_path, "07-ssd", 38.44, mode="demo")
    path = record_timing(tmp_path, "01-image-augmentation", 56.46, mode="demo")
    record_timing(tmp_path, "07-ssd", 40.0, mode="full")  # a re-run replaces its own entry only
    text = path.read_text(encoding="utf-8")
    raw = json.loads(text)
    assert list(raw) == ["01-image-augmentation", "07-ssd"]
    assert raw["01-image-augmentation"]["seconds"] == 56.5 and raw["07-ssd"]["seconds"] == 40.0
    assert raw["07-ssd"]["mode"] == "full"
    assert text.index("01-image") < text.index("07-ssd")


def test_record_timing_records_where_the_notebook_ran(tmp_path):
    import torchvision
    path = record_timing(tmp_path, "02-fine-tuning", 12.34, mode="full")
    entry = json.loads(path.read_text(encoding="utf-8"))["02-fine-tuning"]
    assert set(entry) == {"seconds", "device", "torch", "torchvision", "mode", "date"}
    assert entry["seconds"] == 12.3 and entry["mode"] == "full"
    assert entry["device"] == device_name()
    assert entry["torch"] == torch.__version__ and entry["torchvision"] == torchvision.__version__
    date = dt.datetime.fromisoformat(entry["date"])
    assert date.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - date).total_seconds()) < 600


def test_record_timing_mode_defaults_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("D2L_MODE", "Full")
    record_timing(tmp_path, "a", 1.0)
    monkeypatch.delenv("D2L_MODE")
    record_timing(tmp_path, "b", 1.0)  # what mode = "auto" resolves to on this machine
    timings = read_timings(tmp_path)
    assert timings["a"]["mode"] == "full"
    assert timings["b"]["mode"] == ("full" if torch.cuda.is_available() else "demo")


def test_read_timings_reads_old_and_new_entries(tmp_path):
    (tmp_path / "timings.json").write_text('{"01-image-augmentation": 56.5, "07-ssd": 40}')
    record_timing(tmp_path, "02-fine-tuning", 12.0, mode="demo")  # old entries are kept
    timings = read_timings(tmp_path)
    assert list(timings) == ["01-image-augmentation", "02-fine-tuning", "07-ssd"]
    assert timings["01-image-augmentation"] == {"seconds": 56.5, "device": "unknown",
                                                "torch": None, "torchvision": None,
                                                "mode": None, "date": None}
    assert timings["07-ssd"]["seconds"] == 40.0 and type(timings["07-ssd"]["seconds"]) is float
    assert timings["02-fine-tuning"]["device"] == device_name()
    assert timings["02-fine-tuning"]["mode"] == "demo"


def test_read_timings_without_a_file_is_empty(tmp_path):
    assert read_timings(tmp_path) == {}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"a": "ten"}', '{"a": {"device": "x"}}',
                                  '{"a": true}'])
def test_read_timings_names_a_broken_file(tmp_path, text):
    (tmp_path / "timings.json").write_text(text)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "timings.json"))):
        read_timings(tmp_path)


def test_nbval_plugin_records_the_mode_it_ran(tmp_path, monkeypatch):
    import importlib.util

    import nbformat
    spec = importlib.util.spec_from_file_location("chapters_conftest", REPO / "chapters" / "conftest.py")
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    monkeypatch.setenv("D2L_EXECUTED_DIR", str(tmp_path / "executed"))
    monkeypatch.setenv("D2L_MODE", "demo")
    run = {"nb": nbformat.v4.new_notebook(), "start": 0.0, "cells": 0, "failed": False}
    plugin._write(str(tmp_path / "03-bounding-boxes.ipynb"), run)
    entry = read_timings(tmp_path / "executed")["03-bounding-boxes"]
    assert entry["mode"] == "demo" and entry["device"] == device_name()
    nb = nbformat.read(tmp_path / "executed" / "03-bounding-boxes.ipynb", as_version=4)
    assert nb.metadata["d2l"]["mode"] == "demo"


# ---------------------------------------------------------------- benchmarks

def test_save_benchmark_writes_the_record_with_provenance(tmp_path):
    record = {"benchmark": "detection", "tasks": {"nms": {"loop_s": 1.5, "ratio": float("nan")}},
              "speedup": np.float64(3.0)}
    path = save_benchmark("detection-demo", record)
    assert path == tmp_path / "results" / "bench" / "detection-demo.json"
    assert files_under(tmp_path / "results") == ["bench/detection-demo.json"]
    saved = json.loads(path.read_text(encoding="utf-8"))  # strict JSON: NaN became null
    assert saved["benchmark"] == "detection" and saved["speedup"] == 3.0
    assert saved["tasks"] == {"nms": {"loop_s": 1.5, "ratio": None}}
    assert saved["device"] == device_name() and saved["torch"] == torch.__version__
    assert saved["git_commit"] == git_commit()
    assert dt.datetime.fromisoformat(saved["date"]).utcoffset() == dt.timedelta(0)
    assert "device" not in record  # the caller's dict is not changed


def test_save_benchmark_names_the_device_measured():
    path = save_benchmark("segmentation-demo", {"x": 1}, device="cpu")
    assert json.loads(path.read_text(encoding="utf-8"))["device"] == device_name("cpu")


@pytest.mark.parametrize("name", BAD_SECTIONS)
def test_save_benchmark_rejects_bad_name(name, tmp_path):
    with pytest.raises(ValueError, match="name="):
        save_benchmark(name, {"x": 1})
    assert not (tmp_path / "results").exists() and not (tmp_path / "escape").exists()


def test_save_benchmark_refuses_to_overwrite_its_provenance(tmp_path):
    with pytest.raises(ValueError, match=r"\['device', 'date'\].*device="):
        save_benchmark("augmentation-demo", {"device": "mine", "date": "today"})
    assert not (tmp_path / "results").exists()


def test_save_benchmark_goes_through_atomic_write(monkeypatch):
    calls = []
    real = results.atomic_write_text
    monkeypatch.setattr(results, "atomic_write_text",
                        lambda path, text: (calls.append(path), real(path, text))[1])
    assert calls == [save_benchmark("augmentation-demo", {"x": 1})]


@pytest.mark.parametrize("name", ["augmentation", "detection", "segmentation"])
def test_benchmarks_write_through_save_benchmark(name):
    text = (REPO / "benchmarks" / f"{name}.py").read_text(encoding="utf-8")
    assert "save_benchmark(" in text
    assert "atomic_write_text" not in text and "results_root" not in text  # no second writer
    assert "git_commit" not in text and "isoformat" not in text  # provenance comes from there
