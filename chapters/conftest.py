"""Keep what nbval executes: one run of the notebooks serves the tests and the book.

``make test`` (and ``make book``) run the notebooks once, under nbval. With the
environment variable ``D2L_EXECUTED_DIR`` set, this plugin collects every cell's outputs
as nbval receives them and writes each notebook, executed, to
``$D2L_EXECUTED_DIR/<name>.ipynb`` (atomically, once its last cell has run), plus
``timings.json`` with each notebook's wall time and the device, versions and mode it ran
with. The book is then built from those notebooks without executing anything again (see
``tools/build_book.py``).
A notebook whose run failed is written with ``metadata.d2l.failed`` set, so the book
build refuses it.
"""
from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest

from d2lhelpers.fileio import atomic_write_text
from d2lhelpers.mode import resolve_mode
from d2lhelpers.results import record_timing

_runs: dict[str, dict] = {}


def _executed_dir() -> Path | None:
    value = os.environ.get("D2L_EXECUTED_DIR")
    return Path(value) if value else None


def _mode() -> str:
    """The mode the notebooks run in: what their ``mode = "auto"`` resolves to in the kernel,
    which inherits this process's environment and sees the same GPUs."""
    try:
        return resolve_mode("auto")
    except ValueError:  # a bad D2L_MODE: every notebook fails and says so; record it as given
        return os.environ.get("D2L_MODE", "auto")


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell_num")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if not _is_nbval_cell(item) or _executed_dir() is None:
        yield
        return
    path = str(item.parent.fspath)
    run = _runs.setdefault(path, {"nb": copy.deepcopy(item.parent.nb), "start": time.perf_counter(),
                                  "cells": 0, "failed": False})
    # nbval drops update_display_data messages: follow them here, so a live plot (a display
    # updated every epoch) is kept in its final state, as papermill/nbclient would keep it
    kernel_owner = item.parent
    original = kernel_owner.get_kernel_message
    shown: list[str | None] = []  # display_id of each display_data, in order
    latest: dict[str, dict] = {}

    def get_kernel_message(*args, **kwargs):
        msg = original(*args, **kwargs)
        kind, content = msg.get("msg_type"), msg.get("content", {})
        display_id = (content.get("transient") or {}).get("display_id")
        if kind == "display_data":
            shown.append(display_id)
        elif kind == "update_display_data" and display_id:
            latest[display_id] = content.get("data", {})
        return msg

    kernel_owner.get_kernel_message = get_kernel_message
    try:
        outcome = yield
    finally:
        del kernel_owner.get_kernel_message  # back to the class's method
    displays = [o for o in (item.test_outputs or []) if o.get("output_type") == "display_data"]
    for out, display_id in zip(displays, shown):
        if display_id in latest:
            out["data"] = latest[display_id]
    code_cells = [c for c in run["nb"].cells if c.cell_type == "code"]
    cell = code_cells[item.cell_num]
    outputs = item.test_outputs or []
    for out in outputs:  # nbval keeps a NotebookNode per output; make them valid nbformat
        if out.get("output_type") == "execute_result":
            out.setdefault("metadata", {})
            out["execution_count"] = item.cell_num + 1
        if out.get("output_type") == "display_data":
            out.pop("execution_count", None)
    cell.outputs = outputs
    cell.execution_count = item.cell_num + 1
    run["cells"] += 1
    if outcome.excinfo is not None and not isinstance(outcome.excinfo[1], pytest.skip.Exception):
        run["failed"] = run["failed"] or any(o.get("output_type") == "error" for o in outputs)
    if run["cells"] == len(code_cells):
        _write(path, run)


def _write(path: str, run: dict) -> None:
    out_dir = _executed_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds = time.perf_counter() - run["start"]
    nb = run["nb"]
    nb.metadata.setdefault("d2l", {})
    mode = _mode()
    nb.metadata["d2l"].update({"executed_by": "nbval", "mode": mode,
                               "seconds": round(seconds, 1), "failed": run["failed"]})
    import nbformat
    name = Path(path).name
    atomic_write_text(out_dir / name, nbformat.writes(nb))
    record_timing(out_dir, Path(path).stem, seconds, mode=mode)
    print(f"\n[executed] {name}: {seconds:.1f} s -> {out_dir / name}")
