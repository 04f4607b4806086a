"""Download, verify and safely unpack the book's datasets and pretrained weights.

Every dataset is a single archive named in :data:`DATASETS` together with its SHA-1
(and, where its publisher gives one, its MD5). Files are cached under :func:`~d2lhelpers.paths.data_root` (``$D2L_DATA_DIR``); a
cached file whose SHA-1 matches is used without touching the network.  A failed
download never leaves a partial file behind, and every failure raises a
:class:`DownloadError` whose message tells a beginner how to get going anyway
(a mirror, a hand-placed file, or demo mode).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import posixpath
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

from tqdm import tqdm

from .fileio import atomic_path, atomic_write_text
from .paths import data_root

__all__ = [
    "DATA_URL",
    "DATASETS",
    "DatasetInfo",
    "DownloadError",
    "UnsafeArchiveError",
    "base_url",
    "download",
    "download_extract",
    "extract",
    "pretrained_state_dict",
    "register",
    "file_url",
    "hashsum",
    "sha1sum",
]

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
KINDS = ("zip", "tar")
_CHUNK = 1 << 20  # 1 MiB


class DownloadError(RuntimeError):
    """A file could not be fetched or did not match its SHA-1.

    The message names the URL, the expected local path, the expected SHA-1 (when
    known), the underlying cause and the ways out; the same facts are kept as the
    attributes ``url``, ``path`` and ``sha1``.
    """

    def __init__(self, message: str, *, url: str | None = None,
                 path: Path | None = None, sha1: str | None = None) -> None:
        super().__init__(message)
        self.url, self.path, self.sha1 = url, path, sha1


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder.

    A subclass of :class:`ValueError`, not of :class:`DownloadError`: the transfer
    worked, it is the archive's *contents* that are refused, and code catching
    download problems (to fall back to demo mode, say) should not silence it.
    """


@dataclass(frozen=True)
class DatasetInfo:
    """One downloadable archive.

    ``file`` is the archive's name on the server and in the cache, ``kind`` is
    ``"zip"`` or ``"tar"``, and ``folder`` is the top-level folder it extracts to.
    ``url`` is the folder it is served from when that is not the book's mirror
    (:data:`DATA_URL`); ``md5``, when given, is checked as well as ``sha1``.
    """

    name: str
    file: str
    sha1: str
    kind: str
    folder: str
    url: str | None = None
    md5: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind={self.kind!r} is not one of {KINDS}")
        for algorithm, digits in (("sha1", 40), ("md5", 32)):
            value = getattr(self, algorithm)
            if value is None and algorithm == "md5":
                continue
            if len(value) != digits or any(c not in "0123456789abcdef" for c in value):
                raise ValueError(f"{self.name}: {algorithm}={value!r} is not {digits} "
                                 "lower-case hex digits")
        if self.url is not None and not self.url.endswith("/"):
            raise ValueError(f"{self.name}: url={self.url!r} must end with '/' (a folder)")


DATASETS: dict[str, DatasetInfo] = {}


def register(info: DatasetInfo) -> DatasetInfo:
    """Add (or replace) ``info`` in :data:`DATASETS` under ``info.name`` and return it."""
    DATASETS[info.name] = info
    return info


for _info in (
    # CIFAR-10 from its own site (its python version); the MD5 is the one its authors
    # publish (and torchvision checks), the SHA-1 the one other projects publish
    DatasetInfo("cifar10", "cifar-10-python.tar.gz",
                "874905e36347c8536514d0a26261acf3bff89bc7", "tar", "cifar-10-batches-py",
                url="https://www.cs.toronto.edu/~kriz/", md5="c58f30108f718f92721af3b95e74349a"),
    DatasetInfo("hotdog", "hotdog.zip",
                "fba480ffa8aa7e0febbb511d181409f899b9baa5", "zip", "hotdog"),
    DatasetInfo("banana-detection", "banana-detection.zip",
                "5de26c8fce5ccdea9f91267273464dc968d20d72", "zip", "banana-detection"),
    DatasetInfo("voc2012", "VOCtrainval_11-May-2012.tar",
                "4e443f8a2eca6b1dac8a6c57641b67dd40621a49", "tar", "VOCdevkit"),
    # the textbook's samples of the Kaggle competitions; each zip holds one folder named
    # like the zip (the competitions' own downloads are named cifar-10 and
    # dog-breed-identification: see data.kaggle.kaggle_folder)
    DatasetInfo("cifar10_tiny", "kaggle_cifar10_tiny.zip",
                "2068874e4b9a9f0fb07ebe0ad2b29754449ccacd", "zip", "kaggle_cifar10_tiny"),
    DatasetInfo("dog_tiny", "kaggle_dog_tiny.zip",
                "0cb91d09b814ecdc07b50f31f8dcad3e81d6a86d", "zip", "kaggle_dog_tiny"),
):
    register(_info)
