"""Machine-readable results: every training run's ``results/<section>/<mode>.json``, the
benchmarks' ``results/bench/<name>.json`` and the notebook runners' ``timings.json``."""
from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

import torch

from .fileio import atomic_write_text
from .mode import resolve_mode
from .runtime import rehearsal
from .paths import project_root, results_root

__all__ = ["REHEARSAL", "save_results", "load_results", "save_benchmark", "record_timing",
           "read_timings", "git_commit", "device_name"]

REHEARSAL = "rehearsal"   # the results mode of a bounded run on stand-in data

# a file stem: no '/', '\\', leading '.', spaces or '..' path tricks
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# what save_benchmark adds to every record itself
BENCHMARK_PROVENANCE = ("device", "torch", "git_commit", "date")


def git_commit() -> str | None:
    """The checkout's commit (with ``-dirty`` when it has local changes), or None."""
    root = project_root()
    if root is None:
        return None
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"],
                             cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def device_name(device: torch.device | str | None = None) -> str:
    """A readable device name, e.g. ``NVIDIA H100 80GB HBM3`` or ``cpu (x86_64, 2 threads)``."""
    device = torch.device(device) if device is not None else (
        torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu"))
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas DataFrame
        return _jsonable(value.to_dict(orient="records"))
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy/torch scalar
        return _jsonable(value.item())  # np.float64(nan) must become None too
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) >= 1:  # array, tensor, Series
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):  # NaN/inf are not valid JSON
        return None
    return value


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _results_path(section: str, mode: str) -> Path:
    if mode != REHEARSAL:
        mode = resolve_mode(mode)   # the one mode rule: "auto" means what it means everywhere
    if not isinstance(section, str) or not _STEM.fullmatch(section):
        raise ValueError(f"section={section!r} must be a notebook stem such as '01-image-augmentation'")
    return results_root() / section / f"{mode}.json"


def save_results(section: str, mode: str, *, dataset: str, epochs: int | None,
                 metrics: dict[str, Any], examples_per_sec: float | None,
                 wall_seconds: float, device: torch.device | str | None = None,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write the run's key figures to ``results/<section>/<mode>.json`` (atomically).

    ``mode`` is resolved like everywhere else ("auto" included); the file and the record
    name the resolved mode. A bounded run (``D2L_FAST_DEV_RUN``, ``D2L_TIME_LIMIT``:
    :func:`~d2lhelpers.runtime.rehearsal`) is saved as mode ``"rehearsal"`` whatever
    ``mode`` says, so its figures can never pass for a full run's.
    """
    limits = rehearsal()
    mode = REHEARSAL if limits else resolve_mode(mode)
    path = _results_path(section, mode)
    record = {
        "section": section, "mode": mode, "rehearsal": limits, "device": device_name(device),
        "torch": torch.__version__, "dataset": dataset, "epochs": epochs,
        "metrics": metrics, "examples_per_sec": examples_per_sec,
        "wall_seconds": wall_seconds, "git_commit": git_commit(), "date": _now(),
    }
    if extra:
        record["extra"] = extra
    text = json.dumps(_jsonable(record), indent=2, ensure_ascii=False, allow_nan=False)
    atomic_write_text(path, text + "\n")
    return path


def load_results(section: str, mode: str) -> dict[str, Any]:
    """Read back what :func:`save_results` wrote."""
    path = _results_path(section, mode)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the notebook {section} in {mode} mode first")
    return json.loads(path.read_text(encoding="utf-8"))


def save_benchmark(name: str, record: dict[str, Any],
                   device: torch.device | str | None = None) -> Path:
    """Write a benchmark's ``record`` to ``results/bench/<name>.json`` (atomically).

    Adds the provenance every benchmark file carries: ``device`` (``device``, default the
    first GPU or the CPU, as :func:`device_name` names it), ``torch``, ``git_commit`` and
    ``date`` (UTC). ``name`` is a file stem such as ``detection-demo``. Returns the path.
    """
    if not isinstance(name, str) or not _STEM.fullmatch(name):
        raise ValueError(f"name={name!r} must be a file stem such as 'detection-demo' (letters, "
                         "digits, '.', '_' and '-', starting with a letter or digit)")
    if not isinstance(record, dict):
        raise TypeError(f"record must be a dict of the benchmark's figures, not {type(record).__name__}")
    clash = [key for key in BENCHMARK_PROVENANCE if key in record]
    if clash:
        raise ValueError(f"record already has {clash}: save_benchmark adds these itself "
                         "(pass device=... for the device that was measured)")
    record = {**record, "device": device_name(device), "torch": torch.__version__,
              "git_commit": git_commit(), "date": _now()}
    text = json.dumps(_jsonable(record), indent=2, ensure_ascii=False, allow_nan=False)
    return atomic_write_text(results_root() / "bench" / f"{name}.json", text + "\n")


def _timings_file(folder: str | Path) -> tuple[Path, dict[str, Any]]:
    """``folder/timings.json`` and its raw entries ({} when there is no such file)."""
    path = Path(folder) / "timings.json"
    if not path.exists():
        return path, {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); delete it and execute the "
                         "notebooks again (make notebooks or make full)") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{path} should map notebook names to their timings; delete it and "
                         "execute the notebooks again")
    return path, raw


def record_timing(folder: str | Path, notebook: str, seconds: float,
                  mode: str | None = None) -> Path:
    """Add ``notebook``'s run to ``folder/timings.json`` (sorted, written atomically).

    The notebook runners (nbval's plugin in ``chapters/conftest.py`` and ``make full``)
    keep one such file next to the executed notebooks and call this right after each
    notebook, so every entry says where it ran: ``{"seconds", "device", "torch",
    "torchvision", "mode", "date"}``. ``mode`` is the mode the notebook ran in (default:
    ``D2L_MODE``, else what ``"auto"`` resolves to on this machine). The results page
    shows the entries (see :func:`read_timings`).
    """
    import torchvision  # only here: the rest of this module does not need it

    path, timings = _timings_file(folder)
    if mode is None:
        mode = resolve_mode("auto")   # D2L_MODE, else what this machine's "auto" means
    timings[notebook] = {"seconds": round(float(seconds), 1), "device": device_name(),
                         "torch": torch.__version__, "torchvision": torchvision.__version__,
                         "mode": mode, "date": _now()}
    atomic_write_text(path, json.dumps(dict(sorted(timings.items())), indent=1) + "\n")
    return path


def read_timings(folder: str | Path) -> dict[str, dict[str, Any]]:
    """``{notebook: {"seconds", "device", "torch", "torchvision", "mode", "date"}}`` from
    ``folder/timings.json`` ({} when the file does not exist).

    An entry in the older format, a bare number of seconds, reads as those seconds with
    device ``"unknown"`` and None for the rest.
    """
    path, raw = _timings_file(folder)
    out = {}
    for notebook, entry in raw.items():
        if isinstance(entry, (int, float)) and not isinstance(entry, bool):
            entry = {"seconds": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("seconds"), (int, float)):
            raise ValueError(f"{path}: the entry for {notebook!r} has no number of seconds; "
                             "delete the file and execute the notebooks again")
        out[notebook] = {"device": "unknown", "torch": None, "torchvision": None, "mode": None,
                         "date": None, **entry, "seconds": float(entry["seconds"])}
    return out
