"""s2s.outputs: what a path is, and writing there without harming it (tests/test_cli_outputs.py runs every command)."""

import os
import socket
import stat
import subprocess
import sys
import threading

import pytest

from s2s.errors import S2SError
from s2s.outputs import Output, check_output_file, kind_of, open_output, replaced_atomically


def test_kind_of_tells_stdout_streams_files_folders_and_special_files(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x")
    (tmp_path / "to-stdout").symlink_to("/dev/stdout")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "socket"))
        kinds = {name: kind_of(tmp_path / name) for name in ("fifo", "file", "to-stdout", "socket", "new")}
    assert kinds == {"fifo": "stream", "file": "file", "to-stdout": "stream", "socket": "special", "new": "file"}
    assert [kind_of(path) for path in ("-", os.devnull, "/dev/stdout", "/dev/fd/1", tmp_path)] == \
        ["stdout", "stream", "stream", "stream", "folder"]


def test_a_replaced_file_keeps_its_mode_and_a_link_keeps_pointing_at_it(tmp_path):
    target = tmp_path / "results" / "out.txt"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    (tmp_path / "latest.txt").symlink_to(target)
    with replaced_atomically(tmp_path / "latest.txt") as handle:
        handle.write("new\n")
    assert (tmp_path / "latest.txt").is_symlink() and target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    with replaced_atomically(tmp_path / "fresh.txt") as handle:  # a new file: 0666 less the umask, as open() makes
        handle.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "fresh.txt").stat().st_mode) == 0o666 & ~umask


def test_a_failed_or_refused_write_leaves_the_old_file_and_nothing_else(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(OSError, match="No space left"):
        with replaced_atomically(target) as handle:
            handle.write("half")
            raise OSError(28, "No space left on device")
    target.chmod(0o444)
    with pytest.raises(PermissionError, match="is read-only"):
        with replaced_atomically(target) as handle:
            handle.write("new\n")
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["out.txt"]
    with pytest.raises(S2SError) as refused:
        check_output_file(Output("--output", target))
    assert str(refused.value) == (f"--output '{target}' is read-only; make it writable (chmod u+w) or choose another "
                                  f"--output.")


def test_a_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    with open_output(Output("--output", fifo)) as handle:
        handle.write("through the pipe\n")
    reader.join(timeout=10)
    assert received == ["through the pipe\n"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_socket_and_stdout_where_it_cannot_go_are_refused(tmp_path):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "socket"))
        with pytest.raises(S2SError) as refused:
            check_output_file(Output("--output", tmp_path / "socket"))
    assert str(refused.value) == (f"--output '{tmp_path / 'socket'}' is a socket; give a regular file, a device such "
                                  f"as /dev/null, or '-' for stdout.")
    with pytest.raises(S2SError) as refused:
        check_output_file(Output("--output", "-", "average.pt", no_stdout="a checkpoint is binary data"))
    assert str(refused.value) == ("--output '-' would write to stdout, but a checkpoint is binary data; give a file "
                                  "name (e.g. average.pt).")


WRITE_TO_STDOUT = """
from s2s.outputs import Output, open_output
with open_output(Output("--output", "/dev/stdout")) as handle:
    handle.write("new\\n")
"""


def test_dev_stdout_writes_where_the_shell_sent_stdout_and_appends_as_it_asked(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("previous\n")
    with open(log, "a") as stdout:  # the shell's `>> log.txt`
        subprocess.run([sys.executable, "-c", WRITE_TO_STDOUT], stdout=stdout, check=True)
    assert log.read_text() == "previous\nnew\n" and not log.is_symlink()
    assert os.path.islink("/dev/stdout")  # not replaced by a file


def test_a_sigterm_mid_write_leaves_no_temporary_file_and_exits_as_terminated(tmp_path):
    """raise_on_sigterm (the s2s program and the scripts call it): SIGTERM cleans up as Ctrl-C does; the default
    SIGTERM would leave the half-written temporary file beside the target."""
    code = (f"import os, signal\n"
            f"from s2s.errors import raise_on_sigterm\n"
            f"from s2s.outputs import replaced_atomically\n"
            f"raise_on_sigterm()\n"
            f"with replaced_atomically({str(tmp_path / 'out.txt')!r}) as handle:\n"
            f"    handle.write('half')\n"
            f"    os.kill(os.getpid(), signal.SIGTERM)\n"
            f"    handle.write('never')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Terminated" in done.stderr
    assert list(tmp_path.iterdir()) == []
