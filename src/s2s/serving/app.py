"""The FastAPI app of `s2s serve`: POST /translate, GET /models, GET /health, the web page at / and the schema at /docs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import sys
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from s2s.errors import S2SError
from s2s.version import __version__
from s2s.serving.batcher import Batcher
from s2s.serving.service import Limits, RequestError, ServedModel, decode, parse_translate_request

REQUEST_SCHEMA = {
    "type": "object", "required": ["text"], "additionalProperties": False,
    "properties": {
        "text": {"type": "array", "items": {"type": "string"}, "description": "sentences to translate, one per item"},
        "beam": {"type": "integer", "minimum": 1, "description": "beam size (1: greedy); default: the model's decode.beam"},
        "nbest": {"type": "integer", "minimum": 1, "description": "hypotheses per sentence, at most beam; default 1"},
        "attention": {"type": "boolean", "default": False, "description": "also return each sentence's attention"},
        "model": {"type": "string", "description": "a name from GET /models; default: the first model served"},
    },
    "example": {"text": ["forty two"], "beam": 5, "nbest": 2, "attention": True},
}
TRANSLATION_SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "score": {"type": "number", "description": "length-normalised log-probability (beam) or log-probability (greedy)"},
        "log_prob": {"type": "number"},
        "nbest": {"type": "array", "items": {"type": "object", "properties": {"text": {"type": "string"},
                                                                            "score": {"type": "number"}}}},
        "warnings": {"type": "array", "items": {"type": "string"},
                     "description": "what was dropped or guessed: source tokens cut at the length limit, or outside "
                                    "the model's vocabulary (translated as <unk>); empty when nothing was"},
        "attention": {"type": "object", "description": "only when asked", "properties": {
            "src": {"type": "array", "items": {"type": "string"}, "description": "source tokens"},
            "out": {"type": "array", "items": {"type": "string"}, "description": "output tokens (+ </s> when it ended)"},
            "weights": {"type": ["array", "null"], "description": "[out][src]; null for a model without attention"}}},
    },
}
RESPONSE_SCHEMA = {
    "type": "object",
    "properties": {"model": {"type": "string"}, "beam": {"type": "integer"}, "nbest": {"type": "integer"},
                   "translations": {"type": "array", "items": TRANSLATION_SCHEMA, "description": "in input order"}},
}
ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string", "description": "what is wrong, how to fix it"}}}
ERRORS = {status: {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
          for status, description in [(400, "the body is not a JSON object"), (404, "unknown model"),
                                      (413, "the body is too large"), (422, "a field of the wrong type or out of range")]}


def create_app(models: dict[str, ServedModel], limits: Limits = Limits(), max_batch_wait_ms: float = 5.0,
               max_batch_lines: int = 64, batching: bool = True) -> FastAPI:
    batcher = Batcher(functools.partial(decode, models), max_batch_wait_ms / 1000, max_batch_lines, batching)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        worker = asyncio.create_task(batcher.run())
        yield
        worker.cancel()

    app = FastAPI(title="s2s", version=__version__, lifespan=lifespan,
                  description="Translate with recurrent sequence-to-sequence models. The web page is at /.")
    app.state.batcher = batcher

    @app.exception_handler(RequestError)
    async def request_error(request: Request, error: RequestError):
        return JSONResponse({"error": error.message}, status_code=error.status)

    @app.exception_handler(S2SError)
    async def refused_decode(request: Request, error: S2SError):
        """A decode the translator refused: the memory budget, checked against --max-beam at startup, has shrunk
        since (s2s.decoding.limits). The request may succeed later, or with a smaller beam."""
        return JSONResponse({"error": str(error)}, status_code=503)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        message = f"no {request.method} {request.url.path} here; see /docs" if error.status_code in (404, 405) else error.detail
        return JSONResponse({"error": message}, status_code=error.status_code, headers=error.headers)

    def get(path: str, **options):
        """A GET route that answers HEAD too (headers only, as a static file server does; not in the schema twice)."""
        def register(endpoint):
            app.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False,
                              response_class=options.get("response_class", JSONResponse))
            return app.get(path, **options)(endpoint)
        return register

    @get("/", response_class=HTMLResponse, summary="the web page: translate a sentence and see its attention")
    async def page():
        return resources.files("s2s.serving").joinpath("static/index.html").read_text(encoding="utf-8")

    @get("/health", summary="liveness, the models served and the batching counters")
    async def health():
        return {"status": "ok", "models": list(models), "batching": batching, **dataclasses.asdict(batcher.stats)}

    @get("/models", summary="the models: languages, architecture, parameters, checkpoint step, decode defaults")
    async def model_info():
        return {"default": next(iter(models)), "models": [model.info() for model in models.values()],
                "limits": dataclasses.asdict(limits)}

    @app.post("/translate", summary="translate sentences", responses=ERRORS,
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": REQUEST_SCHEMA}}},
                             "responses": {"200": {"description": "one translation per input line, in input order",
                                                   "content": {"application/json": {"schema": RESPONSE_SCHEMA}}}}})
    async def translate(request: Request):
        key, lines = parse_translate_request(await read_body(request, limits.max_body_bytes), models, limits)
        translations = await batcher.submit(key, lines) if lines else []
        return {"model": key.model, "beam": key.beam, "nbest": key.nbest, "translations": translations}

    return app


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, or a 413 RequestError as soon as it is over max_bytes (by its Content-Length or as it streams in)."""
    too_large = RequestError(413, f"the request body is over {max_bytes} bytes (this server's --max-body-bytes); send "
                                  f"fewer or shorter lines per request.")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise too_large
    except ClientDisconnect:  # nobody is left to answer: one line in the log, not uvicorn's traceback
        client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
        print(f"s2s serve: {client} disconnected while sending its request ({len(body)} bytes of {request.method} "
              f"{request.url.path} read); nothing was translated.", file=sys.stderr, flush=True)
        raise RequestError(400, "the client disconnected before its request body arrived.") from None
    return bytes(body)
