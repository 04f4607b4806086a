"""Execute a notebook's code cells as a script, without Jupyter.

The rehearsal (``make rehearse``) and the GPU check (``make gpu-check``) run every
notebook this way, so they work where only torch and the book's runtime libraries are
installed (no Jupyter, no kernel). The cells run in order in one namespace, in a fresh
Python process whose working directory is ``chapters/`` and whose ``PYTHONPATH`` holds the
checkout (so ``d2lhelpers`` is the checkout's, installed or not). ``parameters`` are
assigned right after the cell tagged ``parameters``, as papermill injects them. IPython
magics (``%matplotlib inline``) are dropped and figures are closed after each cell. A
failure names the notebook and the cell (its index in the stored notebook).

Usage: ``python -m tools.notebook_script chapters/07-ssd.ipynb '{"mode": "full"}'``
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAILED = "D2L-NOTEBOOK-FAILED"   # the line the child prints before its traceback
TIMED = "D2L-CELL-SECONDS"       # the line the child prints after each cell


def code_cells(nb_path: Path) -> list[tuple[int, str, bool]]:
    """``(cell index, source without magics, is the parameters cell)`` for each code cell."""
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        src = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                        for line in src.splitlines())
        cells.append((i, src, "parameters" in cell.get("metadata", {}).get("tags", [])))
    return cells


def execute(nb_path: Path, parameters: dict) -> None:
    """Run the cells here, in this process (the child's side of :func:`run`)."""
    namespace: dict = {"__name__": "__main__"}
    for index, src, is_parameters in code_cells(nb_path):
        tic = time.perf_counter()
        try:
            exec(compile(src, f"{nb_path.name} cell {index}", "exec"), namespace)
            if is_parameters:
                for key, value in parameters.items():
                    namespace[key] = value
        except BaseException as err:
            print(f"\n{FAILED} cell {index}: {type(err).__name__}: {err}", flush=True)
            traceback.print_exc()
            raise SystemExit(1) from None
        finally:
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")
            print(f"\n{TIMED} {index} {time.perf_counter() - tic:.2f}", flush=True)


@dataclass
class Result:
    notebook: str
    ok: bool
    seconds: float
    failure: str | None   # "cell 12: ValueError: ..." (or the timeout)
    output: str           # everything the notebook printed

    def slowest(self, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` slowest cells: ``(cell index, seconds)``."""
        times = [(int(i), float(t)) for line in self.output.splitlines()
                 if line.startswith(TIMED) for i, t in [line.split()[1:3]]]
        return sorted(times, key=lambda it: -it[1])[:k]


def run(nb_path: Path, parameters: dict, env: dict[str, str], timeout: float) -> Result:
    """Execute ``nb_path`` in a new process with ``env`` added to this one's environment."""
    nb_path = Path(nb_path).resolve()
    full_env = {**os.environ, "MPLBACKEND": "Agg", "TQDM_DISABLE": "1",
                "D2L_NOTEBOOK": nb_path.stem, **env}
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), full_env.get("PYTHONPATH")) if p)
    tic = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "tools.notebook_script", str(nb_path),
                               json.dumps(parameters)], cwd=nb_path.parent, env=full_env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        output = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        return Result(nb_path.stem, False, time.perf_counter() - tic,
                      f"did not finish within {timeout:.0f} s", output)
    output = done.stdout + done.stderr
    failure = None
    if done.returncode != 0:
        lines = [line for line in output.splitlines() if line.startswith(FAILED)]
        failure = (lines[-1].removeprefix(FAILED).strip() if lines
                   else f"exit status {done.returncode}: {output.strip().splitlines()[-1:]}")
    return Result(nb_path.stem, done.returncode == 0, time.perf_counter() - tic, failure, output)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    execute(Path(argv[0]), json.loads(argv[1]) if len(argv) == 2 else {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
