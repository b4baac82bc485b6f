"""`s2s serve` from the command line: it serves, and a missing web stack, a taken port or clashing names are clear errors."""

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from helpers import REPO

from s2s.cli import main
from s2s.errors import S2SError
from s2s.serving.service import parse_checkpoint_spec


def test_serve_answers_over_http_and_ctrl_c_stops_it(runs):
    command = [sys.executable, "-m", "s2s", "serve", "--checkpoint", f"numbers={runs['attn']}", "--port", "0",
               "--device", "cpu"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"})
    try:
        model_line, serving_line = server.stdout.readline(), server.stdout.readline()
        assert model_line.startswith("model numbers: en -> de, gru_attn, 12,452 parameters, step "), server.stderr.read()
        assert serving_line.startswith("serving on http://127.0.0.1:")
        url = serving_line.split()[2].rstrip("/")
        assert httpx.get(f"{url}/health", timeout=30).json()["models"] == ["numbers"]
        answer = httpx.post(f"{url}/translate", json={"text": ["forty two"]}, timeout=30).json()
        assert answer["model"] == "numbers" and len(answer["translations"]) == 1
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 130  # as every s2s command interrupted by Ctrl-C
    assert server.stderr.read() == "interrupted\n"


def test_ctrl_c_ends_with_status_130_even_when_asyncio_swallows_uvicorns_reraise(monkeypatch, capsys, runs):
    """uvicorn re-raises a caught SIGINT after its shutdown, but under load asyncio swallowed it once (exit 0)."""
    import uvicorn

    def run_then_return_quietly(self, sockets=None):
        self.handle_exit(signal.SIGINT, None)  # Ctrl-C caught by uvicorn's handler, then a normal return
        for sock in sockets or []:
            sock.close()

    monkeypatch.setattr(uvicorn.Server, "run", run_then_return_quietly)
    assert main(["serve", "--checkpoint", str(runs["attn"]), "--port", "0", "--device", "cpu"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_without_the_web_stack_the_error_says_how_to_install_it(monkeypatch, capsys, runs):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fastapi now raises ImportError
    assert main(["serve", "--checkpoint", str(runs["attn"])]) == 2
    assert capsys.readouterr().err == ("s2s serve: error: s2s serve needs fastapi, which is not installed; install the "
                                       "web extra with pip install -e '.[serve]' (from a checkout of s2s).\n")


def test_a_taken_port_is_a_clear_error(capsys, runs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--checkpoint", str(runs["attn"]), "--port", str(port)]) == 2
    assert capsys.readouterr().err == (f"s2s serve: error: cannot listen on 127.0.0.1 port {port}: Address already in "
                                       f"use; choose another --port (0 picks a free one) or --host.\n")


def test_two_models_of_one_name_are_refused(capsys, runs):
    assert main(["serve", "--checkpoint", str(runs["attn"]), "--checkpoint", f"tiny={runs['plain']}", "--port", "0"]) == 2
    assert capsys.readouterr().err == ("s2s serve: error: two checkpoints are both named 'tiny'; name each one: "
                                       "--checkpoint A=PATH --checkpoint B=PATH.\n")


def test_checkpoint_specs(tmp_path):
    odd = tmp_path / "a=b.pt"
    odd.touch()
    assert parse_checkpoint_spec("runs/x/best.pt") == (None, "runs/x/best.pt")
    assert parse_checkpoint_spec("de-en=runs/x/best.pt") == ("de-en", "runs/x/best.pt")
    assert parse_checkpoint_spec(str(odd)) == (None, str(odd))  # an existing path with '=' in it is a path
    with pytest.raises(S2SError, match=r"--checkpoint de=: the path after 'de=' is empty; use --checkpoint NAME=PATH."):
        parse_checkpoint_spec("de=")


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_serve_without_a_checkpoint_serves_the_everyday_models(monkeypatch, engine):
    import s2s.serving.server as server

    served = {}
    monkeypatch.setattr(server, "serve", lambda specs, *args, **options: served.update(specs=specs, **options))
    monkeypatch.setattr("s2s.commands.serve.checkpoint_inputs", lambda flag, paths: [])  # the shipped models need not exist here
    assert main(["serve", "--engine", engine]) == 0
    assert served["specs"] == ["de-en", "en-de"] and served["engine"] == engine
