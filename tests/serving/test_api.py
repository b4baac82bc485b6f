"""The HTTP API: every endpoint, answers equal to the Translator's and to `s2s translate`, every limit a clear 4xx."""

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from helpers import REPO

from s2s.checkpoint import load_checkpoint
from s2s.serving.app import create_app
from s2s.serving.service import Limits

LIMITS = Limits(max_body_bytes=2000, max_lines=4, max_chars=50, max_beam=5)
LINES = ["forty two", "", "seven hundred one", "nine"]


@pytest.fixture(scope="module")
def client(models):
    with TestClient(create_app(models, LIMITS, max_batch_wait_ms=1)) as client:
        yield client


def expected(models, name, lines, beam, nbest, attention):
    """What the Translator itself answers, in the API's form."""
    translations = models[name].translator.translate_detailed(lines, beam=beam, nbest=nbest, return_attention=attention)
    answers = []
    for t in translations:
        answer = {"text": t.text, "score": t.score, "log_prob": t.log_prob,
                  "nbest": [{"text": text, "score": score} for text, score in t.nbest or [("", 0.0)]],
                  "warnings": t.warnings}
        if attention:
            answer["attention"] = t.attention_json()
        answers.append(answer)
    return answers


def test_health(client):
    assert client.get("/health").json() == {"status": "ok", "models": ["tiny", "plain"], "batching": True,
                                            "requests": 0, "lines": 0, "decode_calls": 0}


def test_models_describe_languages_parameters_step_and_decode_defaults(client, runs):
    answer = client.get("/models").json()
    assert answer["default"] == "tiny"
    assert answer["limits"] == {"max_body_bytes": 2000, "max_lines": 4, "max_chars": 50, "max_beam": 5}
    tiny, plain = answer["models"]
    payload = load_checkpoint(runs["attn"] / "best.pt")
    assert tiny == {"name": "tiny", "engine": "torch", "src": "en", "tgt": "de", "dataset": "numbers", "architecture": "gru_attn",
                    "attention": True, "parameters": sum(w.numel() for w in payload["model"].values()),
                    "step": payload["step"], "epoch": payload["epoch"], "checkpoint": str(runs["attn"] / "best.pt"),
                    "device": "cpu", "precision": "fp32",
                    "decode": {"beam": 1, "nbest": 1, "length_penalty": 1.0, "max_len_ratio": 2.0, "no_repeat_ngram": 0,
                               "batch_size": 16}}
    assert (plain["name"], plain["architecture"], plain["attention"], plain["checkpoint"]) == \
        ("plain", "gru", False, str(runs["plain"]))


