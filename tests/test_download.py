"""Tests of d2lhelpers.download against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import hashlib
import importlib
import io
import re
import socket
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import pytest

from d2lhelpers.download import (DATASETS, DatasetInfo, DownloadError, UnsafeArchiveError,
                                 base_url, download, download_extract, extract, file_url,
                                 pretrained_state_dict, register, sha1sum)

dl = importlib.import_module("d2lhelpers.download")  # the module, even if re-exported names clash


# ------------------------------------------------------------------------ helpers

def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def everything(folder: Path) -> list[Path]:
    """All files and folders below ``folder``, hidden ones included."""
    return sorted(folder.rglob("*"))


GOOD = zip_bytes({"toy/a.txt": b"alpha", "toy/sub/b.txt": b"beta"})


@pytest.fixture(autouse=True)
def _restore_registry():
    saved = dict(DATASETS)
    yield
    DATASETS.clear()
    DATASETS.update(saved)


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("D2L_DATA_DIR", str(folder))
    return folder


def serve(server, name: str, data: bytes, *, sha: str | None = None,
          kind: str = "zip", folder: str = "toy") -> DatasetInfo:
    """Serve ``data`` as ``<name>.<kind>`` and register it (with ``sha`` or its real SHA-1)."""
    file = f"{name}.{kind}"
    server.files[file] = data
    return register(DatasetInfo(name, file, sha or sha1(data), kind, folder))


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ---------------------------------------------------------------------- registry

def test_builtin_registry():
    assert set(DATASETS) == {"cifar10", "hotdog", "banana-detection", "voc2012", "cifar10_tiny",
                             "dog_tiny"}
    for name, info in DATASETS.items():
        assert info.name == name
        assert re.fullmatch(r"[0-9a-f]{40}", info.sha1)
        assert info.kind in ("zip", "tar")
    assert DATASETS["voc2012"] == DatasetInfo(
        "voc2012", "VOCtrainval_11-May-2012.tar",
        "4e443f8a2eca6b1dac8a6c57641b67dd40621a49", "tar", "VOCdevkit")
    # CIFAR-10 from its own site, with the MD5 its authors publish
    assert DATASETS["cifar10"] == DatasetInfo(
        "cifar10", "cifar-10-python.tar.gz", "874905e36347c8536514d0a26261acf3bff89bc7", "tar",
        "cifar-10-batches-py", url="https://www.cs.toronto.edu/~kriz/",
        md5="c58f30108f718f92721af3b95e74349a")
    # the textbook's Kaggle samples extract to a folder named like their zip
    assert DATASETS["cifar10_tiny"].folder == "kaggle_cifar10_tiny"
    assert DATASETS["dog_tiny"].folder == "kaggle_dog_tiny"


def test_file_url_own_site_book_mirror_or_user_mirror(monkeypatch):
    monkeypatch.delenv("D2L_DATA_URL", raising=False)
    assert file_url(DATASETS["cifar10"]) == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert file_url(DATASETS["hotdog"]) == dl.DATA_URL + "hotdog.zip"
    monkeypatch.setenv("D2L_DATA_URL", "http://mirror.example/d2l")  # a mirror serves everything
    assert file_url(DATASETS["cifar10"]) == "http://mirror.example/d2l/cifar-10-python.tar.gz"


def test_base_url(monkeypatch):
    monkeypatch.delenv("D2L_DATA_URL", raising=False)
    assert base_url() == dl.DATA_URL
    monkeypatch.setenv("D2L_DATA_URL", "http://mirror.example/d2l")
    assert base_url() == "http://mirror.example/d2l/"


def test_dataset_info_validates():
    with pytest.raises(ValueError):
        DatasetInfo("x", "x.rar", "0" * 40, "rar", "x")
    with pytest.raises(ValueError):
        DatasetInfo("x", "x.zip", "abc", "zip", "x")
    with pytest.raises(ValueError, match="md5"):
        DatasetInfo("x", "x.zip", "0" * 40, "zip", "x", md5="0" * 31)
    with pytest.raises(ValueError, match="must end with '/'"):
        DatasetInfo("x", "x.zip", "0" * 40, "zip", "x", url="https://example.org/files")


def test_md5_is_checked_as_well_as_sha1(server, root):
    info = serve(server, "toy", GOOD)
    register(DatasetInfo(info.name, info.file, info.sha1, info.kind, info.folder,
                         md5=hashlib.md5(b"something else").hexdigest()))
    with pytest.raises(DownloadError, match="has MD5"):
        download("toy")
    assert everything(root) == []
    register(DatasetInfo(info.name, info.file, info.sha1, info.kind, info.folder,
                         md5=hashlib.md5(GOOD).hexdigest()))
    assert download("toy").read_bytes() == GOOD


# --------------------------------------------------------------------- downloads

def test_download_good_file(server, root):
    serve(server, "toy", GOOD)
    path = download("toy")
    assert path == root / "toy.zip"
    assert path.read_bytes() == GOOD and sha1sum(path) == sha1(GOOD)
    assert everything(root) == [path]  # no temp file left


def test_sha1_mismatch_leaves_nothing(server, root):
    serve(server, "toy", GOOD, sha="0" * 40)
    with pytest.raises(DownloadError, match="SHA-1"):
        download("toy")
    assert everything(root) == []


def test_cut_off_transfer_leaves_nothing_then_retry_works(server, root):
    serve(server, "toy", GOOD)
    server.cut.add("toy.zip")
    with pytest.raises(DownloadError, match="cut off"):
        download("toy")
    assert everything(root) == []
    server.cut.clear()
    assert download("toy").read_bytes() == GOOD


def test_http_404_leaves_nothing(server, root):
    register(DatasetInfo("missing", "missing.zip", sha1(GOOD), "zip", "toy"))
    with pytest.raises(DownloadError, match="404"):
        download("missing")
    assert everything(root) == []


def test_cached_file_needs_no_network(server, root):
    serve(server, "toy", GOOD)
    path = download("toy")
    folder = download_extract("toy")
    server.stop()
    n = len(server.requests)
    assert download("toy") == path
    assert download_extract("toy") == folder
    assert len(server.requests) == n == 1


def test_wrong_cached_file_is_downloaded_again(server, root):
    serve(server, "toy", GOOD)
    root.mkdir(parents=True)
    (root / "toy.zip").write_bytes(b"not the right bytes")
    with pytest.warns(UserWarning, match="downloading it again"):
        path = download("toy")
    assert path.read_bytes() == GOOD
    assert server.requests == ["toy.zip"]


def test_offline_message_explains_ways_out(monkeypatch, tmp_path):
    url = closed_port_url()
    monkeypatch.setenv("D2L_DATA_URL", url)
    info = register(DatasetInfo("toy", "toy.zip", sha1(GOOD), "zip", "toy"))
    with pytest.raises(DownloadError) as caught:
        download("toy", tmp_path, timeout=5)
    message = str(caught.value)
    for needle in (url + "toy.zip", str(tmp_path / "toy.zip"), info.sha1,
                   "D2L_DATA_URL", "D2L_MODE=demo", "-p mode demo"):
        assert needle in message
    assert caught.value.path == tmp_path / "toy.zip"
    assert everything(tmp_path) == []


# -------------------------------------------------------------------- extraction

UNSAFE = {
    "zip_dotdot": ("zip", lambda tmp: zip_bytes({"../evil.txt": b"x"})),
    "zip_absolute": ("zip", lambda tmp: zip_bytes({str(tmp / "abs_evil.txt"): b"x"})),
    "tar_dotdot": ("tar", lambda tmp: tar_bytes([("ok/a.txt", b"a"), ("../evil", b"x")])),
    "tar_symlink": ("tar", lambda tmp: tar_bytes([
        tarfile.TarInfo("ok"),  # a regular empty file, then a link out of dest
        _link("ok_link", "../../outside", tarfile.SYMTYPE)])),
    "tar_abs_symlink": ("tar", lambda tmp: tar_bytes([_link("l", str(tmp), tarfile.SYMTYPE)])),
    "tar_hardlink": ("tar", lambda tmp: tar_bytes([_link("h", "../outside", tarfile.LNKTYPE)])),
    "tar_device": ("tar", lambda tmp: tar_bytes([_link("dev", "", tarfile.CHRTYPE)])),
}


def _link(name: str, target: str, type_: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = type_, target
    return info


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_archive_is_refused(tmp_path, case):
    kind, build = UNSAFE[case]
    archive = tmp_path / f"bad.{kind}"
    archive.write_bytes(build(tmp_path))
    dest = tmp_path / "a" / "dest"
    with pytest.raises(UnsafeArchiveError, match=re.escape(str(archive))):
        extract(archive, dest, kind)
    assert everything(tmp_path / "a") == [dest]  # nothing outside dest, nothing inside
    assert everything(tmp_path) == sorted([archive, tmp_path / "a", dest])


def test_safe_tar_extracts(tmp_path):
    archive = tmp_path / "ok.tar"
    link = _link("VOC/l", "x/a.txt", tarfile.SYMTYPE)  # a symlink that stays inside
    archive.write_bytes(tar_bytes([("VOC/x/a.txt", b"a"), link]))
    extract(archive, tmp_path / "out", "tar")
    assert (tmp_path / "out" / "VOC" / "l").read_bytes() == b"a"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["VOC"]


def test_interrupted_extraction_leaves_nothing(tmp_path):
    data = bytearray(zip_bytes({"toy/a.txt": b"alpha" * 100, "toy/b.txt": b"beta" * 100}))
    data[data.index(b"beta")] ^= 0xFF  # corrupt the second member: CRC error mid-way
    archive = tmp_path / "broken.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(zipfile.BadZipFile):
        extract(archive, tmp_path / "out", "zip")
    assert everything(tmp_path / "out") == []


def test_download_extract_once_and_again_when_folder_deleted(server, root, monkeypatch):
    serve(server, "toy", GOOD)
    calls = []
    real_extract = dl.extract
    monkeypatch.setattr(dl, "extract", lambda *a: (calls.append(a), real_extract(*a)))
    folder = download_extract("toy")
    assert folder == root / "toy"
    assert (folder / "sub" / "b.txt").read_bytes() == b"beta"
    assert (root / ".toy.zip.extracted").read_text().strip() == sha1(GOOD)
    assert download_extract("toy") == folder
    assert len(calls) == 1
    (folder / "a.txt").unlink()
    (folder / "sub" / "b.txt").unlink()
    (folder / "sub").rmdir()
    folder.rmdir()
    assert download_extract("toy") == folder
    assert (folder / "a.txt").read_bytes() == b"alpha"
    assert len(calls) == 2 and server.requests == ["toy.zip"]


def test_download_extract_with_root_argument(server, tmp_path):
    serve(server, "toytar", tar_bytes([("toy/a.txt", b"alpha")]), kind="tar")
    assert download_extract("toytar", tmp_path) == tmp_path / "toy"
    assert (tmp_path / "toy" / "a.txt").read_bytes() == b"alpha"


# ----------------------------------------------------------------------- weights

class FakeWeights:
    url = "https://download.pytorch.org/models/resnet18-f37072fd.pth"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def get_state_dict(self, progress: bool) -> dict:
        if self.error:
            raise self.error
        return {"progress": progress}

    def __str__(self) -> str:
        return "FakeWeights.IMAGENET1K_V1"


def test_pretrained_state_dict_passes_through():
    assert pretrained_state_dict(FakeWeights()) == {"progress": True}


def test_pretrained_state_dict_offline_message(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = FakeWeights(urllib.error.URLError("no network"))
    with pytest.raises(DownloadError) as caught:
        pretrained_state_dict(weights)
    message = str(caught.value)
    cache = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert weights.url in message and str(cache) in message
    assert "D2L_MODE=demo" in message and "no network" in message
    assert isinstance(caught.value.__cause__, urllib.error.URLError)
