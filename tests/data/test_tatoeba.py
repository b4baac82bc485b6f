"""Tests for the Tatoeba corpus: the pinned archive's checksum and mirror, and the split by sentence group."""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

import pytest
from helpers import TATOEBA_MIRROR

from s2s.data.tatoeba import (
    ARCHIVE,
    ATTRIBUTION,
    MANIFEST,
    MIRROR_ENV,
    download_tatoeba,
    prepare_tatoeba,
    read_archive,
    split_pairs,
    tatoeba_paths,
)
from s2s.errors import S2SError


pytestmark = pytest.mark.usefixtures("no_network")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    if not (TATOEBA_MIRROR / ARCHIVE).is_file():
        pytest.skip(f"the Tatoeba archive is not at {TATOEBA_MIRROR} (shared/data/tatoeba beside the repo)")
    folder = tmp_path_factory.mktemp("tatoeba")
    prepare_tatoeba(folder, TATOEBA_MIRROR, progress=False)
    return folder


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_the_split_sizes_are_the_recorded_ones_and_sum_to_the_archive(prepared: Path) -> None:
    manifest = json.loads((prepared / MANIFEST).read_text())
    assert manifest["pairs"] == {"train": 166431, "valid": 1699, "test": 1683}
    assert sum(manifest["pairs"].values()) == 169813
    for name, file in (("train", "train"), ("valid", "dev"), ("test", "test")):
        assert len(_lines(prepared / f"{file}.en")) == len(_lines(prepared / f"{file}.de")) == manifest["pairs"][name]
    assert manifest["attribution"] == ATTRIBUTION
    assert "tatoeba.org" in (prepared / "ABOUT.txt").read_text()


def test_no_sentence_of_a_dev_or_test_pair_occurs_in_training(prepared: Path) -> None:
    for lang in ("en", "de"):
        train = set(_lines(prepared / f"train.{lang}"))
        for held_out in ("dev", "test"):
            leaked = set(_lines(prepared / f"{held_out}.{lang}")) & train
            assert not leaked, f"{held_out}.{lang} shares {len(leaked)} sentences with train.{lang}"
        assert not set(_lines(prepared / f"dev.{lang}")) & set(_lines(prepared / f"test.{lang}"))


def test_the_split_depends_on_the_sentences_not_on_their_order() -> None:
    pairs = [(f"e{i // 3}", f"d{i}") for i in range(600)] + [("shared", "x"), ("other", "x"), ("other", "y")]
    splits = split_pairs(pairs)
    groups = {name: {pairs[i] for i in indices} for name, indices in splits.items()}
    shuffled = pairs[:]
    random.Random(0).shuffle(shuffled)
    again = {name: {shuffled[i] for i in indices} for name, indices in split_pairs(shuffled).items()}
    assert groups == again
    where = {pair: name for name, members in groups.items() for pair in members}
    assert where[("shared", "x")] == where[("other", "x")] == where[("other", "y")]  # one group: linked by "x"
    assert all(where[(f"e{k}", f"d{3 * k}")] == where[(f"e{k}", f"d{3 * k + 2}")] for k in range(200))


def test_a_corrupt_mirror_copy_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / ARCHIVE).write_bytes(b"not the archive")
    with pytest.raises(S2SError, match="checksum mismatch") as error:
        download_tatoeba(tmp_path / "data", mirror, progress=False)
    assert str(mirror / ARCHIVE) in str(error.value)
    assert not (tmp_path / "data" / ARCHIVE).exists()
    assert list((tmp_path / "data").iterdir()) == []


def test_a_mirror_without_the_archive_names_the_folder_and_the_url(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    with pytest.raises(S2SError, match=f"{MIRROR_ENV}={tmp_path}.*has no {ARCHIVE}.*github.com"):
        download_tatoeba(tmp_path / "data", progress=False)


def test_the_archive_is_parsed_into_english_german_pairs(prepared: Path) -> None:
    pairs = read_archive(prepared / ARCHIVE)
    assert len(pairs) == 169813
    assert pairs[0] == ("Hi.", "Hallo!")


def test_files_that_s2s_did_not_write_are_never_overwritten(tmp_path: Path) -> None:
    if not (TATOEBA_MIRROR / ARCHIVE).is_file():
        pytest.skip("needs the Tatoeba mirror")
    (tmp_path / "train.en").write_text("my own notes\n")
    with pytest.raises(S2SError, match="train.en, which s2s did not write"):
        prepare_tatoeba(tmp_path, TATOEBA_MIRROR, progress=False)
    assert (tmp_path / "train.en").read_text() == "my own notes\n"


def test_a_prepared_folder_is_reused_and_a_changed_split_file_is_rewritten(prepared: Path) -> None:
    paths = tatoeba_paths("de", "en", prepared, progress=False)
    assert paths["valid"] == (prepared / "dev.de", prepared / "dev.en")
    before = (prepared / "test.de").stat().st_mtime_ns
    tatoeba_paths("en", "de", prepared, progress=False)
    assert (prepared / "test.de").stat().st_mtime_ns == before  # not written again
    original = (prepared / "dev.en").read_text()
    (prepared / "dev.en").write_text("edited\n")
    tatoeba_paths("en", "de", prepared, TATOEBA_MIRROR, progress=False)
    assert (prepared / "dev.en").read_text() == original


def test_other_languages_are_refused() -> None:
    with pytest.raises(S2SError, match="German-English only.*'fr' and 'en'"):
        tatoeba_paths("fr", "en", "unused")


def test_the_archive_holds_the_attribution_file(prepared: Path) -> None:
    with zipfile.ZipFile(prepared / ARCHIVE) as bundle:
        assert "Attribution: www.manythings.org/anki and tatoeba.org" in bundle.read("_about.txt").decode()


def test_s2s_data_download_tatoeba_splits_from_the_mirror(tmp_path, capsys) -> None:
    if not (TATOEBA_MIRROR / ARCHIVE).is_file():
        pytest.skip("needs the Tatoeba mirror")
    from s2s.cli import main

    assert main(["data", "download", "tatoeba", "--mirror", str(TATOEBA_MIRROR), "--dest", str(tmp_path / "t")]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(listed) == ["ABOUT.txt", "dev.de", "dev.en", "test.de", "test.en", "train.de", "train.en"]
    assert len(_lines(tmp_path / "t" / "dev.de")) == 1699


def test_a_file_in_the_archives_place_that_is_not_the_archive_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / ARCHIVE).write_bytes(b"my own zip")
    with pytest.raises(S2SError, match="exists but is not the pinned Tatoeba archive.*move or delete it"):
        download_tatoeba(tmp_path, TATOEBA_MIRROR, progress=False)
    assert (tmp_path / ARCHIVE).read_bytes() == b"my own zip"
