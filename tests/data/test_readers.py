import gzip

import pytest

from s2s.data.readers import iter_lines, iter_pairs, read_lines, read_parallel
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


@pytest.mark.parametrize("shorter", ["src", "tgt"])
def test_a_length_mismatch_late_in_a_long_gzip_file_names_both_files_and_the_line(tmp_path, shorter):
    lines = {"src": [f"satz {i}" for i in range(30000)], "tgt": [f"sentence {i}" for i in range(30000)]}
    lines[shorter].pop()
    for side in ("src", "tgt"):
        with gzip.open(tmp_path / f"train.{side}.gz", "wt", encoding="utf-8") as handle:
            handle.write("\n".join(lines[side]) + "\n")
    src, tgt = tmp_path / "train.src.gz", tmp_path / "train.tgt.gz"
    short, long = (src, tgt) if shorter == "src" else (tgt, src)
    read = []
    with pytest.raises(S2SError) as error:
        read.extend(iter_pairs(src, tgt))
    assert str(error.value) == (
        f"parallel files differ in length: '{short}' ends after line 29999, but '{long}' goes on ('{src}' has "
        f"{30000 - (shorter == 'src')} lines, '{tgt}' has {30000 - (shorter == 'tgt')}). Line i of one must translate "
        "line i of the other: look for a lost or an extra line (a sentence with a line break inside) before that line.")
    assert len(read) == 29999  # the pairs before the end were streamed out first


def test_lines_are_streamed_up_to_an_undecodable_line(tmp_path):
    (tmp_path / "late").write_bytes(b"eins\nzwei\ndrei \xff\nvier\n")
    lines = iter_lines(tmp_path / "late")
    assert [next(lines), next(lines)] == ["eins", "zwei"]
    with pytest.raises(S2SError, match=r"late', line 3: not valid UTF-8 \(invalid start byte at byte 5\)"):
        next(lines)


def test_empty_parallel_files_are_an_error(tmp_path):
    (tmp_path / "s").write_text("")
    (tmp_path / "t").write_text("")
    with pytest.raises(S2SError, match=r"parallel files '.*s' and '.*t' are empty"):
        read_parallel(tmp_path / "s", tmp_path / "t")


def test_a_folder_is_called_a_folder_and_a_flag_is_named_where_it_gave_the_path(tmp_path):
    with pytest.raises(S2SError) as error:
        read_lines(tmp_path)
    assert str(error.value) == f"data file '{tmp_path}' is a folder, not a text file; check the path in the config's data section."
    with pytest.raises(S2SError) as error:
        read_lines(tmp_path / "nope", flag="--input")
    assert str(error.value) == f"--input file '{tmp_path / 'nope'}' does not exist; give a file to --input."
    (tmp_path / "s").write_text("a\n")
    with pytest.raises(S2SError, match=f"^--ref file '{tmp_path}' is a folder"):
        read_parallel(tmp_path / "s", tmp_path, flags=("--src", "--ref"))
