"""The build tools: results page, book staging checks, Colab setup cell, make full's runner."""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tools import build_book, notebooks, results_page, run_full

ROOT = Path(__file__).resolve().parents[1]

NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


# ---------------------------------------------------------------- results page

def write_run(root: Path, section: str, mode: str, **metrics) -> None:
    (root / section).mkdir(parents=True, exist_ok=True)
    record = {"section": section, "mode": mode, "device": "cpu (test)", "dataset": "d",
              "epochs": 3, "metrics": metrics, "examples_per_sec": 12.5, "wall_seconds": 61.0,
              "git_commit": "abcdef1234567890", "date": "2026-11-23T10:00:00+00:00"}
    (root / section / f"{mode}.json").write_text(json.dumps(record))


def test_results_page_puts_demo_full_and_reference_side_by_side(tmp_path):
    write_run(tmp_path, "02-fine-tuning", "demo", finetune_test_acc=0.86, history=[1, 2],
              nested={"a": 0.5, "label": "x"})
    write_run(tmp_path, "02-fine-tuning", "full", finetune_test_acc=0.9321)
    (tmp_path / "reference.yml").write_text(
        "02-fine-tuning:\n  source: the textbook\n  metrics:\n    finetune_test_acc: 0.94\n"
        "07-ssd:\n  source: t\n  metrics:\n    class_err: 3.27e-3\n")
    page = results_page.render(tmp_path)
    assert "| `finetune_test_acc` | 0.860 | 0.932 | 0.940 |" in page
    assert "| `nested.a` | 0.500 | — | — |" in page  # nested numbers flattened, text and lists not
    assert "history" not in page and "label" not in page
    assert "| `class_err` | — | — | 0.00327 |" in page  # a reference with no run yet
    assert "commit abcdef123456" in page and "12.5 examples/s" in page and "wall time 61 s" in page
    assert "- **full**: no run recorded yet" in page  # 07-ssd has no full run


def test_results_page_never_shows_another_mode_as_full(tmp_path, monkeypatch):
    # as when d2lhelpers.mode gains a "rehearsal" mode: its runs are not full results
    monkeypatch.setattr(results_page, "MODES", ("demo", "full", "rehearsal"))
    write_run(tmp_path, "02-fine-tuning", "demo", finetune_test_acc=0.86)
    write_run(tmp_path, "02-fine-tuning", "rehearsal", finetune_test_acc=0.5432, extra_metric=7)
    page = results_page.render(tmp_path)
    assert "| metric | demo | full | reference |" in page
    assert "| `finetune_test_acc` | 0.860 | — | — |" in page
    assert "0.543" not in page and "extra_metric" not in page and "rehearsal" not in page
    assert "- **full**: no run recorded yet" in page
    assert set(results_page.load_runs(tmp_path)["02-fine-tuning"]) == {"demo"}


def test_results_page_modes_come_from_d2lhelpers(monkeypatch):
    import d2lhelpers.mode
    assert results_page.MODES is d2lhelpers.mode.MODES
    assert set(results_page.SHOWN_MODES) <= set(d2lhelpers.mode.MODES)
    monkeypatch.setattr(results_page, "MODES", ("demo", "final"))  # "full" renamed
    with pytest.raises(ValueError, match="SHOWN_MODES has \\['full'\\]"):
        results_page.render(ROOT / "results")