def test_the_page_is_one_self_contained_html_file(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert 'id="source"' in page and 'id="translate"' in page and 'href="/models"' in page
    assert "<script src" not in page and "<link" not in page and "http://" not in page and "https://" not in page


def test_the_openapi_schema_documents_the_translate_body(client):
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/translate"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["text"] and set(body["properties"]) == {"text", "beam", "nbest", "attention", "model"}


@pytest.mark.parametrize("beam, nbest, attention", [(1, 1, False), (3, 2, True), (5, 5, True)])
def test_answers_equal_the_translators_in_input_order(client, models, beam, nbest, attention):
    response = client.post("/translate", json={"text": LINES, "beam": beam, "nbest": nbest, "attention": attention})
    assert response.status_code == 200
    assert response.json() == {"model": "tiny", "beam": beam, "nbest": nbest,
                               "translations": expected(models, "tiny", LINES, beam, nbest, attention)}


def test_defaults_come_from_the_checkpoint_and_a_model_is_chosen_by_name(client, models):
    answer = client.post("/translate", json={"text": ["forty two"], "model": "plain", "attention": True}).json()
    assert (answer["model"], answer["beam"], answer["nbest"]) == ("plain", 1, 1)
    assert answer["translations"] == expected(models, "plain", ["forty two"], 1, 1, True)
    assert answer["translations"][0]["attention"]["weights"] is None  # no attention: the page says so


def test_no_lines_is_an_empty_answer(client):
    assert client.post("/translate", json={"text": []}).json() == {"model": "tiny", "beam": 1, "nbest": 1, "translations": []}


def test_answers_equal_s2s_translate(client, runs, tmp_path):
    """The same checkpoint and options through the command line: texts, n-best scores and attention agree."""
    attention_file = tmp_path / "attention.jsonl"
    command = [sys.executable, "-m", "s2s", "translate", "--checkpoint", str(runs["attn"] / "best.pt"), "--beam", "3",
               "--nbest", "2", "--attention", str(attention_file), "--device", "cpu"]
    done = subprocess.run(command, input="\n".join(LINES) + "\n", capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    answer = client.post("/translate", json={"text": LINES, "beam": 3, "nbest": 2, "attention": True}).json()
    api_nbest = "".join(f"{number} ||| {h['text']} ||| {h['score']:.4f}\n"
                        for number, t in enumerate(answer["translations"]) for h in t["nbest"])
    assert api_nbest == done.stdout
    cli_attention = [json.loads(line) for line in attention_file.read_text().splitlines()]
    assert [{"line": number, **t["attention"]} for number, t in enumerate(answer["translations"])] == cli_attention


BAD_REQUESTS = [
    (b"[]", 400, "the request body must be a JSON object, not a list; send e.g. "
                 '{"text": ["a sentence", "another one"], "beam": 5, "nbest": 1, "attention": false}.'),
    (b'"forty two"', 400, "the request body must be a JSON object, not a string; send e.g. "
                          '{"text": ["a sentence", "another one"], "beam": 5, "nbest": 1, "attention": false}.'),
    ({"txt": ["a"]}, 422, "unknown field 'txt' (did you mean 'text'?); the fields are text, beam, nbest, attention, model."),
    ({"text": ["a"], "color": 1}, 422, "unknown field 'color'; the fields are text, beam, nbest, attention, model."),
    ({"beam": 2}, 422, "'text' is missing: give the sentences to translate as a list of strings, e.g. "
                       '{"text": ["a sentence", "another one"], "beam": 5, "nbest": 1, "attention": false}.'),
    ({"text": "forty two"}, 422, "'text' must be a list of strings, not one string; wrap it in a list: {\"text\": [\"...\"]}."),
    ({"text": {"a": 1}}, 422, "'text' must be a list of strings, not an object."),
    ({"text": ["a", 3]}, 422, "text[1] must be a string, not a number."),
    ({"text": ["a", None]}, 422, "text[1] must be a string, not null."),
    ({"text": ["a"] * 5}, 422, "'text' has 5 lines; this server takes at most 4 per request (--max-lines): send them in "
                               "several requests."),
    ({"text": ["a", "b" * 51]}, 422, "text[1] has 51 characters; this server takes at most 50 per line (--max-chars): "
                                     "split it into sentences."),
    (b'{"text": ["\\ud800 two"]}', 422, "text[0] holds an unpaired UTF-16 surrogate ('\\ud800' at character 0); give "
                                        "valid Unicode text."),
    (b'{"text": ["a", "forty\\u0000two"]}', 422, "text[1] contains a NUL character (\\x00), which is no text; remove it "
                                                 "(is this binary data?)."),
    ({"text": ["a"], "beam": 0}, 422, "'beam' must be between 1 and 5 (this server's --max-beam), got 0."),
    ({"text": ["a"], "beam": 6}, 422, "'beam' must be between 1 and 5 (this server's --max-beam), got 6."),
    ({"text": ["a"], "beam": "3"}, 422, "'beam' must be an integer, not a string."),
    ({"text": ["a"], "beam": 2.5}, 422, "'beam' must be an integer, not a number."),
    ({"text": ["a"], "beam": True}, 422, "'beam' must be an integer, not true/false."),
    ({"text": ["a"], "beam": 2, "nbest": 3}, 422, "'nbest' must be between 1 and 2 (the beam size; ask for a larger beam "
                                                  "for more), got 3."),
    ({"text": ["a"], "nbest": [1]}, 422, "'nbest' must be an integer, not a list."),
    ({"text": ["a"], "attention": "yes"}, 422, "'attention' must be true or false, not a string."),
    ({"text": ["a"], "model": 1}, 422, "'model' must be a string (a name from GET /models), not a number."),
    ({"text": ["a"], "model": "tiny2"}, 404, "unknown model 'tiny2'; this server has: tiny, plain (GET /models describes them)."),
]


@pytest.mark.parametrize("body, status, message", BAD_REQUESTS)
def test_bad_requests_get_a_4xx_that_says_what_to_fix(client, body, status, message):
    response = client.post("/translate", **({"content": body} if isinstance(body, bytes) else {"json": body}))
    assert (response.status_code, response.json()) == (status, {"error": message})


@pytest.mark.parametrize("body, reason", [
    (b'{"text": ["a"]', "Expecting ',' delimiter: line 1 column 15 (char 14)"),
    (b"", "Expecting value: line 1 column 1 (char 0)"),
    (b'{"text": ["\xff"]}', "not UTF-8: invalid start byte at byte 11"),
    (b"[" * 1500, "nested too deeply"),
])
def test_malformed_json_is_a_400(client, body, reason):
    response = client.post("/translate", content=body)
    assert response.status_code == 400
    assert response.json() == {"error": f"the request body is not valid JSON ({reason}); send an object such as "
                                        '{"text": ["a sentence", "another one"], "beam": 5, "nbest": 1, "attention": false}.'}


TOO_LARGE = "the request body is over 2000 bytes (this server's --max-body-bytes); send fewer or shorter lines per request."


def test_a_body_over_the_limit_is_a_413_by_its_length_or_as_it_streams(client):
    body = json.dumps({"text": ["x" * 2000]}).encode()
    whole = client.post("/translate", content=body)
    assert (whole.status_code, whole.json()) == (413, {"error": TOO_LARGE})
    chunked = client.post("/translate", content=iter([body[:1000], body[1000:]]))  # no Content-Length: chunked
    assert "content-length" not in chunked.request.headers
    assert (chunked.status_code, chunked.json()) == (413, {"error": TOO_LARGE})


@pytest.mark.parametrize("path, content_type", [("/health", "application/json"), ("/models", "application/json"),
                                                ("/", "text/html; charset=utf-8")])
def test_every_get_route_answers_head_with_its_headers_and_no_body(client, path, content_type):
    head, get = client.head(path), client.get(path)
    assert (head.status_code, head.headers["content-type"], head.content) == (200, content_type, b"")
    assert get.status_code == 200 and get.headers["content-type"] == content_type
    assert not any(operation.get("head") for operation in client.get("/openapi.json").json()["paths"].values())


def test_what_a_translation_dropped_or_fed_as_unk_is_in_its_answer(client, models, monkeypatch):
    monkeypatch.setattr(models["tiny"].translator, "max_input_tokens", 2)
    answer = client.post("/translate", json={"text": ["forty two seven", "xylo", "", "nine"]})
    assert answer.status_code == 200
    assert [t["warnings"] for t in answer.json()["translations"]] == [
        ["the line has 3 tokens; only the first 2 were translated (split it into sentences)."],
        ["1 of its 1 tokens are not in the model's source vocabulary and were translated as <unk>: 'xylo'."], [], []]


def test_unknown_routes_and_methods_answer_in_json(client):
    unknown, wrong_method = client.get("/nope"), client.get("/translate")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no GET /nope here; see /docs"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"error": "no GET /translate here; see /docs"})


def test_a_client_that_disconnects_mid_upload_is_one_log_line(models, live_server, capfd):
    import socket
    import time
    from urllib.parse import urlparse

    with live_server(create_app(models, LIMITS)) as url:
        address = urlparse(url)
        with socket.create_connection((address.hostname, address.port)) as connection:
            connection.sendall(b"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 1000\r\n\r\n" + b'{"text": ["forty')  # 16 of 1000 bytes, then gone
        deadline, log = time.monotonic() + 10, ""
        while "disconnected" not in log and time.monotonic() < deadline:
            time.sleep(0.05)
            log += capfd.readouterr().err
        assert client_ok(url)  # the server goes on serving
    log += capfd.readouterr().err
    lines = [line for line in log.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in log, log
    assert lines[0].startswith("s2s serve: 127.0.0.1:") and lines[0].endswith(
        " disconnected while sending its request (16 bytes of POST /translate read); nothing was translated.")


def client_ok(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        return response.status == 200
