"""s2s.decoding.search is the one greedy and beam search of both engines; its behaviour is tested through each
engine's entry points (test_beam.py, test_greedy.py here; tests/runtime/test_search.py for numpy against torch).
Here: that both engines can import it, the torch-free runtime included."""

from __future__ import annotations

import subprocess
import sys


def test_the_shared_search_imports_neither_torch_nor_numpy():
    code = "import sys; sys.modules['torch'] = sys.modules['numpy'] = None; import s2s.decoding.search"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