def test_results_page_names_a_broken_results_file(tmp_path):
    (tmp_path / "01-x").mkdir()
    (tmp_path / "01-x" / "demo.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"01-x/demo.json is not valid JSON"):
        results_page.render(tmp_path)


def test_timings_table_shows_the_device_each_run_recorded(tmp_path):
    from d2lhelpers.results import device_name
    (tmp_path / "timings.json").write_text(json.dumps({
        "01-image-augmentation": {"seconds": 56.46, "device": "NVIDIA H100 80GB HBM3",
                                  "torch": "2.14.1", "torchvision": "0.29.1", "mode": "full",
                                  "date": "2026-11-23T10:00:00+00:00"},
        "02-fine-tuning": 12.0}))  # an entry in the older format: seconds only
    page = results_page.render_timings(tmp_path)
    assert "| 笔记本 | 秒 | 设备 |" in page
    assert "| 01-image-augmentation | 56.5 | NVIDIA H100 80GB HBM3 |" in page
    assert "| 02-fine-tuning | 12.0 | unknown |" in page
    assert "| 合计 | 68.5 | |" in page and "运行设备见各行" in page
    assert device_name() not in page  # not the machine that builds the book
    (tmp_path / "timings.json").write_text(json.dumps({"a": {"seconds": 1, "device": "gpu X"}}))
    assert "运行于 gpu X" in results_page.render_timings(tmp_path)
    assert results_page.render_timings(tmp_path / "nowhere") == ""


def test_results_template_has_the_marker():
    page = results_page.fill((ROOT / "results.md").read_text(encoding="utf-8"), "TABLES")
    assert "TABLES" in page and results_page.MARKER not in page
    with pytest.raises(ValueError, match="marker"):
        results_page.fill("# no marker", "TABLES")


# ---------------------------------------------------------------- book staging

def notebook(cells: list[tuple[str, str]], **meta) -> dict:
    return {"cells": [{"cell_type": t, "metadata": {}, "source": s, "outputs": [],
                       "execution_count": None} if t == "code" else
                      {"cell_type": t, "metadata": {}, "source": s} for t, s in cells],
            "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def test_build_book_accepts_a_complete_run_and_refuses_stale_failed_or_missing(tmp_path):
    src, done = tmp_path / "01-a.ipynb", tmp_path / "done" / "01-a.ipynb"
    done.parent.mkdir()
    cells = [("markdown", "# A"), ("code", "x = 1")]
    src.write_text(json.dumps(notebook(cells)))
    with pytest.raises(SystemExit, match="2"):
        build_book.check_executed(src, done, "make notebooks")  # missing
    ran = notebook(cells)
    ran["cells"].insert(1, {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]},
                            "source": 'mode = "full"', "outputs": [], "execution_count": 1})
    done.write_text(json.dumps(ran))
    build_book.check_executed(src, done, "make notebooks")  # papermill's cell is allowed
    done.write_text(json.dumps(notebook([("markdown", "# A"), ("code", "x = 2")])))
    with pytest.raises(SystemExit):
        build_book.check_executed(src, done, "make notebooks")  # stale
    done.write_text(json.dumps(notebook(cells, d2l={"failed": True})))
    with pytest.raises(SystemExit):
        build_book.check_executed(src, done, "make notebooks")  # failed


def test_toc_files_lists_every_page_in_order():
    files = build_book.toc_files(ROOT / "_toc.yml")
    assert files[0] == "index"
    chapters = [f for f in files if f.startswith("chapters/")]
    assert chapters == sorted(chapters) == [f"chapters/{p.stem}" for p in NOTEBOOKS]


# ---------------------------------------------------------------- Colab

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_starts_with_the_colab_setup_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = nb["cells"][0]
    assert first["cell_type"] == "code" and first.get("id") == notebooks.CELL_ID
    assert "".join(first["source"]) == notebooks.setup_cell_source(*notebooks.repository())
    assert "remove-cell" in first["metadata"].get("tags", [])  # hidden in the book
    assert nb["metadata"]["accelerator"] == "GPU"  # Colab opens it on a GPU runtime
    assert nb["metadata"]["colab"]["gpuType"]


def run_setup_cell(modules: dict) -> list:
    """Execute the setup cell with a fake ``sys.modules`` and ``subprocess.run``."""
    import builtins
    calls = []
    fakes = {"sys": types.SimpleNamespace(modules=modules, executable="/py"),
             "subprocess": types.SimpleNamespace(run=lambda *a, **k: calls.append((a, k)))}

    def fake_import(name, *args, **kwargs):
        return fakes[name] if name in fakes else builtins.__import__(name, *args, **kwargs)
    namespace = {"__builtins__": {**vars(builtins), "__import__": fake_import}}
    exec(compile(notebooks.setup_cell_source("https://example.org/book", "dev"), "setup", "exec"),
         namespace)
    return calls


