"""The GPU check: every notebook's full preset on stand-in data, timed, on a CUDA GPU.

``make gpu-check`` (``python -m tools.gpu_check``) needs a CUDA GPU and nothing but the
book's runtime libraries (torch, torchvision, numpy, pandas, matplotlib, pillow,
scikit-image, tqdm): no Jupyter, no network, no install (``PYTHONPATH`` is the checkout).
Without a GPU it says so and exits 2. It

1. makes the stand-in data and weights with every core (:mod:`tools.standin`);
2. runs every notebook as a script (:mod:`tools.notebook_script`) in full mode with no
   batch cap but a time cap: each training run stops after ``--time-limit`` seconds
   (``D2L_TIME_LIMIT``; a notebook as a whole after ``--notebook-timeout``), and every
   training run writes a record to the run log (``D2L_RUN_LOG``);
3. runs sections 1 and 11 a second time with the fp16 policy forced (``D2L_PRECISION=fp16``,
   what a T4 gets) and checks that they trained without error, with finite losses;
4. writes ``results/gpu-check/<section>.json`` (per training run: examples/s at steady
   state, i.e. the epochs after the first, seconds per epoch, peak GPU memory, the
   precision) and ``results/gpu-check/summary.json``, and prints a table.

It is sized to finish within 6 minutes on 16 cores and one H100-class GPU, so that it can
run twice in 15 minutes of GPU time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from tools import notebook_script, rehearse, standin

ROOT = Path(__file__).resolve().parents[1]
FP16_SECTIONS = ("01-image-augmentation", "11-fcn")


def steady(epochs: list[dict]) -> tuple[float | None, bool]:
    """``(examples/s, steady)``: the mean over the epochs after the first (warm-up:
    cuDNN autotuning, worker start), or the first epoch's when there is only one."""
    if not epochs:
        return None, False
    later = epochs[1:] or epochs
    return sum(e["examples_per_sec"] for e in later) / len(later), len(epochs) > 1


