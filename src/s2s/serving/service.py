"""What `s2s serve` serves, apart from the web framework: the loaded models, the checks on a request, the answers' JSON."""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from s2s.data.readers import text_problem
from s2s.decoding.translation import BatchTranslator, Translation
from s2s.errors import S2SError

FIELDS = ("text", "beam", "nbest", "attention", "model")
EXAMPLE = '{"text": ["a sentence", "another one"], "beam": 5, "nbest": 1, "attention": false}'
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; each has an `s2s serve` flag."""

    max_body_bytes: int = 1 << 20
    max_lines: int = 64  # lines per request
    max_chars: int = 1000  # characters per line
    max_beam: int = 16


@dataclass(frozen=True)
class DecodeKey:
    """Requests with equal keys can share a decode call."""

    model: str
    beam: int
    nbest: int
    attention: bool


class RequestError(Exception):
    """A bad request: the HTTP status and a message that says what is wrong and how to fix it."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class ServedModel:
    name: str
    translator: BatchTranslator  # engine torch: s2s.decoding.translator.Translator; onnx: s2s.runtime.OnnxTranslator
    engine: str = "torch"

    def info(self) -> dict:
        """What GET /models says about this model."""
        checkpoint = self.translator.checkpoint
        return {"name": self.name, "engine": self.engine, **self._described(),
                "parameters": checkpoint["parameters"], "step": checkpoint["step"], "epoch": checkpoint["epoch"],
                "checkpoint": checkpoint["path"], "device": str(self.translator.device),
                "precision": self.translator.precision, "decode": dataclasses.asdict(self.translator.decode)}

    def _described(self) -> dict:
        """Languages, dataset, architecture and attention: from the checkpoint's config (torch) or the export's
        manifest (onnx; an export written before its manifest had a data entry gives null languages and dataset)."""
        if self.engine == "onnx":
            manifest = self.translator.checkpoint["manifest"]
            data, model = manifest.get("data", {}), manifest["model"]
            return {"src": data.get("src"), "tgt": data.get("tgt"), "dataset": data.get("dataset"),
                    "architecture": model.get("name"), "attention": model.get("attention")}
        config = self.translator.checkpoint["config"]
        decoder = getattr(self.translator.model, "decoder", None)
        return {"src": config.data.src, "tgt": config.data.tgt, "dataset": config.data.dataset,
                "architecture": config.model.resolved_name, "attention": getattr(decoder, "attention", None) is not None}


def parse_checkpoint_spec(spec: str) -> tuple[str | None, str]:
    """'NAME=PATH' -> (NAME, PATH); a plain path (even one with '=' in it, when it exists) -> (None, PATH)."""
    name, sep, path = spec.partition("=")
    if not sep or Path(spec).exists() or not MODEL_NAME.fullmatch(name):
        return None, spec
    if not path:
        raise S2SError(f"--checkpoint {spec}: the path after '{name}=' is empty; use --checkpoint NAME=PATH.")
    return name, path


def load_models(specs: list[str], device: str = "auto", precision: str = "fp32", engine: str = "torch",
                limits: Limits | None = None) -> dict[str, ServedModel]:
    """The models to serve, by name, the first one being the default. engine torch: each spec names a checkpoint, run
    folder or pretrained model; onnx: an export folder (s2s export), run by onnxruntime on the CPU. A model without
    NAME= is named after its run (the config's name, or the run the export's manifest records), else the checkpoint
    file's stem or the export folder's name. Every file is checked as it loads (an S2SError names a damaged or
    mismatched one), so serve refuses to start rather than fail each request; with `limits`, so is a --max-beam
    whose longest request would not fit in memory (check_limits)."""
    if engine not in ("torch", "onnx"):
        raise ValueError(f"engine must be torch or onnx, not {engine!r}")
    if engine == "onnx":
        from s2s.runtime.translator import check_onnx_flags

        check_onnx_flags(precision, device)
    models: dict[str, ServedModel] = {}
    for spec in specs:
        name, path = parse_checkpoint_spec(spec)
        translator, run_name = load_translator(path, engine, device, precision)
        name = name or run_name
        if name in models:
            raise S2SError(f"two checkpoints are both named '{name}'; name each one: --checkpoint A=PATH --checkpoint B=PATH.")
        models[name] = ServedModel(name, translator, engine)
    if limits is not None:
        check_limits(models, limits)
    return models


