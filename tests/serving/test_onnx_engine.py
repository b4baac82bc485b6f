"""`s2s serve --engine onnx`: exports of the tiny trained runs served through the same API and page, giving the torch
engine's answers; GET /models describes them; wrong flags and folders are one-line errors; it serves without torch."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import REPO

from s2s.cli import main
from s2s.serving.app import create_app
from s2s.serving.service import Limits, load_models

LINES = ["forty two", "", "seven hundred one", "nine"]
NO_TORCH = """
import os, sys
sys.modules["torch"] = None  # any import of torch now fails
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core: onnxruntime's default threads
"""


@pytest.fixture(autouse=True, scope="module")
def one_onnxruntime_thread():
    """Sessions made without threads= (as serve makes them) use one thread, as if the process had one core."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("s2s.runtime.model.usable_cpus", lambda: 1)
        yield


@pytest.fixture(scope="module")
def exports(runs, tmp_path_factory):
    """{"attn": export folder of the attention run's best.pt, "plain": of the run without attention}."""
    from s2s.export.onnx import export_onnx

    folder = tmp_path_factory.mktemp("exports")
    return {name: export_onnx(runs[name] / "best.pt", folder / name) for name in ("attn", "plain")}


@pytest.fixture(scope="module")
def onnx_models(exports):
    return load_models([str(exports["attn"]), f"plain={exports['plain']}"], engine="onnx")


