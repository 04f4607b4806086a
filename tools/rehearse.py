"""Rehearse full mode: every notebook with ``mode="full"`` on stand-in data, bounded.

``make rehearse`` (``python -m tools.rehearse``) makes or reuses the stand-in data and
weights (:mod:`tools.standin`, default ``_build/standin``), then executes every notebook
as a script (:mod:`tools.notebook_script`) with its full preset on this machine's device,
``D2L_FAST_DEV_RUN`` batches per loop (default 1), the stand-ins as ``D2L_DATA_DIR`` and
``TORCH_HOME``, and ``D2L_DATA_URL`` pointing at a closed local port, so a missing
stand-in fails at once instead of reaching for the internet. Full mode's code paths run
end to end at the real sizes: the datasets' folders and readers, the full models, the
pretrained-weights loading, the optimizers and every loop (shortened). Results are saved
as mode ``rehearsal`` (never shown as full results). It prints one line per notebook,
then a table, and exits 1 naming each notebook and cell that failed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tools import notebook_script, standin

ROOT = Path(__file__).resolve().parents[1]
OFFLINE_URL = "http://127.0.0.1:9/"   # the discard port: nothing listens, a fetch fails at once


def notebooks(only: list[str] | None = None) -> list[Path]:
    """The chapters in reading order (their file names are numbered), or the ``only`` ones."""
    paths = sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
    if only:
        unknown = sorted(set(only) - {p.stem for p in paths})
        if unknown:
            raise SystemExit(f"no such notebook(s) in chapters/: {unknown}")
        paths = [p for p in paths if p.stem in only]
    return paths


def environment(folder: Path, **extra: str) -> dict[str, str]:
    """What a bounded full-mode run on the stand-ins needs."""
    return {"D2L_MODE": "full", "D2L_DATA_DIR": str(folder / "data"),
            "TORCH_HOME": str(folder / "torch"), "D2L_DATA_URL": OFFLINE_URL, **extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--standin", type=Path, default=ROOT / "_build" / "standin")
    parser.add_argument("--fast-dev-run", type=int, default=1, metavar="N",
                        help="batches per loop (D2L_FAST_DEV_RUN, default 1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per notebook")
    parser.add_argument("--workers", type=int, default=None, help="processes for the stand-ins")
    parser.add_argument("--only", nargs="*", metavar="NOTEBOOK", help="stems, e.g. 07-ssd")
    args = parser.parse_args(argv)
    if args.fast_dev_run < 1:
        parser.error("--fast-dev-run must be at least 1")
    folder = standin.ensure(args.standin, args.workers)
    env = environment(folder, D2L_FAST_DEV_RUN=str(args.fast_dev_run))
    results = []
    tic = time.perf_counter()
    for path in notebooks(args.only):
        result = notebook_script.run(path, {"mode": "full"}, env, args.timeout)
        results.append(result)
        status = "ok" if result.ok else f"FAILED in {result.failure}"
        slowest = ", ".join(f"cell {i} {t:.0f} s" for i, t in result.slowest() if t >= 1)
        print(f"{path.stem}: {status} ({result.seconds:.0f} s; slowest: {slowest or '-'})",
              flush=True)
        if not result.ok:
            shown = [line for line in result.output.strip().splitlines()
                     if not line.startswith(notebook_script.TIMED) and line.strip()]
            print("  last output:\n    " + "\n    ".join(shown[-15:]), flush=True)
    print(f"\nrehearsal of full mode (D2L_FAST_DEV_RUN={args.fast_dev_run}), "
          f"{time.perf_counter() - tic:.0f} s in all:")
    print("| notebook | result | seconds |\n|---|---|---|")
    for r in results:
        print(f"| {r.notebook} | {'ok' if r.ok else 'FAILED: ' + r.failure} | {r.seconds:.0f} |")
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"\n{len(failed)} notebook(s) failed in full mode: "
              + "; ".join(f"{r.notebook} {r.failure}" for r in failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