def check_limits(models: dict[str, ServedModel], limits: Limits) -> None:
    """S2SError, naming --max-beam and the largest value that fits, when one line of a model's longest input (its
    max_input_tokens) at the largest beam a request may ask for, attention kept, would take more memory than a
    decoding batch may (s2s.decoding.limits); a request's lines then always fit, in batches of fewer lines if need be."""
    from s2s.decoding.limits import largest_rows, memory_budget, too_large

    for model in models.values():
        translator, budget = model.translator, memory_budget(model.translator.device)
        beam = min(limits.max_beam, len(translator.tgt_vocab))
        line = (translator, translator.max_input_tokens, translator.decode.max_len_ratio, True)  # attention kept
        if largest_rows(*line, budget, translator.decode.no_repeat_ngram) < beam:
            raise S2SError(f"--max-beam {limits.max_beam} is too large for model '{model.name}': "
                           f"{too_large('beam', beam, *line, budget, translator.decode.no_repeat_ngram)}; start s2s "
                           f"serve with a smaller --max-beam.")


def load_translator(path: str, engine: str, device: str, precision: str) -> tuple[BatchTranslator, str]:
    """(translator, its default name) of one --checkpoint path."""
    if engine == "onnx":
        from s2s.runtime.translator import OnnxTranslator

        translator = OnnxTranslator.from_export(path, precision=precision)
        return translator, translator.checkpoint["manifest"].get("source", {}).get("run") or Path(path).resolve().name
    if (Path(path) / "manifest.json").is_file():
        raise S2SError(f"'{path}' is an ONNX export folder (s2s export), not a checkpoint; serve it with --engine onnx.")
    from s2s.decoding.translator import Translator

    translator = Translator.from_checkpoint(path, device=device, precision=precision)
    return translator, translator.checkpoint["config"].name or Path(path).stem


def json_error(error: Exception) -> str:
    """Why json.loads refused a body, in words, with the fix: its own message for a syntax error; bad UTF-8, nesting
    too deep for the parser, or a number too long to read (Python reads integers of up to 4300 digits)."""
    digits = re.search(r"value has (\d+) digits", str(error))  # int() of a number over sys.get_int_max_str_digits()
    if digits:
        return (f"a number in the request body is too large ({digits[1]} digits; at most "
                f"{sys.get_int_max_str_digits()} are read); send numbers such as beam and nbest as small integers.")
    if isinstance(error, json.JSONDecodeError):
        reason = str(error)
    elif isinstance(error, UnicodeDecodeError):
        reason = f"not UTF-8: {error.reason} at byte {error.start}"
    elif isinstance(error, RecursionError):
        reason = "nested too deeply"
    else:
        reason = str(error)
    return f"the request body is not valid JSON ({reason}); send an object such as {EXAMPLE}."


def json_type(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, float) and not math.isfinite(value):  # Python's json reads NaN, Infinity and -Infinity
        return str(value).replace("nan", "NaN").replace("inf", "Infinity")
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object", type(None): "null"}[type(value)]


