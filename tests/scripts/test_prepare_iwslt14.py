"""scripts/prepare_iwslt14.py on a small archive laid out as the IWSLT'14 de-en release: fairseq's split, raw text."""

import hashlib
import io
import subprocess
import sys
import tarfile

import pytest
from helpers import REPO

SCRIPT = REPO / "scripts" / "prepare_iwslt14.py"
TEST_SETS = ["IWSLT14.TED.dev2010", "IWSLT14.TEDX.dev2012", "IWSLT14.TED.tst2010", "IWSLT14.TED.tst2011",
             "IWSLT14.TED.tst2012"]
# pairs the cleaning drops whatever counts the tokens: a blank side, a ratio of 2, 176 tokens
DROPPED = [("", "nothing"), ("eins zwei drei vier", "one two"), (" ".join(["wort"] * 176), " ".join(["word"] * 176))]
# kept by words split on spaces (3 and 3), dropped by Moses tokens (6 and 3)
MOSES_ONLY = ("Ja, ja, ja.", "Yes yes yes")


def header(talk: int, language: str) -> list[str]:
    return [f"<url>http://www.ted.com/talks/talk{talk}.html</url>", f"<keywords>talks, {language}</keywords>",
            f"<talkid>{talk}</talkid>", f"<title>Titel {talk} {language}</title>",
            f"<description>Beschreibung {talk} {language}</description>"]


def xml(name: str, language: str, segments: list[str]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<mteval>", f'<srcset setid="{name}" srclang="{language}">',
             '<doc docid="1" genre="lectures">', "<talkid>1</talkid>", "<title>Ein Titel</title>"]
    lines += [f'<seg id="{i}"> {text} </seg>' for i, text in enumerate(segments, start=1)]
    return "\n".join(lines + ["</doc>", "</srcset>", "</mteval>"]) + "\n"


@pytest.fixture
def archive(tmp_path):
    """de-en.tgz: two talks of 30 sentence pairs each (with DROPPED and MOSES_ONLY among the first), 5 test sets."""
    pairs = DROPPED + [MOSES_ONLY] + [(f"Satz {i} auf Deutsch .", f"Sentence {i} in English .") for i in range(56)]
    files = {}
    for language, index in (("de", 0), ("en", 1)):
        lines = header(1, language) + [pair[index] for pair in pairs[:30]] + header(2, language) + [pair[index] for pair in pairs[30:]]
        files[f"de-en/train.tags.de-en.{language}"] = "\n".join(lines) + "\n"
        for name in TEST_SETS:
            files[f"de-en/{name}.de-en.{language}.xml"] = xml(name, language, [f"{name} {language} {i} it’s" for i in range(3)])
    path = tmp_path / "de-en.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def prepare(*args, pythonpath=""):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "", "PYTHONPATH": str(pythonpath)})  # the venv's python: its sacremoses


def read(folder, name):
    return (folder / name).read_text(encoding="utf-8").splitlines()


def test_the_split_is_fairseqs_on_untokenized_text(tmp_path, archive):
    pytest.importorskip("sacremoses")  # a dev dependency
    done = prepare("--archive", archive, "--dest", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert f"{archive}: {archive.stat().st_size:,} bytes, SHA-256 {digest}" in done.stderr
    assert "cleaning the training pairs by Moses tokens (sacremoses)" in done.stderr
    # 2 x 2 title and description lines + 60 pairs, 4 dropped: 60 pairs; every 23rd (23, 46) is validation
    cleaned = ["Titel 1 de", "Beschreibung 1 de"] + [f"Satz {i} auf Deutsch ." for i in range(26)] + [
        "Titel 2 de", "Beschreibung 2 de"] + [f"Satz {i} auf Deutsch ." for i in range(26, 56)]
    assert len(cleaned) == 60
    out = tmp_path / "out"
    assert read(out, "valid.de") == [cleaned[22], cleaned[45]] == ["Satz 20 auf Deutsch .", "Satz 41 auf Deutsch ."]
    assert read(out, "train.de") == [line for i, line in enumerate(cleaned, start=1) if i % 23]
    assert read(out, "train.en")[:3] == ["Titel 1 en", "Beschreibung 1 en", "Sentence 0 in English ."]
    assert read(out, "test.en") == [f"{name} en {i} it's" for name in TEST_SETS for i in range(3)]
    assert len(read(out, "test.de")) == 15
    assert "train 58 pairs, valid 2 pairs, test 15 pairs (fairseq's split: train 160,239, valid 7,283, test 6,750)" in done.stderr


def test_without_sacremoses_words_split_on_spaces_are_counted(tmp_path, archive):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "sacremoses.py").write_text("raise ImportError('hidden for the test')\n")
    done = prepare("--archive", archive, "--dest", tmp_path / "out", pythonpath=hidden)
    assert done.returncode == 0, done.stderr
    assert "cleaning the training pairs by words split on spaces (sacremoses is not installed)" in done.stderr
    assert read(tmp_path / "out", "train.de")[2] == MOSES_ONLY[0]  # 3 words a side: kept
    assert "train 59 pairs, valid 2 pairs" in done.stderr


def test_a_wrong_checksum_or_another_archive_writes_nothing(tmp_path, archive):
    done = prepare("--mirror", archive.parent, "--dest", tmp_path / "out", "--sha256", "0" * 64)
    assert done.returncode == 1 and "SHA-256" in done.stderr and f"not the expected {'0' * 64}" in done.stderr
    assert not (tmp_path / "out").exists()
    other = tmp_path / "other.tgz"
    with tarfile.open(other, "w:gz") as tar:
        tar.add(SCRIPT, arcname="de-en/README")
    done = prepare("--archive", other, "--dest", tmp_path / "out")
    assert done.returncode == 1
    assert done.stderr.strip().endswith(f"prepare_iwslt14: error: {other} has no train.tags.de-en.de; is it the "
                                        "IWSLT'14 German-English release (de-en.tgz)?")
