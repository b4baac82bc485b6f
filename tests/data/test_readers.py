import gzip

import pytest

from s2s.data.readers import read_lines, read_parallel
from s2s.errors import S2SError


def test_reads_plain_and_gzip_alike(tmp_path):
    (tmp_path / "a.txt").write_text("eins\nzwei\n", encoding="utf-8")
    with gzip.open(tmp_path / "a.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("eins\nzwei\n")
    assert read_lines(tmp_path / "a.txt") == read_lines(tmp_path / "a.txt.gz") == ["eins", "zwei"]


def test_mismatched_line_counts_name_both_files(tmp_path):
    (tmp_path / "s").write_text("a\nb\nc\n")
    (tmp_path / "t").write_text("a\nb\n")
    with pytest.raises(S2SError, match=r"'.*s' has 3 lines, '.*t' has 2"):
        read_parallel(tmp_path / "s", tmp_path / "t")


def test_undecodable_bytes_name_file_and_line(tmp_path):
    (tmp_path / "bad").write_bytes("gut\n".encode() + b"caf\xe9\n")
    with pytest.raises(S2SError, match=r"bad', line 2: not valid UTF-8"):
        read_lines(tmp_path / "bad")


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(S2SError, match="does not exist"):
        read_lines(tmp_path / "nope")
    (tmp_path / "bin").write_bytes(b"ab\x00cd\n")
    with pytest.raises(S2SError, match="NUL bytes"):
        read_lines(tmp_path / "bin")


def test_truncated_gzip_is_a_clear_error(tmp_path):
    data = gzip.compress(("x" * 10000 + "\n").encode() * 50)
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(S2SError, match="cannot be read"):
        read_lines(tmp_path / "cut.gz")
