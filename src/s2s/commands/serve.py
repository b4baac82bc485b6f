"""s2s serve: translations over HTTP, a JSON API and a web page (s2s.serving does the work)."""

from __future__ import annotations

from s2s.commands.numbers import at_least
from s2s.commands.paths import checkpoint_inputs
from s2s.config import DECODE_MAXIMUM

SERVE_DEFAULT = ("de-en", "en-de")  # s2s serve without --checkpoint: the everyday models (pretrained short names)


def add_parser(commands) -> None:
    serve = commands.add_parser(
        "serve", help="serve translations over HTTP: a JSON API and a web page with the attention map",
        description="Serve one or more checkpoints: POST /translate (JSON), GET /models, GET /health, a web page at / "
                    "and the API schema at /docs. Lines of concurrent requests are decoded together. Needs the web "
                    "extra: pip install -e '.[serve]'. Binds to localhost by default; for public use put a reverse "
                    "proxy with TLS, authentication and rate limits in front (docs/serving.md).")
    serve.add_argument("--checkpoint", nargs="+", action="extend", metavar="[NAME=]CKPT",
                       help="a .pt file, run folder or pretrained model (folder or name), or with --engine onnx an "
                            "export folder (s2s export) or pretrained model, optionally named (NAME=PATH); several "
                            "serve several models, chosen per request by name (the first is the default). Default: "
                            f"the everyday pretrained models, {' '.join(SERVE_DEFAULT)}")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=at_least(0, note=" (0 picks a free port)", most=65535), default=8080, help="port (default 8080)")
    serve.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N")
    serve.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8", "int8-linear"],
                       help="as for s2s translate")
    serve.add_argument("--engine", choices=["torch", "onnx"], default="torch",
                       help="torch (default): checkpoints; onnx: export folders (s2s export) or pretrained models "
                            "decoded with onnxruntime on the CPU without torch (pip install -e '.[runtime]'); "
                            "--precision fp32 or int8")
    serve.add_argument("--max-batch-wait-ms", type=at_least(0.0, float, most=60_000.0), default=5.0, metavar="MS",
                       help="how long a request waits for others to share its decode batch (default 5)")
    serve.add_argument("--max-batch-lines", type=at_least(1, most=100_000), default=64, metavar="N",
                       help="lines per decode batch (default 64)")
    serve.add_argument("--no-batching", action="store_true", help="decode every request on its own (for comparison)")
    serve.add_argument("--max-lines", type=at_least(1, most=100_000), default=64, metavar="N", help="lines per request (default 64)")
    serve.add_argument("--max-chars", type=at_least(1, most=1_000_000), default=1000, metavar="N", help="characters per line (default 1000)")
    serve.add_argument("--max-beam", type=at_least(1, most=DECODE_MAXIMUM["beam"]), default=16, metavar="N", help="largest beam a request may ask for "
                       "(default 16)")
    serve.add_argument("--max-body-bytes", type=at_least(1, most=1 << 30), default=1 << 20, metavar="N",
                       help="largest request body (default 1048576)")


def run(args) -> int:
    from s2s.serving.server import require_web_stack, serve
    from s2s.serving.service import Limits, parse_checkpoint_spec

    require_web_stack()  # the missing extra is named first, as translate names a missing torch
    if not args.checkpoint:
        args.checkpoint = list(SERVE_DEFAULT)
    checkpoint_inputs("--checkpoint", [parse_checkpoint_spec(spec)[1] for spec in args.checkpoint])
    limits = Limits(max_body_bytes=args.max_body_bytes, max_lines=args.max_lines, max_chars=args.max_chars,
                    max_beam=args.max_beam)
    serve(args.checkpoint, args.host, args.port, args.device, args.precision, limits, args.max_batch_wait_ms,
          args.max_batch_lines, batching=not args.no_batching, engine=args.engine)
    return 0
