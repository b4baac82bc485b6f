"""Serving tests: two tiny trained runs (with and without attention), the app, and a real server in a thread."""

import contextlib
import threading

import pytest

from s2s.training.trainer import Trainer


@pytest.fixture(autouse=True, scope="module")
def one_thread(one_torch_thread):
    """Tiny models: one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def runs(tmp_path_factory, make_config):
    """{"attn": run folder of a gru_attn model, "plain": of a gru model without attention}, a few steps trained."""
    folder = tmp_path_factory.mktemp("serve")
    for name, model in (("attn", {}), ("plain", {"attention": "none"})):
        Trainer(make_config(folder / name, model=model), folder / name, log=lambda message: None).train()
    return {name: folder / name for name in ("attn", "plain")}


@pytest.fixture(scope="session")
def models(runs):
    from s2s.serving.service import load_models

    return load_models([str(runs["attn"] / "best.pt"), f"plain={runs['plain']}"], device="cpu")


@pytest.fixture(scope="session")
def live_server():
    """live_server(app): a context manager that serves `app` with uvicorn on a free local port, yielding its URL."""
    import uvicorn

    from s2s.serving.server import open_socket, url_of

    @contextlib.contextmanager
    def serve(app):
        sock = open_socket("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            while not server.started:
                assert thread.is_alive(), "the server thread died while starting"
                threading.Event().wait(0.01)
            yield url_of(sock)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()

    return serve
