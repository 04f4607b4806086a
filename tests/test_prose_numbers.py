"""No number in the book's prose that no code computes.

Two kinds of sentences would hand a reader a figure typed from some earlier run: a claim
of a measurement ("我们实测 ...", "测得 ...") with a number in it, and a measured-looking
quantity (a speed-up "17 倍", a size "1.8 GB", a time "13 秒", a share "七成"). Such a
sentence is allowed only when it labels the figure as a published one (原教材, 论文, 报告)
or when the figure is a fact of a file or an architecture listed in ``ALLOWED`` with the
reason. Every other figure belongs in a code cell's output.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))

CLAIM = re.compile(r"实测|测得|测出|我们测|本书测")
QUANTITY = re.compile(r"\d+(?:\.\d+)?\s*(?:倍|GB|MB|KB|GiB|MiB|秒|毫秒|ms\b|分钟|小时)|[一二三四五六七八九]成"
                      r"|[一二两三四五六七八九十几半]+(?:秒|分钟|小时)")  # "约一分钟", "几十秒"
NUMBER = re.compile(r"\d")
PUBLISHED = re.compile(r"原教材|论文|报告|参考结果")

ALLOWED = {   # (notebook stem, the quantity) -> why it may stand in the prose
    ("06-banana-dataset", "29 MB"): "the size of the archive the registry downloads",
    ("09-semantic-segmentation", "2 GB"): "the size of the VOC2012 archive",
    ("09-semantic-segmentation", "134 MB"): "arithmetic shown in the sentence: 256**3 int64 values",
    ("10-transposed-conv", "32 倍"): "ResNet-18's total stride, an architecture fact",
    ("11-fcn", "32 倍"): "the FCN's stride, an architecture fact",
    ("11-fcn", "2 倍"): "the upsampling factor the code sets",
    ("11-fcn", "4 倍"): "the upsampling factor the code sets",
}


def sentences(path: Path) -> list[str]:
    """The sentences of the notebook's Markdown cells, code spans removed."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    prose = "\n".join(re.sub(r"`[^`]*`", "", "".join(c["source"]))
                      for c in nb["cells"] if c["cell_type"] == "markdown")
    return [s.strip() for s in re.split(r"(?<=[。；！？\n])", prose) if s.strip()]


def typed_figures(path: Path) -> list[str]:
    found = []
    for sentence in sentences(path):
        if PUBLISHED.search(sentence):
            continue
        if CLAIM.search(sentence) and NUMBER.search(sentence):
            found.append(f"a measurement claimed with a number: {sentence}")
        for match in QUANTITY.finditer(sentence):
            if (path.stem, match.group(0)) not in ALLOWED:
                found.append(f"{match.group(0)!r}: {sentence}")
    return found


def test_the_rules_catch_what_they_should(tmp_path):
    nb = tmp_path / "99-x.ipynb"
    nb.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": "我们实测它的 mAP 只有约 0.13。按需解码早到约 17 倍。"
                                            "原教材报告约 0.852。内存从 1.8 GB 降到 `1 MB`。"
                                            "在 CPU 上约一分钟。"}]}))
    found = typed_figures(nb)
    assert [f.split(":")[0] for f in found] == ["a measurement claimed with a number", "'17 倍'",
                                                "'1.8 GB'", "'一分钟'"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_hand_typed_figures_in_the_prose(path):
    assert typed_figures(path) == [], "\n".join(typed_figures(path))