def summarise(runs: list[dict]) -> list[dict]:
    """The figures of each training run of a notebook's run log."""
    out = []
    for run in runs:
        speed, is_steady = steady(run["epochs"])
        seconds = [e["seconds"] for e in run["epochs"]]
        out.append({
            "run": run["run"] or run["trainer"], "trainer": run["trainer"],
            "precision": run["precision"], "epochs_done": len(run["epochs"]),
            "steady_examples_per_sec": speed, "steady": is_steady,
            "seconds_per_epoch": (sum(seconds[1:]) / len(seconds[1:]) if len(seconds) > 1
                                  else (seconds[0] if seconds else None)),
            "peak_memory_gib": (run["peak_memory_bytes"] / 2 ** 30
                                if run.get("peak_memory_bytes") is not None else None),
            "finite": run["finite"]})
    return out


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def check_one(path: Path, folder: Path, logs: Path, time_limit: float, timeout: float,
              **env: str) -> dict:
    """Run one notebook; return its record (result, seconds, the runs' figures)."""
    log = logs / f"{path.stem}{'-' + env['D2L_PRECISION'] if env.get('D2L_PRECISION') else ''}.jsonl"
    result = notebook_script.run(
        path, {"mode": "full"},
        rehearse.environment(folder, D2L_TIME_LIMIT=f"{time_limit:g}", D2L_RUN_LOG=str(log), **env),
        timeout)
    runs = summarise(read_log(log))
    return {"notebook": path.stem, "ok": result.ok, "failure": result.failure,
            "notebook_seconds": round(result.seconds, 1), "runs": runs,
            "all_finite": all(r["finite"] for r in runs),
            "slowest_cells": result.slowest(), "output_tail": result.output.splitlines()[-20:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--standin", type=Path, default=ROOT / "_build" / "standin")
    parser.add_argument("--time-limit", type=float, default=6.0,
                        help="seconds per training run (D2L_TIME_LIMIT, default 6)")
    parser.add_argument("--notebook-timeout", type=float, default=90.0,
                        help="seconds per notebook (default 90)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "gpu-check")
    parser.add_argument("--only", nargs="*", metavar="NOTEBOOK", help="stems, e.g. 07-ssd")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="run on the CPU anyway (to test this tool; not a GPU check)")
    args = parser.parse_args(argv)

    import torch
    if not torch.cuda.is_available() and not args.allow_cpu:
        print(f"make gpu-check needs a CUDA GPU: torch {torch.__version__} finds none "
              f"(torch.cuda.is_available() is False; CUDA build: {torch.version.cuda}). Run it "
              "on a machine with an NVIDIA GPU; on this one, make rehearse checks full mode "
              "on the CPU.", file=sys.stderr)
        return 2
    tic = time.perf_counter()
    folder = standin.ensure(args.standin, os.cpu_count())
    generated = time.perf_counter() - tic
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
        capability = ".".join(map(str, torch.cuda.get_device_capability(0)))
    else:
        device, capability = "cpu (--allow-cpu: not a GPU check)", "-"
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        for path in rehearse.notebooks(args.only):
            record = check_one(path, folder, logs, args.time_limit, args.notebook_timeout)
            if path.stem in FP16_SECTIONS:
                fp16 = check_one(path, folder, logs, args.time_limit, args.notebook_timeout,
                                 D2L_PRECISION="fp16")
                record["fp16_forced"] = {k: fp16[k] for k in ("ok", "failure", "all_finite",
                                                              "notebook_seconds", "runs")}
            records.append(record)
            print(f"{path.stem}: {'ok' if record['ok'] else 'FAILED in ' + str(record['failure'])}"
                  f" ({record['notebook_seconds']:.0f} s)", flush=True)
    total = time.perf_counter() - tic
    args.out.mkdir(parents=True, exist_ok=True)
    facts = {"device": device, "capability": capability, "torch": torch.__version__,
             "python": platform.python_version(), "cpus": os.cpu_count(),
             "time_limit_s": args.time_limit, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for record in records:
        (args.out / f"{record['notebook']}.json").write_text(
            json.dumps({**facts, **record}, indent=1) + "\n", encoding="utf-8")
    ok = all(passed(r) for r in records)
    summary = {**facts, "ok": ok, "generation_seconds": round(generated, 1),
               "total_seconds": round(total, 1),
               "notebooks": {r["notebook"]: r["ok"] for r in records}}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(f"\nGPU check on {device} (capability {capability}), torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs; stand-ins {generated:.0f} s, all {total:.0f} s")
    print(table(records))
    print(f"wrote {args.out}/<section>.json and summary.json")
    return 0 if ok else 1


def passed(record: dict) -> bool:
    """The notebook ran, its losses stayed finite, and so did its fp16 run if it had one."""
    fp16 = record.get("fp16_forced")
    return (record["ok"] and record["all_finite"]
            and (fp16 is None or (fp16["ok"] and fp16["all_finite"])))


def table(records: list[dict]) -> str:
    """Markdown: one row per training run."""
    rows = ["| section | run | precision | epochs | examples/s (steady) | s/epoch | peak GiB | finite |",
            "|---|---|---|---|---|---|---|---|"]

    def fmt(v, spec):
        return "—" if v is None else format(v, spec)
    for r in records:
        variants = [("", r)] + ([(" (fp16 forced)", r["fp16_forced"])] if "fp16_forced" in r else [])
        for suffix, rec in variants:
            if not rec["ok"]:
                rows.append(f"| {r['notebook']}{suffix} | FAILED: {rec['failure']} | | | | | | |")
            for run in rec["runs"]:
                speed = fmt(run["steady_examples_per_sec"], ".0f") + ("" if run["steady"] else " (1st epoch)")
                rows.append(f"| {r['notebook']}{suffix} | {run['run']} | {run['precision']} | "
                            f"{run['epochs_done']} | {speed} | {fmt(run['seconds_per_epoch'], '.2f')} | "
                            f"{fmt(run['peak_memory_gib'], '.2f')} | {run['finite']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