del _info


def base_url() -> str:
    """``$D2L_DATA_URL`` (with a trailing slash) when set, else :data:`DATA_URL`."""
    url = os.environ.get("D2L_DATA_URL", "").strip()
    if not url:
        return DATA_URL
    return url if url.endswith("/") else url + "/"


def file_url(info: DatasetInfo) -> str:
    """Where ``info``'s file is fetched from: ``$D2L_DATA_URL`` (a mirror of every file)
    when set, else the dataset's own ``url``, else the book's mirror."""
    mirror = os.environ.get("D2L_DATA_URL", "").strip()
    return (base_url() if mirror else info.url or DATA_URL) + info.file


def hashsum(path: str | os.PathLike, algorithm: str = "sha1") -> str:
    """The hex digest (``"sha1"``, ``"md5"``, ...) of the file at ``path``, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha1sum(path: str | os.PathLike) -> str:
    """The SHA-1 hex digest of the file at ``path``."""
    return hashsum(path, "sha1")


def _mismatch(path: Path, info: DatasetInfo) -> str | None:
    """What is wrong with the file at ``path`` ("SHA-1 ...", "MD5 ..."), or None."""
    actual = sha1sum(path)
    if actual != info.sha1:
        return f"SHA-1 {actual}, expected {info.sha1}"
    if info.md5 is not None and (actual := hashsum(path, "md5")) != info.md5:
        return f"MD5 {actual}, expected {info.md5}"
    return None


# --------------------------------------------------------------------------- errors

def _describe(exc: BaseException) -> str:
    """A short, beginner-readable description of what went wrong."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"could not connect ({exc.reason}); is there a network connection?"
    return str(exc) or type(exc).__name__


def _download_error(what: str, url: str, path: Path, cause: BaseException, *,
                    sha1: str | None = None, mirror: bool = False) -> DownloadError:
    """Build the :class:`DownloadError` for datasets and pretrained weights alike."""
    lines = [
        f"Could not download {what}.",
        f"  URL:           {url}",
        f"  expected file: {path}",
    ]
    if sha1:
        lines.append(f"  SHA-1:         {sha1}")
    lines += [f"  cause:         {_describe(cause)}", "", "Ways out (pick one):"]
    ways = []
    if mirror:
        ways.append("Set the environment variable D2L_DATA_URL to a mirror that serves the "
                    "same file name, e.g.\n"
                    "     export D2L_DATA_URL=https://my-mirror.example/d2l-data/")
    checksum = f"\n     (its SHA-1 must be {sha1})" if sha1 else ""
    ways.append("Download the file by hand (from the URL above, on any machine with internet) "
                f"and place it at\n     {path}{checksum}")
    ways.append("Run in demo mode, which needs no downloads: set D2L_MODE=demo, "
                "or run the notebook with papermill -p mode demo")
    lines += [f"  {i}. {way}" for i, way in enumerate(ways, 1)]
    return DownloadError("\n".join(lines), url=url, path=path, sha1=sha1)


# ------------------------------------------------------------------------ downloads

class _TransferError(Exception):
    """The bytes arrived but are not the expected ones (cut off or wrong SHA-1)."""


# Everything a failed transfer may raise; ValueError covers a malformed D2L_DATA_URL.
_TRANSFER_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError,
                    ValueError, _TransferError)


def _lookup(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}") from None


