"""The results page (结果汇总): demo, full and reference figures side by side.

Generated from ``results/<section>/<mode>.json`` (written by each training notebook with
``d2lhelpers.save_results``) and ``results/reference.yml`` (the spec's published figures);
nothing in the tables is typed in by hand. ``tools.build_book`` calls :func:`render`
and puts the tables into ``results.md`` at the marker line.

Usage (from the repository root): ``python -m tools.results_page`` prints the tables
(Markdown); ``--timings _build/executed/demo`` prints the wall-time table of a run instead.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from d2lhelpers.mode import MODES
from d2lhelpers.results import read_timings

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- results-tables -->"
# The page's columns, in order. Deliberately explicit rather than all of MODES: a mode
# added later (a rehearsal run, say) must never appear as, or instead of, a full result.
SHOWN_MODES = ("demo", "full")


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric metrics, nested dicts flattened to dotted names; lists and text left out."""
    flat = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            flat[name] = float(value)
        elif isinstance(value, dict):
            flat.update(flatten(value, name + "."))
    return flat


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.4g}"
    if value == 0 or abs(value) >= 1e-2:
        return f"{value:.3f}"
    return f"{value:.3g}"


def load_runs(results_dir: Path) -> dict[str, dict[str, dict]]:
    """``{section: {mode: record}}`` for every results file of a shown mode."""
    unknown = [m for m in SHOWN_MODES if m not in MODES]
    if unknown:  # a mode renamed in d2lhelpers.mode would otherwise leave an empty column
        raise ValueError(f"tools/results_page.py: SHOWN_MODES has {unknown}, which "
                         f"d2lhelpers.mode.MODES {MODES} lacks; update SHOWN_MODES")
    runs: dict[str, dict[str, dict]] = {}
    for path in sorted(results_dir.glob("*/*.json")):
        if path.stem not in SHOWN_MODES or path.parent.name == "bench":
            continue  # other modes' files (and benchmarks) are not results to show
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON ({err}); delete it and run its notebook "
                             "again") from err
        runs.setdefault(path.parent.name, {})[path.stem] = record
    return runs


def _short_commit(commit: str | None) -> str:
    if not commit:
        return "?"
    dirty = commit.endswith("-dirty")  # uncommitted changes in the tree that ran it
    return commit.removesuffix("-dirty")[:12] + (" (with uncommitted changes)" if dirty else "")


def provenance(record: dict) -> str:
    parts = [f"mode {record.get('mode')}", f"device {record.get('device')}",
             f"date {str(record.get('date', '?'))[:16].replace('T', ' ')}",
             f"commit {_short_commit(record.get('git_commit'))}"]
    if record.get("epochs") is not None:
        parts.append(f"{record['epochs']} epochs")
    if record.get("examples_per_sec"):
        parts.append(f"{record['examples_per_sec']:.1f} examples/s")
    if record.get("wall_seconds") is not None:
        parts.append(f"wall time {record['wall_seconds']:.0f} s")
    parts.append(f"data: {record.get('dataset')}")
    return "; ".join(parts)


def render(results_dir: Path = ROOT / "results") -> str:
    """Markdown: one table per training section, then the provenance of each run."""
    reference_path = results_dir / "reference.yml"
    references = (yaml.safe_load(reference_path.read_text(encoding="utf-8")) or {}
                  if reference_path.exists() else {})
    runs = load_runs(results_dir)
    sections = sorted(set(runs) | set(references))
    if not sections:
        return "*还没有结果文件：先运行笔记本（`make book` 或 `make full`）。*\n"
    out = []
    for section in sections:
        modes = runs.get(section, {})
        ref = references.get(section, {})
        values = {m: flatten(modes[m].get("metrics", {})) for m in modes}
        ref_values = {k: float(v) for k, v in (ref.get("metrics") or {}).items()}
        names = list(dict.fromkeys([*ref_values,
                                    *(k for m in SHOWN_MODES for k in values.get(m, {}))]))
        out.append(f"### {section}\n")
        out.append("| metric | " + " | ".join(SHOWN_MODES) + " | reference |")
        out.append("|---" * (len(SHOWN_MODES) + 2) + "|")
        for name in names:
            cells = [fmt(values.get(m, {}).get(name)) for m in SHOWN_MODES]
            out.append(f"| `{name}` | " + " | ".join(cells) + f" | {fmt(ref_values.get(name))} |")
        out.append("")
        for mode in SHOWN_MODES:
            if mode in modes:
                out.append(f"- **{mode}**: {provenance(modes[mode])}")
            else:
                out.append(f"- **{mode}**: no run recorded yet")
        out.append(f"- **reference**: {ref.get('source', 'none published')}")
        out.append("")
    return "\n".join(out)


