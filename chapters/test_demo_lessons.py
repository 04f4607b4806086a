"""The demo lessons, read back from the notebook run that just happened.

``make test`` runs ``pytest chapters``: nbval executes every notebook, and pytest collects
this file after them (it takes the folder in name order, and the notebooks' names start
with digits). Each test reads a section's ``results/<section>/demo.json`` and checks the
figure its lesson rests on, so a change to the demo data or presets that breaks a lesson
fails the build even where a notebook's own check was edited away. A record older than
this pytest session (left from an earlier run, or a notebook that stopped before saving)
fails and says so.
"""
from __future__ import annotations

import datetime as _dt

import pytest

from d2lhelpers.results import load_results

# collected before the notebooks run: every record this run writes is at least as new
SESSION_START = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


def fresh_demo_record(section: str) -> dict:
    try:
        record = load_results(section, "demo")
    except FileNotFoundError:
        pytest.fail(f"results/{section}/demo.json is missing: run the notebook "
                    f"chapters/{section}.ipynb in demo mode first (make notebooks)")
    written = _dt.datetime.fromisoformat(record["date"])
    if written < SESSION_START:
        pytest.fail(f"results/{section}/demo.json was written at {record['date']}, before "
                    f"this run started ({SESSION_START.isoformat()}): the notebook did not "
                    "get as far as saving its results; see its failure above")
    return record


def test_augmentation_ablation_shows_what_augmentation_is_for():
    """01: trained with flip+crop, the test accuracy beats no augmentation by >= 0.1."""
    rows = fresh_demo_record("01-image-augmentation")["metrics"]["ablation"]
    acc = {row["train augmentation"]: row["test acc"] for row in rows}
    assert {"none", "flip+crop"} <= set(acc), f"ablation rows: {sorted(acc)}"
    margin = acc["flip+crop"] - acc["none"]
    assert margin >= 0.1, (f"flip+crop {acc['flip+crop']:.3f} vs none {acc['none']:.3f}: "
                           f"margin {margin:+.3f} < 0.1")


def test_faster_rcnn_demo_finds_bananas():
    """08: the demo Faster R-CNN reaches validation mAP@0.5 >= 0.5."""
    metrics = fresh_demo_record("08-rcnn")["metrics"]
    assert metrics["map_50"] >= 0.5, f"validation mAP@0.5 {metrics['map_50']:.3f} < 0.5"
