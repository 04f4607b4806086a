"""Execute every notebook in full mode (real data, pretrained weights, a CUDA GPU).

``make full`` runs this. Before anything else it checks what full mode needs and stops
with a message naming what is missing: a CUDA GPU, and the network (the book's data
mirror and the pretrained-weights server). Then it executes the notebooks of ``_toc.yml``
in order with papermill (``-p mode full``) into ``_build/executed/full/``, printing one
progress line per notebook, and stops at the first failure, naming the notebook and the
cell. Launched again, it skips the notebooks already executed (unchanged since) and
resumes inside the one that stopped: each training run checkpoints after every epoch
(``D2L_CHECKPOINT_DIR``, one file per named run: ``d2lhelpers.train.checkpoint_file``). ``--force`` starts
over. Afterwards ``make book EXECUTED=_build/executed/full`` builds the book from these
notebooks without executing them again.

Usage (from the repository root): ``python -m tools.run_full [--force] [--only 07-ssd ...]``
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from d2lhelpers.results import record_timing
from tools.build_book import BookError, check_executed, toc_files

ROOT = Path(__file__).resolve().parents[1]

WEIGHTS_URL = "https://download.pytorch.org/models/"


def preflight(check_network: bool = True) -> list[str]:
    """What full mode lacks on this machine (empty: nothing)."""
    import torch

    from d2lhelpers.download import base_url

    missing = []
    if not torch.cuda.is_available():
        missing.append(f"a CUDA GPU: torch {torch.__version__} finds none "
                       f"(torch.cuda.is_available() is False; CUDA build: {torch.version.cuda})")
    if check_network:
        for what, url in (("the book's data mirror", base_url()),
                          ("the pretrained-weights server", WEIGHTS_URL)):
            try:
                request = urllib.request.Request(url, method="HEAD")
                urllib.request.urlopen(request, timeout=10).close()
            except urllib.error.HTTPError:
                pass  # the server answered (403/404 on a folder): it is reachable
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, "reason", err)
                missing.append(f"network access to {what}, {url} ({reason}); set D2L_DATA_URL to "
                               "a reachable mirror of the data files, or place the files by hand")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "executed" / "full")
    parser.add_argument("--force", action="store_true",
                        help="execute every notebook again and drop the training checkpoints")
    parser.add_argument("--only", nargs="*", default=None, metavar="NOTEBOOK",
                        help="run only these notebooks (stems, e.g. 07-ssd)")
    parser.add_argument("--no-preflight", action="store_true",
                        help="skip the GPU and network checks (for testing the runner)")
    parser.add_argument("--mode", default="full", choices=["full", "demo"],
                        help="the mode passed to every notebook (default full)")
    args = parser.parse_args(argv)

    if not args.no_preflight:
        missing = preflight()
        if missing:
            print("make full needs what this machine lacks:", file=sys.stderr)
            for item in missing:
                print(f"  - {item}", file=sys.stderr)
            print("Full mode runs the real datasets at textbook size; without these, use the "
                  "demo mode (make book).", file=sys.stderr)
            return 2

    import papermill as pm

    out = args.out.resolve()
    checkpoints = out / "checkpoints"
    if args.force and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    notebooks = [ROOT / f"{f}.ipynb" for f in toc_files(ROOT / "_toc.yml")
                 if (ROOT / f"{f}.ipynb").exists()]
    if args.only is not None:
        unknown = set(args.only) - {p.stem for p in notebooks}
        if unknown:
            print(f"--only: no such notebook(s) in _toc.yml: {sorted(unknown)}", file=sys.stderr)
            return 2
        notebooks = [p for p in notebooks if p.stem in args.only]
    total = len(notebooks)
    for i, src in enumerate(notebooks, 1):
        dest = out / src.name
        prefix = f"[{i}/{total}] {src.stem}"
        try:
            check_executed(src, dest, "make full")
            print(f"{prefix}: done earlier, skipped (--force runs it again)", flush=True)
            continue
        except BookError:
            pass
        print(f"{prefix}: running ...", flush=True)
        env = {"D2L_CHECKPOINT_DIR": str(checkpoints), "D2L_NOTEBOOK": src.stem,
               "D2L_MODE": args.mode, "MPLBACKEND": "Agg", "TQDM_DISABLE": "1"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # the kernel inherits this process's environment
        tic = time.perf_counter()
        try:
            pm.execute_notebook(str(src), str(dest), parameters={"mode": args.mode},
                                cwd=str(src.parent), kernel_name="python3",
                                progress_bar=False, log_output=False)
        except pm.PapermillExecutionError as err:
            print(f"{prefix}: FAILED in code cell {err.exec_count} after "
                  f"{time.perf_counter() - tic:.0f} s: {err.ename}: {err.evalue}", file=sys.stderr)
            print(f"  the executed part is in {dest}; fix the cause and run again to resume "
                  "(finished notebooks and training epochs are kept)", file=sys.stderr)
            return 1
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        seconds = time.perf_counter() - tic
        record_timing(out, src.stem, seconds, mode=args.mode)
        print(f"{prefix}: ok, {seconds:.0f} s -> {dest}", flush=True)
    print(f"all {total} notebooks executed in {args.mode} mode into {out}; build the book with "
          f"make book EXECUTED={os.path.relpath(out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