def render_timings(executed_dir: Path) -> str:
    """Markdown table of each notebook's wall time in the run the book was built from, with
    the device that run recorded (not the machine building the book)."""
    timings = read_timings(executed_dir)
    if not timings:
        return ""
    devices = list(dict.fromkeys(t["device"] for t in timings.values()))
    where = f"运行于 {devices[0]}" if len(devices) == 1 else "运行设备见各行"
    out = ["### 各节的运行时间\n",
           f"构建本书网页所用的那次运行中各笔记本的执行时间（秒，不含启动内核），{where}：\n",
           "| 笔记本 | 秒 | 设备 |", "|---|---|---|"]
    out += [f"| {name} | {t['seconds']:.1f} | {t['device']} |" for name, t in timings.items()]
    out.append(f"| 合计 | {sum(t['seconds'] for t in timings.values()):.1f} | |")
    return "\n".join(out) + "\n"


def _run_line(label: str, record: dict, seconds_key: str) -> str:
    date = str(record.get("date") or "?")[:10]
    seconds = record.get(seconds_key)
    took = f"{seconds:.0f} 秒" if isinstance(seconds, (int, float)) else "用时未记录"
    return f"- {label}：{record.get('device', '?')}，{took}，{date}"


def run_facts(section: str, timings: dict[str, dict], results_dir: Path = ROOT / "results") -> str:
    """The box at the top of a chapter: where and when its outputs were computed.

    Generated at book build from the run records, never typed: the executed run of this
    page (``timings``, what :func:`~d2lhelpers.results.read_timings` returns for the
    executed folder: seconds, device, torch, torchvision, mode, date), and the full-mode
    and GPU-check records of the section when they exist (``results/<section>/full.json``,
    ``results/gpu-check/<section>.json``).
    """
    run = timings.get(section)
    lines = []
    if run:
        mode = {"demo": "演示模式", "full": "完整模式"}.get(run.get("mode"), run.get("mode") or "?")
        lines.append(f"- 本页的输出：{mode}，{run['device']}，用时 {run['seconds']:.1f} 秒，"
                     f"torch {run.get('torch') or '?'}、torchvision {run.get('torchvision') or '?'}，"
                     f"{str(run.get('date') or '?')[:10]}")
    else:
        lines.append("- 本页的输出：没有运行记录")
    full = results_dir / section / "full.json"
    if full.is_file() and (not run or run.get("mode") != "full"):
        lines.append(_run_line("完整模式（make full）", json.loads(full.read_text(encoding="utf-8")),
                               "wall_seconds"))
    gpu = results_dir / "gpu-check" / f"{section}.json"
    if gpu.is_file():
        lines.append(_run_line("GPU 检查（make gpu-check，替身数据）",
                               json.loads(gpu.read_text(encoding="utf-8")), "notebook_seconds"))
    return ("```{admonition} 运行记录\n:class: note\n" + "\n".join(lines)
            + "\n\n这些记录在构建网页时由运行记录生成，不是手写的。\n```\n")


def fill(template: str, tables: str) -> str:
    """Put ``tables`` into ``template`` at the marker line."""
    if MARKER not in template:
        raise ValueError(f"results.md has no marker line {MARKER!r} for the generated tables")
    return template.replace(MARKER, tables)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.results_page",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results",
                        help="the results folder (default: results/ of this checkout)")
    parser.add_argument("--timings", type=Path, metavar="EXECUTED",
                        help="print the wall times recorded in EXECUTED/timings.json instead")
    args = parser.parse_args(argv)
    if args.timings is not None:
        if not read_timings(args.timings):
            print(f"results_page: {args.timings}/timings.json is missing or empty; execute the "
                  "notebooks first (make notebooks or make full)", file=sys.stderr)
            return 2
        sys.stdout.write(render_timings(args.timings))
    else:
        sys.stdout.write(render(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
