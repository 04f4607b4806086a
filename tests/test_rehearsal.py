"""The rehearsal kit: stand-in data in the post-download layout, notebooks run as scripts,
the rehearsal runner and the GPU check (its arithmetic, and its refusal without a GPU)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from d2lhelpers.data.banana import read_bananas
from d2lhelpers.data.cifar10 import CIFAR10Pickles
from d2lhelpers.data.kaggle import reorg_kaggle_data
from d2lhelpers.data.voc import VOCSegDataset, voc_split
from tools import gpu_check, notebook_script, rehearse, standin

ROOT = Path(__file__).resolve().parents[1]


def notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    path.write_text(json.dumps({"cells": [
        {"cell_type": kind, "metadata": {"tags": tags}, "source": src, "outputs": [],
         "execution_count": None} for kind, src, tags in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    return path


# ------------------------------------------------------------------ notebook scripts

def test_a_notebook_runs_as_a_script_with_its_parameters(tmp_path):
    nb = notebook(tmp_path / "01-x.ipynb", [
        ("code", "%matplotlib inline\nimport os\nfrom pathlib import Path", []),
        ("markdown", "# not code", []),
        ("code", 'mode = "auto"\nsize = 3', ["parameters"]),
        ("code", 'import d2lhelpers\nprint("mode", mode, size, os.environ["D2L_NOTEBOOK"], '
                 'Path.cwd().name, Path(d2lhelpers.__file__).parent.parent == Path(os.environ["ROOT"]))', [])])
    result = notebook_script.run(nb, {"mode": "full"}, {"ROOT": str(ROOT)}, timeout=120)
    assert result.ok and result.failure is None
    assert f"mode full 3 01-x {tmp_path.name} True" in result.output   # the checkout's d2lhelpers
    assert [i for i, _ in result.slowest(5)] and all(i in (0, 2, 3) for i, _ in result.slowest(5))


def test_a_failure_names_the_cell(tmp_path):
    nb = notebook(tmp_path / "02-y.ipynb", [("code", "x = 1", []), ("markdown", "text", []),
                                           ("code", "x = 1\nraise ValueError('bad input')", [])])
    result = notebook_script.run(nb, {}, {}, timeout=120)
    assert not result.ok and result.failure == "cell 2: ValueError: bad input"
    assert "02-y.ipynb cell 2" in result.output   # the traceback points into the cell


def test_a_notebook_that_hangs_is_stopped(tmp_path):
    nb = notebook(tmp_path / "03-z.ipynb", [("code", "import time\ntime.sleep(30)", [])])
    result = notebook_script.run(nb, {}, {}, timeout=2)
    assert not result.ok and result.failure == "did not finish within 2 s"


def test_the_rehearsal_environment_is_full_mode_offline_on_the_stand_ins(tmp_path):
    env = rehearse.environment(tmp_path, D2L_FAST_DEV_RUN="1")
    assert env == {"D2L_MODE": "full", "D2L_DATA_DIR": str(tmp_path / "data"),
                   "TORCH_HOME": str(tmp_path / "torch"), "D2L_DATA_URL": rehearse.OFFLINE_URL,
                   "D2L_FAST_DEV_RUN": "1"}
    assert [p.stem for p in rehearse.notebooks()] == sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
    with pytest.raises(SystemExit, match="no such notebook"):
        rehearse.notebooks(["99-nothing"])


# ------------------------------------------------------------------------ stand-ins

def test_stand_in_cifar10_reads_like_the_real_one(tmp_path):
    standin.make_cifar10(tmp_path, 0)
    train, test = CIFAR10Pickles(tmp_path), CIFAR10Pickles(tmp_path, train=False)
    assert len(train) == 50000 and len(test) == 10000 and train.data.shape[1:] == (32, 32, 3)
    assert train.classes == standin.CIFAR_CLASSES and set(train.targets) == set(range(10))
    assert len({train.data[i].tobytes() for i in range(50)}) > 1


def test_stand_in_bananas_and_voc_have_the_real_layout_and_sizes(tmp_path):
    standin.make_bananas(tmp_path, 0)
    images, labels = read_bananas(tmp_path / "banana-detection", is_train=False)
    assert images.shape == (100, 3, 256, 256) and labels.shape == (100, 1, 5)
    parts = 100   # one part of a hundred: about 29 of the 2913 images
    standin.make_voc(tmp_path, 0, 0, parts)
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    names = (voc / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    assert len(names) == 1464
    made = sorted(p.stem for p in (voc / "JPEGImages").iterdir())
    (voc / "ImageSets" / "Segmentation" / "train.txt").write_text("\n".join(made) + "\n")
    _, sizes = voc_split(voc, True)
    assert all(max(h, w) == 500 and 300 <= min(h, w) <= 500 for h, w in sizes)
    image, label = VOCSegDataset(True, (320, 480), voc)[0]
    assert image.shape == (3, 320, 480) and set(label.unique().tolist()) <= set(range(21)) | {255}


def test_stand_in_kaggle_samples_reorganise(tmp_path):
    standin.make_kaggle_cifar10(tmp_path, 0)
    folder = tmp_path / "kaggle_cifar10_tiny"
    assert len(list((folder / "train").iterdir())) == 1000 and len(list((folder / "test").iterdir())) == 5
    reorg_kaggle_data(folder, "trainLabels.csv", 0.1)
    standin.make_kaggle_dog(tmp_path, 0)
    dogs = tmp_path / "kaggle_dog_tiny"
    with pytest.warns(UserWarning, match="skipping 9222 id"):   # a partial sample, as the real one
        out = reorg_kaggle_data(dogs, "labels.csv", 0.1, missing_images="skip")
    assert len(list((out / "train_valid").iterdir())) == 120
    test_ids = {p.stem for p in (dogs / "test").iterdir()}
    sample = (dogs / "sample_submission.csv").read_text().splitlines()
    assert len(sample) == 10358 and test_ids <= {row.split(",")[0] for row in sample[1:]}


def test_stand_in_weights_load_under_torch_hub_names(tmp_path, monkeypatch):
    import torchvision
    standin.make_weights(tmp_path, "resnet18")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    from d2lhelpers.pretrained import pretrained_resnet18
    net = pretrained_resnet18("full")   # found in the hub cache: no download
    saved = torch.load(tmp_path / "hub" / "checkpoints" /
                       Path(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url).name)
    assert torch.equal(net.conv1.weight, saved["conv1.weight"])


def test_ensure_refuses_a_folder_that_is_not_its_own(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a stand-in folder"):
        standin.ensure(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


# ------------------------------------------------------------------------ GPU check

def test_steady_state_skips_the_first_epoch():
    epochs = [{"seconds": 3.0, "examples_per_sec": 100.0}, {"seconds": 1.0, "examples_per_sec": 300.0},
              {"seconds": 1.0, "examples_per_sec": 310.0}]
    assert gpu_check.steady(epochs) == (305.0, True)
    assert gpu_check.steady(epochs[:1]) == (100.0, False)
    assert gpu_check.steady([]) == (None, False)
    run = {"run": "flip", "trainer": "train_classifier", "precision": "bfloat16 autocast",
           "epochs": epochs, "peak_memory_bytes": 3 * 2 ** 30, "finite": True}
    (row,) = gpu_check.summarise([run])
    assert row["seconds_per_epoch"] == 1.0 and row["peak_memory_gib"] == 3.0 and row["epochs_done"] == 3
    record = {"notebook": "01-x", "ok": True, "all_finite": True, "runs": [row],
              "fp16_forced": {"ok": True, "all_finite": False, "runs": [row]}}
    assert not gpu_check.passed(record)          # an fp16 run with a NaN loss fails the check
    assert "| 01-x (fp16 forced) | flip | bfloat16 autocast | 3 | 305 | 1.00 | 3.00 | True |" in \
        gpu_check.table([record])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_check_without_a_gpu_says_so_and_fails(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tools.gpu_check", "--standin", str(tmp_path / "s")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "make gpu-check needs a CUDA GPU" in out.stderr
    assert not (tmp_path / "s").exists()   # nothing generated