def test_setup_cell_does_nothing_outside_colab_and_installs_inside():
    assert run_setup_cell({"sys": sys}) == []
    calls = run_setup_cell({"google.colab": object()})
    assert len(calls) == 1
    (cmd,), kwargs = calls[0]
    assert cmd[:4] == ["/py", "-m", "pip", "install"] and kwargs == {"check": True}
    assert cmd[-1] == "d2lhelpers @ git+https://example.org/book@dev"
    assert not any(part.startswith("torch") for part in cmd)  # Colab's torch is kept


def test_repository_must_be_configured(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\n")
    with pytest.raises(ValueError, match="repository.url"):
        notebooks.repository(config)


# ---------------------------------------------------------------- tools.notebooks

def test_clean_keeps_only_checked_outputs_and_adds_the_setup_cell():
    out = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    nb = notebook([("markdown", "# A"), ("code", "print('hi')"),
                   ("code", "# NBVAL_CHECK_OUTPUT\nprint('hi')"), ("code", "import google.colab")])
    for c in nb["cells"][1:]:
        c.update(outputs=list(out), execution_count=7, metadata={"papermill": {"duration": 1}})
    nb["metadata"]["papermill"] = {"x": 1}
    cleaned = notebooks.clean(nb, ("https://example.org/book", "dev"))
    first, *rest = cleaned["cells"]
    assert first["id"] == notebooks.CELL_ID  # an old Colab cell is replaced, not kept twice
    assert "git+https://example.org/book@dev" in "".join(first["source"])
    assert [c["cell_type"] for c in rest] == ["markdown", "code", "code"]
    assert rest[1]["outputs"] == [] and rest[1]["execution_count"] is None
    assert rest[2]["outputs"] == out and rest[2]["execution_count"] == 1
    assert all("papermill" not in c["metadata"] for c in rest)
    assert "papermill" not in cleaned["metadata"] and cleaned["metadata"]["accelerator"] == "GPU"
    assert nb["cells"][1]["outputs"] == out  # the input is not changed
    assert notebooks.clean(cleaned, ("https://example.org/book", "dev")) == cleaned


def test_notebooks_check_reports_and_changes_nothing_then_cleans(tmp_path):
    path = tmp_path / "01-a.ipynb"
    nb = notebook([("code", "x = 1")])
    nb["cells"][0].update(outputs=[{"output_type": "stream", "name": "stdout", "text": "1"}])
    text = json.dumps(nb)
    path.write_text(text)
    cmd = [sys.executable, "-m", "tools.notebooks"]
    out = subprocess.run(cmd + ["--check", str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1 and "not clean (run make clean-notebooks)" in out.stdout
    assert path.read_text() == text
    out = subprocess.run(cmd + [str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "cleaned" in out.stdout
    out = subprocess.run(cmd + ["--check", str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_notebooks_names_a_missing_notebook(capsys):
    assert notebooks.main(["chapters/no-such.ipynb"]) == 2
    assert "no such notebook: chapters/no-such.ipynb" in capsys.readouterr().err


# ---------------------------------------------------------------- the tools package

TOOL_MODULES = ["build_book", "check_book", "export", "notebooks", "results_page", "run_full"]


def test_tools_import_each_other_as_a_package():
    for name in TOOL_MODULES:
        text = (ROOT / "tools" / f"{name}.py").read_text(encoding="utf-8")
        assert "sys.path" not in text, f"tools/{name}.py edits sys.path; import from tools instead"
        assert "def main(" in text and 'if __name__ == "__main__":' in text, name


@pytest.mark.parametrize("name", TOOL_MODULES)
def test_every_tool_runs_with_python_dash_m(name):
    out = subprocess.run([sys.executable, "-m", f"tools.{name}", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage:")


# ---------------------------------------------------------------- make full

def test_make_full_fails_fast_naming_what_is_missing():
    env = {"PATH": str(Path(sys.executable).parent), "D2L_DATA_URL": "http://127.0.0.1:9/",
           "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-m", "tools.run_full"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "a CUDA GPU" in out.stderr
    assert "http://127.0.0.1:9/" in out.stderr and "D2L_DATA_URL" in out.stderr
    assert "running" not in out.stdout  # nothing was executed


def test_make_full_stops_at_the_first_failure_naming_notebook_and_cell(tmp_path, monkeypatch, capsys):
    import papermill as pm
    ran = []

    def execute_notebook(src, dest, **kwargs):
        ran.append(Path(src).stem)
        if len(ran) == 2:
            raise pm.PapermillExecutionError(cell_index=7, exec_count=5, source="x", ename="OSError",
                                             evalue="disk full", traceback=[])
        Path(dest).write_text(Path(src).read_text(encoding="utf-8"))

    monkeypatch.setattr(pm, "execute_notebook", execute_notebook)
    code = run_full.main(["--no-preflight", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and len(ran) == 2
    assert f"{NOTEBOOKS[1].stem}: FAILED in code cell 5" in err and "OSError: disk full" in err
    ran.clear()  # launched again: the finished notebook is skipped, the failed one re-run
    monkeypatch.setattr(pm, "execute_notebook", lambda src, dest, **kw: (
        ran.append(Path(src).stem), Path(dest).write_text(Path(src).read_text(encoding="utf-8"))))
    assert run_full.main(["--no-preflight", "--out", str(tmp_path)]) == 0
    assert ran == [p.stem for p in NOTEBOOKS[1:]]
    assert "done earlier, skipped" in capsys.readouterr().out
    from d2lhelpers.results import device_name, read_timings
    timings = read_timings(tmp_path)  # the mode it ran, though D2L_MODE=demo in the tests
    assert list(timings) == [p.stem for p in NOTEBOOKS]
    assert {(t["mode"], t["device"]) for t in timings.values()} == {("full", device_name())}


# ---------------------------------------------------------------- run facts

def test_run_facts_come_from_the_run_records(tmp_path):
    timings = {"07-ssd": {"seconds": 38.4, "device": "cpu (x86_64, 2 threads)", "torch": "2.14.1",
                          "torchvision": "0.29.1", "mode": "demo", "date": "2026-12-01T20:00:00+00:00"}}
    box = results_page.run_facts("07-ssd", timings, tmp_path)
    assert box.startswith("```{admonition} 运行记录") and box.rstrip().endswith("```")
    assert "演示模式，cpu (x86_64, 2 threads)，用时 38.4 秒，torch 2.14.1、torchvision 0.29.1，2026-12-01" in box
    assert "完整模式" not in box and "GPU" not in box          # no such runs recorded yet
    (tmp_path / "07-ssd").mkdir()
    (tmp_path / "07-ssd" / "full.json").write_text(json.dumps(
        {"device": "Tesla T4", "wall_seconds": 512.0, "date": "2026-12-02T08:00:00+00:00"}))
    (tmp_path / "gpu-check").mkdir()
    (tmp_path / "gpu-check" / "07-ssd.json").write_text(json.dumps(
        {"device": "NVIDIA H200", "notebook_seconds": 21.5, "date": "2026-12-03T09:00:00Z"}))
    box = results_page.run_facts("07-ssd", timings, tmp_path)
    assert "完整模式（make full）：Tesla T4，512 秒，2026-12-02" in box
    assert "GPU 检查（make gpu-check，替身数据）：NVIDIA H200，22 秒，2026-12-03" in box
    assert "没有运行记录" in results_page.run_facts("99-x", {}, tmp_path)


def test_the_run_facts_go_right_after_the_title():
    nb = notebook([("code", "setup"), ("markdown", "# 锚框\n\ntext"), ("markdown", "more")])
    build_book.add_run_facts(nb, "BOX")
    assert [c["source"] for c in nb["cells"]][:3] == ["setup", "# 锚框\n\ntext", "BOX"]
