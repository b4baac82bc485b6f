"""Start `s2s serve`: check that the web stack is installed, bind the address, load the models, run uvicorn."""

from __future__ import annotations

import importlib
import signal
import socket

from s2s.errors import S2SError
from s2s.serving.service import Limits, load_models


def require_web_stack() -> None:
    missing = []
    for module in ("fastapi", "uvicorn"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise S2SError(f"s2s serve needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
                       f"installed; install the web extra with pip install -e '.[serve]' (from a checkout of s2s).")


def open_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port); port 0 picks a free one. A clear error when the address is taken or unknown."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise S2SError(f"cannot listen on {host} port {port}: {error.strerror or error}; choose another --port "
                       f"(0 picks a free one) or --host.") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(checkpoints: list[str], host: str = "127.0.0.1", port: int = 8080, device: str = "auto",
          precision: str = "fp32", limits: Limits = Limits(), max_batch_wait_ms: float = 5.0, max_batch_lines: int = 64,
          batching: bool = True, engine: str = "torch") -> None:
    """Serve until interrupted; prints each model and then the address ('serving on http://HOST:PORT/ ...').
    engine: torch (checkpoints) or onnx (export folders, see load_models)."""
    require_web_stack()
    import uvicorn

    from s2s.serving.app import create_app

    sock = open_socket(host, port)
    models = load_models(checkpoints, device, precision, engine, limits)
    app = create_app(models, limits, max_batch_wait_ms, max_batch_lines, batching)
    for model in models.values():
        info = model.info()
        parameters = "?" if info["parameters"] is None else f"{info['parameters']:,}"  # onnx without the onnx package
        print(f"model {info['name']}: {info['src']} -> {info['tgt']}, {info['architecture']}, {parameters} "
              f"parameters, step {info['step']}, {info['device']} {info['precision']} ({info['engine']})")
    batching_note = f"batching up to {max_batch_lines} lines, {max_batch_wait_ms:g} ms wait" if batching else "no batching"
    print(f"serving on {url_of(sock)}/ (API schema at /docs; {batching_note}); Ctrl-C stops", flush=True)
    class Server(uvicorn.Server):
        """uvicorn re-raises a Ctrl-C after its graceful shutdown, but asyncio can swallow it (under load the process
        then exited 0); remember it, so that s2s serve ends as every interrupted s2s command does (status 130)."""
        interrupted = False

        def handle_exit(self, sig, frame) -> None:
            self.interrupted |= sig == signal.SIGINT
            super().handle_exit(sig, frame)

    server = Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
    if server.interrupted:
        raise KeyboardInterrupt