def _fetch(url: str, dest: Path, timeout: float, desc: str) -> None:
    """Stream ``url`` into ``dest`` with a progress bar; raise if the transfer is cut off."""
    request = urllib.request.Request(url, headers={"User-Agent": "d2lhelpers"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as f:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        received = 0
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=desc) as bar:
            while chunk := response.read(_CHUNK):
                f.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received < total:
        raise _TransferError(f"the transfer was cut off after {received} of {total} bytes")


def download(name: str, root: str | os.PathLike | None = None, *,
             timeout: float = 30.0) -> Path:
    """Return the local path of dataset ``name``'s archive, downloading it if needed.

    The file lives at ``(root or data_root()) / info.file``.  When it is already
    there with the right SHA-1 (and MD5, when registered) the network is not touched.
    Otherwise it is fetched from :func:`file_url` into a temporary file that is renamed
    into place only once its checksums match; any failure raises :class:`DownloadError` and leaves
    no partial file behind.
    """
    info = _lookup(name)
    target = (Path(root).expanduser() if root is not None else data_root()) / info.file
    if target.is_file():
        problem = _mismatch(target, info)
        if problem is None:
            return target
        warnings.warn(f"{target} has {problem}; downloading it again", stacklevel=2)
    url = file_url(info)
    try:
        with atomic_path(target) as tmp:
            _fetch(url, tmp, timeout, desc=info.file)
            problem = _mismatch(tmp, info)
            if problem is not None:
                raise _TransferError(f"the downloaded file has {problem}, "
                                     "so it is damaged or a different file")
    except _TRANSFER_ERRORS as exc:
        raise _download_error(f"dataset {name!r}", url, target, exc,
                              sha1=info.sha1, mirror=True) from exc
    return target


# ----------------------------------------------------------------------- extraction

def _escapes(name: str) -> bool:
    """True when member ``name`` would land outside the folder it is extracted into."""
    name = name.replace("\\", "/")
    if name.startswith("/") or PureWindowsPath(name).drive:
        return True
    return posixpath.normpath(name).split("/")[0] == ".."


def _check_zip(zf: zipfile.ZipFile, archive: Path) -> None:
    for member in zf.infolist():
        if _escapes(member.filename):
            raise UnsafeArchiveError(f"{archive}: refusing member {member.filename!r}, "
                                     "it would be written outside the destination folder")


def _check_tar(tf: tarfile.TarFile, archive: Path) -> None:
    for member in tf.getmembers():
        problem = None
        if _escapes(member.name):
            problem = "it would be written outside the destination folder"
        elif member.issym() and _escapes(posixpath.join(posixpath.dirname(member.name),
                                                        member.linkname)):
            problem = f"it is a symlink to {member.linkname!r}, outside the destination folder"
        elif member.islnk() and _escapes(member.linkname):
            problem = f"it is a hard link to {member.linkname!r}, outside the destination folder"
        elif member.isdev():
            problem = "it is a device file or FIFO"
        if problem:
            raise UnsafeArchiveError(f"{archive}: refusing member {member.name!r}, {problem}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def extract(archive: str | os.PathLike, dest: str | os.PathLike, kind: str) -> None:
    """Safely extract a ``"zip"`` or ``"tar"`` ``archive`` into the folder ``dest``.

    Every member is checked first: names or links that would land outside ``dest``
    (``../x``, absolute paths, tar symlinks/hard links pointing out) and tar device
    files raise :class:`UnsafeArchiveError` before anything is written.  The archive
    is unpacked into a temporary folder inside ``dest`` and its top-level entries
    are moved into place (replacing older copies) only once all of it extracted.
    """
    archive, dest = Path(archive), Path(dest)
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {KINDS}")
    dest.mkdir(parents=True, exist_ok=True)
    opener, check = (zipfile.ZipFile, _check_zip) if kind == "zip" else (tarfile.open, _check_tar)
    with opener(archive) as handle:
        check(handle, archive)
        staging = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".extracting",
                                        dir=dest))
        try:
            if kind == "zip":
                handle.extractall(staging)
            else:
                handle.extractall(staging, filter="data")  # a second line of defence
            for entry in sorted(staging.iterdir()):
                _remove(dest / entry.name)
                os.replace(entry, dest / entry.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def download_extract(name: str, root: str | os.PathLike | None = None, *,
                     timeout: float = 30.0) -> Path:
    """Download dataset ``name``, extract it once into ``root`` and return its folder.

    A marker file ``root/.<file>.extracted`` holding the archive's SHA-1 records a
    finished extraction, so later calls return ``root / info.folder`` at once (no
    network, no re-extraction, even if the archive was deleted to save space).  If
    the folder has disappeared it is extracted again.
    """
    info = _lookup(name)
    root = Path(root).expanduser() if root is not None else data_root()
    folder = root / info.folder
    marker = root / f".{info.file}.extracted"
    if (folder.is_dir() and marker.is_file()
            and marker.read_text(encoding="utf-8").strip() == info.sha1):
        return folder
    archive = download(name, root, timeout=timeout)
    marker.unlink(missing_ok=True)
    extract(archive, root, info.kind)
    if not folder.is_dir():
        raise FileNotFoundError(f"extracting {archive} did not create the folder {folder}; "
                                f"the registry entry for {name!r} names the wrong folder")
    atomic_write_text(marker, info.sha1 + "\n")
    return folder


# -------------------------------------------------------------------------- weights

def _hub_cache_file(url: str) -> Path:
    """Where ``torch.hub`` stores the download of ``url`` (honours ``$TORCH_HOME``)."""
    import torch.hub

    filename = os.path.basename(urllib.parse.urlparse(url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def pretrained_state_dict(weights: Any) -> dict[str, Any]:
    """The state dict of torchvision ``weights`` (e.g. ``ResNet18_Weights.IMAGENET1K_V1``).

    Downloads through ``torch.hub`` (cached under ``$TORCH_HOME``); a network failure
    raises :class:`DownloadError` naming the URL and the cache file to place by hand.
    """
    try:
        return weights.get_state_dict(progress=True)
    except (urllib.error.URLError, http.client.HTTPException,
            ConnectionError, TimeoutError) as exc:
        raise _download_error(f"the pretrained weights {weights}", weights.url,
                              _hub_cache_file(weights.url), exc) from exc
