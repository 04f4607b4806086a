"""dataset_folder: one rule for every dataset (full: verified download + one extraction;
demo: the generator with the notebook's preset) and one mode rule ("auto" everywhere)."""
from __future__ import annotations

import hashlib
import importlib
import io
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import d2lhelpers.data.locate as locate
from d2lhelpers.data.cifar10 import load_cifar10
from d2lhelpers.data.locate import SOURCES, dataset_folder
from d2lhelpers.download import DATASETS, DatasetInfo, DownloadError, register
from d2lhelpers.demodata import make_cifar10_demo

dl = importlib.import_module("d2lhelpers.download")  # the module (d2l.download is a function)

# a small preset per dataset, so that each generator runs in well under a second
PRESETS = {
    "cifar10": dict(n_train=10, n_test=5),
    "hotdog": dict(n_train=2, n_test=1),
    "banana-detection": dict(n_train=2, n_val=1, size=32),
    "voc2012": dict(n_train=2, n_val=1, height=(32, 40), width=(32, 40)),
    "kaggle-cifar10": dict(n_train=10, n_test=2),
    "kaggle-dog": dict(n_train=6, n_test=2),
}
FOLDER = {"cifar10": "cifar-10-batches-py", "hotdog": "hotdog",
          "banana-detection": "banana-detection", "voc2012": "VOC2012",
          "kaggle-cifar10": "cifar-10", "kaggle-dog": "dog-breed-identification"}


def test_every_source_has_a_registry_entry_and_a_preset():
    assert set(SOURCES) == set(PRESETS) == set(FOLDER)
    for source in SOURCES.values():
        assert source.download in DATASETS


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_demo_mode_generates_with_the_preset(name, tmp_path):
    folder = dataset_folder(name, "demo", tmp_path, **PRESETS[name])
    assert folder.is_dir() and folder.name == FOLDER[name]
    assert folder == SOURCES[name].demo(tmp_path, **PRESETS[name])  # the generator's folder
    assert dataset_folder(name, "demo", tmp_path, **PRESETS[name]) == folder  # made once


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_full_mode_downloads_and_ignores_the_preset(name, tmp_path, monkeypatch):
    calls = []

    def fake_download_extract(registry_name, root=None):
        calls.append((registry_name, root))
        return tmp_path / DATASETS[registry_name].folder

    monkeypatch.setattr(locate, "download_extract", fake_download_extract)
    folder = dataset_folder(name, "full", tmp_path, **PRESETS[name])
    assert calls == [(SOURCES[name].download, tmp_path)]
    assert folder.name == (SOURCES[name].subfolder or DATASETS[SOURCES[name].download].folder)
    monkeypatch.setenv("D2L_MODE", "full")   # "auto" follows D2L_MODE
    dataset_folder(name)
    assert calls[-1] == (SOURCES[name].download, None)


def test_auto_without_gpu_is_demo(tmp_path, monkeypatch):
    monkeypatch.delenv("D2L_MODE", raising=False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert dataset_folder("hotdog", "auto", tmp_path, **PRESETS["hotdog"]) == \
        dataset_folder("hotdog", "demo", tmp_path, **PRESETS["hotdog"])


def test_unknown_name_and_bad_mode_are_named():
    with pytest.raises(KeyError, match="unknown dataset 'hotdogs'.*hotdog"):
        dataset_folder("hotdogs", "demo")
    with pytest.raises(ValueError, match="mode='ful'"):
        dataset_folder("hotdog", "ful")


# ----------------------------------------------------------------- CIFAR-10, full mode

def cifar_archive(tmp_path: Path) -> bytes:
    """A stand-in ``cifar-10-python.tar.gz``: the demo layout, packed like the real one."""
    folder = make_cifar10_demo(tmp_path / "made", n_train=10, n_test=5)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(folder, arcname="cifar-10-batches-py")
    return buf.getvalue()


def test_cifar10_full_mode_goes_through_the_registry(server, tmp_path):
    data = cifar_archive(tmp_path)
    info = DATASETS["cifar10"]
    server.files[info.file] = data
    register(DatasetInfo("cifar10", info.file, hashlib.sha1(data).hexdigest(), "tar",
                         info.folder, url=info.url, md5=hashlib.md5(data).hexdigest()))
    try:
        root = tmp_path / "data"
        train = load_cifar10("full", train=True, transform=np.asarray, root=root)
        assert len(train) == 10 and train[0][0].shape == (32, 32, 3)
        assert (root / ".cifar-10-python.tar.gz.extracted").is_file()   # extracted once
        server.files.clear()  # a second call needs no network
        assert len(load_cifar10("full", train=False, root=root)) == 5
    finally:
        register(info)


def test_cifar10_full_mode_offline_says_what_to_do(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(dl.urllib.request, "urlopen", offline)
    monkeypatch.delenv("D2L_DATA_URL", raising=False)
    with pytest.raises(DownloadError) as caught:
        load_cifar10("full", train=True, root=tmp_path)
    message = str(caught.value)
    for needle in ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                   str(tmp_path / "cifar-10-python.tar.gz"), DATASETS["cifar10"].sha1,
                   "D2L_DATA_URL", "D2L_MODE=demo"):
        assert needle in message
    assert list(tmp_path.rglob("*")) == []