def parse_translate_request(body: bytes, models: dict[str, ServedModel], limits: Limits) -> tuple[DecodeKey, list[str]]:
    """(decode key, lines) of a POST /translate body, or RequestError: 400 for a body that is not a JSON object, 404 for
    an unknown model, 422 for a field of the wrong type or out of its range."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise RequestError(400, json_error(error)) from None
    if not isinstance(data, dict):
        raise RequestError(400, f"the request body must be a JSON object, not {json_type(data)}; send e.g. {EXAMPLE}.")
    for key in data:
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise RequestError(422, f"unknown field '{key}'{hint}; the fields are {', '.join(FIELDS)}.")
    lines = _lines(data.get("text"), limits)
    name = data.get("model")
    if name is None:
        name = next(iter(models))
    elif not isinstance(name, str):
        raise RequestError(422, f"'model' must be a string (a name from GET /models), not {json_type(name)}.")
    elif name not in models:
        raise RequestError(404, f"unknown model '{name}'; this server has: {', '.join(models)} (GET /models describes them).")
    translator = models[name].translator
    default, vocab_size = translator.decode, len(translator.tgt_vocab)
    largest, why = ((limits.max_beam, "this server's --max-beam") if limits.max_beam <= vocab_size else
                    (vocab_size, f"the target vocabulary of model '{name}': a larger beam holds no other hypotheses"))
    beam = _integer(data, "beam", min(default.beam, vocab_size), 1, largest, why)
    nbest = _integer(data, "nbest", min(default.nbest, beam), 1, beam, "the beam size; ask for a larger beam for more")
    attention = data.get("attention", False)
    if attention is None:
        attention = False
    elif not isinstance(attention, bool):
        raise RequestError(422, f"'attention' must be true or false, not {json_type(attention)}.")
    return DecodeKey(name, beam, nbest, attention), lines


def _lines(text, limits: Limits) -> list[str]:
    if text is None:
        raise RequestError(422, f"'text' is missing: give the sentences to translate as a list of strings, e.g. {EXAMPLE}.")
    if isinstance(text, str):
        raise RequestError(422, "'text' must be a list of strings, not one string; wrap it in a list: {\"text\": [\"...\"]}.")
    if not isinstance(text, list):
        raise RequestError(422, f"'text' must be a list of strings, not {json_type(text)}.")
    if len(text) > limits.max_lines:
        raise RequestError(422, f"'text' has {len(text)} lines; this server takes at most {limits.max_lines} per request "
                                f"(--max-lines): send them in several requests.")
    for number, line in enumerate(text):
        if not isinstance(line, str):
            raise RequestError(422, f"text[{number}] must be a string, not {json_type(line)}.")
        if len(line) > limits.max_chars:
            raise RequestError(422, f"text[{number}] has {len(line)} characters; this server takes at most "
                                    f"{limits.max_chars} per line (--max-chars): split it into sentences.")
        problem = text_problem(line)  # a NUL character, an unpaired surrogate: as the Python API refuses them
        if problem:
            raise RequestError(422, f"text[{number}] {problem}.")
    return text


def _integer(data: dict, field: str, default: int, low: int, high: int, limit: str) -> int:
    value = data.get(field)
    if value is None:
        return default
    if type(value) is not int:  # bool is an int subclass: true is not a beam size
        raise RequestError(422, f"'{field}' must be an integer, not {json_type(value)}.")
    if not low <= value <= high:
        raise RequestError(422, f"'{field}' must be between {low} and {high} ({limit}), got {value}.")
    return value


def translation_json(translation: Translation, attention: bool) -> dict:
    """One line's answer: its best text and score, the n-best list (an empty line gets one empty entry, as in `s2s
    translate --nbest`), its warnings (what was cut or fed as <unk>; Translation.warnings) and, when asked, the
    attention as `s2s translate --attention` writes it."""
    answer = {"text": translation.text, "score": translation.score, "log_prob": translation.log_prob,
              "nbest": [{"text": text, "score": score} for text, score in translation.nbest or [("", 0.0)]],
              "warnings": translation.warnings}
    if attention:
        answer["attention"] = translation.attention_json()
    return answer


def decode(models: dict[str, ServedModel], key: DecodeKey, lines: list[str]) -> list[dict]:
    """The answers to `lines`, one per line, decoded in one translate_detailed call (the batcher's decode)."""
    translations = models[key.model].translator.translate_detailed(lines, beam=key.beam, nbest=key.nbest,
                                                                   return_attention=key.attention)
    return [translation_json(translation, key.attention) for translation in translations]
