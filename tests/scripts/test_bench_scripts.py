"""The benchmark scripts' shared behaviour: bad input is one `error:` line and exit status 2, not a traceback."""

import subprocess
import sys

import pytest
from helpers import REPO


@pytest.mark.parametrize("args, message", [
    (["bench_decode.py", "--checkpoint", "runs/no-such-run/best.pt"], "error: checkpoint 'runs/no-such-run/best.pt' does not exist"),
    (["select_decoding.py", "--run", "runs/no-such-run"], "error: "),
])
def test_a_missing_checkpoint_is_one_error_line(args, message):
    done = subprocess.run([sys.executable, str(REPO / "scripts" / args[0]), *args[1:]], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and "Traceback" not in done.stderr
