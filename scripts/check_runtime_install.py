"""The runtime install's smoke check (CI): run with the python of a venv made by pip install -e '.[runtime]'.

    .venv-runtime/bin/python scripts/check_runtime_install.py

Checks that torch and onnx are not installed, that s2s pretrained lists the shipped models, that s2s translate
--engine onnx translates a shipped model by its short name, that s2s serve --engine onnx answers GET /health and a
translation, and that a command that needs torch says so in one line. Needs no torch itself; exits 1 on a failure.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import urllib.request

NAME, SENTENCE = "multi30k-de-en", "Ein Hund läuft im Schnee."


def s2s(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "s2s", *args], input=stdin, capture_output=True, text=True, timeout=300)


def check(condition: bool, what: str, details: str = "") -> None:
    print(f"{'ok  ' if condition else 'FAIL'} {what}")
    if not condition:
        print(details, file=sys.stderr)
        raise SystemExit(1)


def serve_health() -> tuple[dict, dict]:
    """(GET /health, POST /translate) of s2s serve --engine onnx on a free port."""
    server = subprocess.Popen([sys.executable, "-m", "s2s", "serve", "--engine", "onnx", "--checkpoint", NAME,
                               "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = next((line.split()[2].rstrip("/") for line in server.stdout if line.startswith("serving on ")), None)
        check(url is not None, "s2s serve --engine onnx starts", server.stderr.read() if url is None else "")
        deadline = time.monotonic() + 60  # "serving on" is printed before uvicorn accepts connections
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=30) as answer:
                    health = json.loads(answer.read())
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    check(False, "s2s serve --engine onnx answers /health", server.stderr.read())
                time.sleep(0.05)
        request = urllib.request.Request(f"{url}/translate", data=json.dumps({"text": [SENTENCE]}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            translation = json.loads(answer.read())
        return health, translation
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    for module in ("torch", "onnx"):
        check(importlib.util.find_spec(module) is None, f"{module} is not installed")
    listed = s2s("pretrained")
    check(listed.returncode == 0 and NAME in listed.stdout, "s2s pretrained lists the shipped models", listed.stderr)
    translated = s2s("translate", "--engine", "onnx", "--checkpoint", NAME, stdin=SENTENCE + "\n")
    check(translated.returncode == 0 and len(translated.stdout.splitlines()) == 1 and "dog" in translated.stdout,
          f"s2s translate --engine onnx --checkpoint {NAME}: {translated.stdout.strip()}", translated.stderr)
    health, translation = serve_health()
    check(health.get("status") == "ok" and health.get("models") == [NAME], f"s2s serve --engine onnx: /health {health}")
    check("dog" in json.dumps(translation), "s2s serve --engine onnx: /translate", json.dumps(translation))
    refused = s2s("zoo")
    check(refused.returncode == 2 and refused.stderr.count("\n") == 1 and "s2s zoo needs torch" in refused.stderr,
          "s2s zoo says in one line that it needs torch", refused.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