def post(client, **body):
    response = client.post("/translate", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def assert_same_answers(got: dict, expected: dict):
    """Equal texts, tokens and shapes; scores and attention weights equal up to float arithmetic (and rounding)."""
    assert {k: v for k, v in got.items() if k != "translations"} == \
        {k: v for k, v in expected.items() if k != "translations"}
    assert len(got["translations"]) == len(expected["translations"])
    for g, e in zip(got["translations"], expected["translations"]):
        assert g["text"] == e["text"] and [h["text"] for h in g["nbest"]] == [h["text"] for h in e["nbest"]]
        assert [g["score"], g["log_prob"]] == pytest.approx([e["score"], e["log_prob"]], abs=1e-4)
        assert [h["score"] for h in g["nbest"]] == pytest.approx([h["score"] for h in e["nbest"]], abs=1e-4)
        assert ("attention" in g) == ("attention" in e)
        if "attention" in e:
            assert (g["attention"]["src"], g["attention"]["out"]) == (e["attention"]["src"], e["attention"]["out"])
            if e["attention"]["weights"] is None:
                assert g["attention"]["weights"] is None
            else:
                assert len(g["attention"]["weights"]) == len(e["attention"]["weights"])
                for g_row, e_row in zip(g["attention"]["weights"], e["attention"]["weights"]):
                    assert g_row == pytest.approx(e_row, abs=2e-4)


@pytest.fixture(scope="module")
def clients(models, onnx_models):
    """(torch engine's client, onnx engine's client), serving the same two runs."""
    limits = Limits(max_beam=5)
    with TestClient(create_app(models, limits)) as torch_client, TestClient(create_app(onnx_models, limits)) as onnx_client:
        yield torch_client, onnx_client


@pytest.mark.parametrize("model", ["tiny", "plain"])
@pytest.mark.parametrize("beam, nbest, attention", [(1, 1, False), (1, 1, True), (5, 1, False), (5, 3, True)])
def test_answers_equal_the_torch_engines(clients, onnx_models, model, beam, nbest, attention):
    torch_client, onnx_client = clients
    body = {"text": LINES, "beam": beam, "nbest": nbest, "attention": attention, "model": model}
    answer = post(onnx_client, **body)
    assert_same_answers(answer, post(torch_client, **body))
    direct = onnx_models[model].translator.translate_detailed(LINES, beam=beam, nbest=nbest, return_attention=attention)
    assert [t["text"] for t in answer["translations"]] == [t.text for t in direct]
    if attention and model == "tiny":  # numpy attention reaches the JSON as [out][src] lists of numbers
        weights = answer["translations"][0]["attention"]["weights"]
        assert len(weights) == len(answer["translations"][0]["attention"]["out"]) and sum(weights[0]) == \
            pytest.approx(1.0, abs=1e-3)


def test_models_describe_an_export_as_the_torch_engine_describes_its_checkpoint(clients, exports, runs):
    torch_client, onnx_client = clients
    onnx_answer, torch_answer = onnx_client.get("/models").json(), torch_client.get("/models").json()
    assert onnx_answer["default"] == "tiny"  # the run name the export's manifest records
    for got, expected, name in zip(onnx_answer["models"], torch_answer["models"], ("attn", "plain")):
        assert expected["engine"] == "torch"
        assert got == {**expected, "engine": "onnx", "checkpoint": str(exports[name])}
    tiny, plain = onnx_answer["models"]
    assert (tiny["src"], tiny["tgt"], tiny["dataset"], tiny["architecture"], tiny["attention"], tiny["device"],
            tiny["precision"]) == ("en", "de", "numbers", "gru_attn", True, "cpu", "fp32")
    assert (plain["architecture"], plain["attention"]) == ("gru", False)


def test_an_export_without_a_run_name_or_data_is_named_after_its_folder(exports, tmp_path):
    folder = shutil.copytree(exports["attn"], tmp_path / "de-en")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["source"]["run"], manifest["data"]  # as exports written before the manifest recorded them
    (folder / "manifest.json").write_text(json.dumps(manifest))
    [(name, model)] = load_models([str(folder)], engine="onnx", precision="int8").items()
    info = model.info()
    assert name == info["name"] == "de-en"
    assert (info["src"], info["tgt"], info["dataset"], info["precision"]) == (None, None, None, "int8")
    assert len(model.translator.translate(LINES)) == len(LINES)


@pytest.mark.parametrize("flags, message", [
    (["--precision", "bf16"], "--engine onnx runs --precision fp32 or int8, not bf16 (bf16 and int8-linear are the "
                              "torch engine's)."),
    (["--precision", "int8-linear"], "--engine onnx runs --precision fp32 or int8, not int8-linear (bf16 and "
                                     "int8-linear are the torch engine's)."),
    (["--device", "cuda"], "--engine onnx runs on the CPU; drop --device cuda, or use --engine torch."),
])
def test_precisions_and_devices_the_onnx_engine_does_not_run_are_refused(exports, capsys, flags, message):
    assert main(["serve", "--engine", "onnx", "--checkpoint", str(exports["attn"]), "--port", "0", *flags]) == 2
    assert capsys.readouterr().err == f"s2s serve: error: {message}\n"


def test_a_folder_or_file_that_is_not_an_export_is_a_one_line_error(runs, exports, capsys):
    assert main(["serve", "--engine", "onnx", "--checkpoint", f"de={runs['attn']}", "--port", "0"]) == 2
    assert capsys.readouterr().err == (f"s2s serve: error: '{runs['attn']}' has no manifest.json, so it is not an s2s "
                                       f"ONNX export; export a checkpoint first (s2s export --checkpoint CKPT --output "
                                       f"DIR), or translate it with --engine torch.\n")
    assert main(["serve", "--engine", "onnx", "--checkpoint", str(runs["attn"] / "best.pt"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"s2s serve: error: '{runs['attn'] / 'best.pt'}' is a file, not an ONNX export folder")
    assert err.count("\n") == 1
    assert main(["serve", "--checkpoint", str(exports["attn"]), "--port", "0"]) == 2  # --engine torch
    assert capsys.readouterr().err == (f"s2s serve: error: '{exports['attn']}' is an ONNX export folder (s2s export), "
                                       f"not a checkpoint; serve it with --engine onnx.\n")


def test_s2s_serve_engine_onnx_runs_without_torch(exports, onnx_models):
    code = NO_TORCH + textwrap.dedent("""
        from s2s.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    command = [sys.executable, "-c", code, "serve", "--engine", "onnx", "--checkpoint", f"de-en={exports['attn']}",
               "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"})
    try:
        model_line, serving_line = server.stdout.readline(), server.stdout.readline()
        parameters = onnx_models["tiny"].info()["parameters"]
        assert model_line == f"model de-en: en -> de, gru_attn, {parameters:,} parameters, step " \
                             f"{onnx_models['tiny'].info()['step']}, cpu fp32 (onnx)\n", server.stderr.read()
        url = serving_line.split()[2].rstrip("/")
        assert httpx.get(f"{url}/models", timeout=30).json()["models"][0]["engine"] == "onnx"
        answer = httpx.post(f"{url}/translate", json={"text": LINES, "beam": 5, "nbest": 2}, timeout=30).json()
        expected = onnx_models["tiny"].translator.translate_detailed(LINES, beam=5, nbest=2)
        assert [t["text"] for t in answer["translations"]] == [t.text for t in expected]
        assert [t["score"] for t in answer["translations"]] == pytest.approx([t.score for t in expected], abs=1e-5)
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 130
    assert server.stderr.read() == "interrupted\n"
