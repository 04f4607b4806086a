from __future__ import annotations

import os
import stat

import pytest

from d2lhelpers.fileio import atomic_path, atomic_write_bytes, atomic_write_text


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert tmp != target and tmp.parent == target.parent  # same folder: rename is atomic
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nobody sees the new content before the end
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_atomic_path_on_error_keeps_old_content_and_no_temp(tmp_path, exc):
    target = tmp_path / "out.txt"
    target.write_text("old content")
    with pytest.raises(type(exc)):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise exc
    assert target.read_text() == "old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_path_on_error_creates_nothing(tmp_path):
    target = tmp_path / "sub" / "new.txt"
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_text("x")
            raise ValueError
    assert not target.exists()
    assert list((tmp_path / "sub").iterdir()) == []


def test_atomic_write_helpers_create_parents_and_overwrite(tmp_path):
    target = tmp_path / "a" / "b" / "f.txt"
    assert atomic_write_text(target, "héllo") == target
    assert target.read_bytes() == "héllo".encode("utf-8")
    assert atomic_write_bytes(target, b"\x00\x01") == target
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]


def test_atomic_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "shared.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not mkstemp's 0600
