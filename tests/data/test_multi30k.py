"""Tests for the Multi30k download: checksums, atomic writes, mirror and offline errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from s2s.data.multi30k import (
    LANGUAGES,
    MIRROR_ENV,
    SHA256,
    SPLITS,
    URL,
    download_multi30k,
    multi30k_paths,
)
from s2s.errors import S2SError

REAL_MIRROR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "multi30k"
LINES = {"train": 29000, "valid": 1014, "test": 1000}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


pytestmark = pytest.mark.usefixtures("no_network")  # tests/data/conftest.py


@pytest.fixture
def real_mirror() -> Path:
    if not REAL_MIRROR.is_dir():
        pytest.skip(f"Multi30k files not found at {REAL_MIRROR} (expected shared/data/multi30k beside the repo)")
    return REAL_MIRROR


@pytest.fixture
def fake_mirror(tmp_path: Path) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    return folder


def test_checksum_table_matches_real_files(real_mirror: Path) -> None:
    assert set(SHA256) == {f"{split}.{lang}.gz" for split in SPLITS for lang in LANGUAGES}
    for name, expected in SHA256.items():
        assert _sha(real_mirror / name) == expected, name


def test_mirror_pair_gives_six_verified_files(real_mirror: Path, tmp_path: Path) -> None:
    dest = tmp_path / "multi30k"
    paths = multi30k_paths("de", "en", dest, mirror=real_mirror, progress=False)
    assert set(paths) == {"train", "valid", "test"}
    assert paths["valid"] == (dest / "val.de.gz", dest / "val.en.gz")
    assert paths["test"] == (dest / "test_2016_flickr.de.gz", dest / "test_2016_flickr.en.gz")
    assert sorted(os.listdir(dest)) == sorted(p.name for pair in paths.values() for p in pair)
    for key, pair in paths.items():
        for path in pair:
            assert _sha(path) == SHA256[path.name]
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                assert sum(1 for _ in handle) == LINES[key], path.name


def test_mirror_from_environment_variable(real_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(real_mirror))
    files = download_multi30k(tmp_path, languages=("fr",), splits=("val",), progress=False)
    assert files == {"val.fr.gz": tmp_path / "val.fr.gz"}
    assert _sha(tmp_path / "val.fr.gz") == SHA256["val.fr.gz"]


def test_second_call_does_not_copy_again(real_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = multi30k_paths("de", "en", tmp_path, mirror=real_mirror, progress=False)
    mtimes = {p: p.stat().st_mtime_ns for pair in first.values() for p in pair}

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("copied although the files were already in place")

    monkeypatch.setattr(shutil, "copyfileobj", refuse)
    assert multi30k_paths("de", "en", tmp_path, mirror=real_mirror, progress=False) == first
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_checksum_mismatch_leaves_nothing(fake_mirror: Path, tmp_path: Path) -> None:
    (fake_mirror / "train.de.gz").write_bytes(gzip.compress(b"Ein anderer Satz.\n"))
    dest = tmp_path / "dest"
    with pytest.raises(S2SError) as caught:
        download_multi30k(dest, mirror=fake_mirror, languages=("de",), splits=("train",), progress=False)
    message = str(caught.value)
    assert "train.de.gz" in message and "checksum" in message.lower()
    assert SHA256["train.de.gz"] in message
    assert os.listdir(dest) == []


def test_truncated_mirror_file_is_rejected(real_mirror: Path, fake_mirror: Path, tmp_path: Path) -> None:
    data = (real_mirror / "val.en.gz").read_bytes()
    (fake_mirror / "val.en.gz").write_bytes(data[: len(data) // 2])
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "val.en.gz").write_bytes(b"an older corrupt copy")
    with pytest.raises(S2SError, match="(?i)checksum"):
        download_multi30k(dest, mirror=fake_mirror, languages=("en",), splits=("val",), progress=False)
    assert os.listdir(dest) == []


def test_missing_mirror_file_is_named(fake_mirror: Path, tmp_path: Path) -> None:
    (fake_mirror / "val.en.gz").write_bytes(b"")
    with pytest.raises(S2SError) as caught:
        download_multi30k(tmp_path / "dest", fake_mirror, languages=("en", "cs"), splits=("val",), progress=False)
    message = str(caught.value)
    assert str(fake_mirror / "val.cs.gz") in message
    assert "val.en.gz" not in message


def test_corrupt_file_in_dest_is_replaced(real_mirror: Path, tmp_path: Path) -> None:
    (tmp_path / "val.cs.gz").write_bytes(b"corrupt")
    download_multi30k(tmp_path, mirror=real_mirror, languages=("cs",), splits=("val",), progress=False)
    assert _sha(tmp_path / "val.cs.gz") == SHA256["val.cs.gz"]
    assert os.listdir(tmp_path) == ["val.cs.gz"]


def test_network_download_verifies_and_names_files(
    real_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested = []

    class Response(io.BytesIO):
        headers: dict[str, str] = {}

    def fake_urlopen(url: str, timeout: float) -> Response:
        requested.append(url)
        return Response((real_mirror / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    files = download_multi30k(tmp_path, languages=("de",), splits=("val", "test_2016_flickr"), progress=False)
    assert requested == [URL.format(split="val", lang="de"), URL.format(split="test_2016_flickr", lang="de")]
    assert sorted(os.listdir(tmp_path)) == sorted(files) == ["test_2016_flickr.de.gz", "val.de.gz"]


def test_offline_error_explains_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(S2SError) as caught:
        download_multi30k(tmp_path, languages=("en",), splits=("train",), progress=False)
    message = str(caught.value)
    assert "--mirror" in message and MIRROR_ENV in message
    assert URL.format(split="train", lang="en") in message
    assert "Temporary failure in name resolution" in message
    assert os.listdir(tmp_path) == []


def test_unknown_language_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(S2SError) as caught:
        multi30k_paths("de", "xx", tmp_path / "dest", progress=False)
    message = str(caught.value)
    assert "'xx'" in message and all(lang in message for lang in LANGUAGES)
    assert not (tmp_path / "dest").exists()


def test_unknown_split_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(S2SError, match="test_2016_flickr") as caught:
        download_multi30k(tmp_path, splits=("test",), progress=False)
    assert "'test'" in str(caught.value)


def test_same_source_and_target_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(S2SError, match="different"):
        multi30k_paths("en", "en", tmp_path, progress=False)

