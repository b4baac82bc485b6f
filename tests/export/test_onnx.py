"""ONNX export: the graphs agree with the torch model for every zoo variant, at any batch and length, and bad
requests are refused by name."""

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from s2s.cli import main
from s2s.config import ModelConfig, config_from_dict
from s2s.errors import S2SError
from s2s.export import onnx as export
from s2s.models import build_model
from s2s.specials import BOS, PAD
from s2s.training.lm_trainer import make_trainer

VARIANTS = [dict(cell=cell, attention=attention) for cell in ("rnn", "lstm", "gru") for attention in ("dot", "none")]
VARIANTS += [dict(cell="lstm", attention="dot", bidirectional=False, layers=2),
             dict(cell="gru", attention="none", layers=2),
             dict(cell="gru", attention="dot", input_feeding=True, layers=2),
             dict(cell="lstm", attention="dot", input_feeding=True, tie_embeddings=True, emb_size=32),
             dict(cell="rnn", attention="dot", tie_embeddings=True, bidirectional=False, emb_size=32)]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one torch thread (tests/conftest.py)


def write_graphs(model, folder):
    folder.mkdir(exist_ok=True)
    onnx.save(export.encoder_graph(model), folder / "encoder.onnx")
    onnx.save(export.decoder_graph(model), folder / "decoder.onnx")
    return folder


def sessions(folder):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return [onnxruntime.InferenceSession(str(folder / name), options, providers=["CPUExecutionProvider"])
            for name in ("encoder.onnx", "decoder.onnx")]


def random_model(seed: int = 0, **options):
    torch.manual_seed(seed)
    model = build_model(ModelConfig(**{"emb_size": 24, "hidden_size": 32, "dropout": 0.0, **options}), 40, 50).eval()
    with torch.no_grad():  # larger weights than the init, so that a wrong gate or direction shows in the numbers
        for parameter in model.parameters():
            parameter.mul_(3)
    return model


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_graphs_match_the_torch_model_at_other_batches_and_lengths(tmp_path, options):
    model = random_model(**options)
    folder = write_graphs(model, tmp_path / "graphs")
    for name in ("encoder.onnx", "decoder.onnx"):
        onnx.checker.check_model(str(folder / name), full_check=True)
    encoder, decoder = sessions(folder)
    names = export.state_names(model)
    for lengths in ([9, 2, 5, 1, 9, 4], [3]):  # not the shapes verify_export uses: the axes are dynamic
        lengths = torch.tensor(lengths)
        src = torch.randint(4, 40, (len(lengths), int(lengths.max())), generator=torch.Generator().manual_seed(1))
        src = src.masked_fill(torch.arange(src.size(1))[None] >= lengths[:, None], PAD)
        with torch.no_grad():
            enc_states, state, src_mask = model.encode(src, lengths)
            got = dict(zip([o.name for o in encoder.get_outputs()], encoder.run(None, {"src": src.numpy(), "src_lengths": lengths.numpy()})))
            np.testing.assert_allclose(got["enc_states"], enc_states.numpy(), atol=2e-5)
            np.testing.assert_array_equal(got["src_mask"], src_mask.numpy())
            prev, feeds = torch.full((len(lengths),), BOS), {name: got[name] for name in names}
            for _ in range(4):
                log_probs, state, weights = model.decode_step(prev, state, enc_states, src_mask)
                inputs = {"prev_tokens": prev.numpy(), "enc_states": got["enc_states"], "src_mask": got["src_mask"], **feeds}
                wanted = [i.name for i in decoder.get_inputs()]
                out = dict(zip([o.name for o in decoder.get_outputs()], decoder.run(None, {k: inputs[k] for k in wanted})))
                np.testing.assert_allclose(out["log_probs"], log_probs.numpy(), atol=5e-5)
                for name, tensor in zip(names, export._flat(state)):
                    np.testing.assert_allclose(out[f"new_{name}"], tensor.numpy(), atol=2e-5)
                if weights is None:
                    assert "attention" not in out
                else:
                    np.testing.assert_allclose(out["attention"], weights.numpy(), atol=2e-5)
                    assert (out["attention"][src_mask.numpy() == 0] == 0).all()  # padding gets no attention
                feeds = {name: out[f"new_{name}"] for name in names}
                prev = log_probs.argmax(-1)


def test_verification_catches_a_wrong_graph(tmp_path, monkeypatch):
    model = random_model(cell="gru", attention="dot")
    monkeypatch.setitem(export.GATE_ORDER, "gru", (0, 1, 2))  # torch's gate order handed to ONNX unchanged
    folder = write_graphs(model, tmp_path / "wrong")
    with pytest.raises(RuntimeError, match="disagree with the torch model"):
        export.verify_export(model, folder)


def test_tied_embeddings_are_stored_once(tmp_path):
    model = random_model(cell="gru", attention="dot", tie_embeddings=True, emb_size=32)
    graph = export.decoder_graph(model)
    names = [init.name for init in graph.graph.initializer]
    assert "tgt_embed" in names and "W_o" not in names


def train_tiny(make_config, folder, **model):
    config = make_config(folder, model={"dropout": 0.0, **model}, train={"epochs": 1, "keep_checkpoints": 0})
    make_trainer(config, folder, log=lambda message: None).train()
    return folder / "best.pt"


def test_export_command_writes_graphs_vocabularies_and_manifest(tmp_path, make_config, capsys):
    checkpoint = train_tiny(make_config, tmp_path / "run", cell="lstm")
    assert main(["export", "--checkpoint", str(checkpoint), "--output", str(tmp_path / "onnx")]) == 0
    assert "s2s translate --engine onnx --checkpoint" in capsys.readouterr().out
    files = sorted(p.name for p in (tmp_path / "onnx").iterdir())
    assert files == ["decoder.onnx", "encoder.onnx", "manifest.json", "src_vocab.json", "tgt_vocab.json"]
    manifest = json.loads((tmp_path / "onnx" / "manifest.json").read_text())
    payload = torch.load(checkpoint, weights_only=True)
    assert manifest["format"] == "s2s-onnx" and manifest["opset"] == export.OPSET
    assert manifest["model"]["cell"] == "lstm" and manifest["model"]["attention"] is True
    assert manifest["states"] == ["h", "c"]
    assert manifest["specials"] == {"pad": 0, "unk": 1, "bos": 2, "eos": 3}
    assert manifest["src_tokenizer"] == {"name": "whitespace", "lowercase": False}
    assert manifest["decode"]["batch_size"] == 16 and manifest["source"]["step"] == payload["step"]
    assert manifest["data"] == {"dataset": "numbers", "src": "en", "tgt": "de"} and manifest["source"]["run"] == "tiny"
    assert json.loads((tmp_path / "onnx" / "tgt_vocab.json").read_text()) == payload["tgt_vocab"]
    # an earlier export's files are replaced, and nothing else beside them; a folder holding anything else is refused
    (tmp_path / "onnx" / "notes.txt").write_text("mine\n")
    (tmp_path / "onnx" / "results").mkdir()
    (tmp_path / "onnx" / "results" / "bleu.txt").write_text("41.2\n")
    (tmp_path / "onnx" / "tgt.spm.model").write_bytes(b"an earlier export's, listed in its manifest")
    manifest["tgt_tokenizer"]["model_file"] = "tgt.spm.model"
    (tmp_path / "onnx" / "manifest.json").write_text(json.dumps(manifest))
    assert main(["export", "--checkpoint", str(checkpoint), "--output", str(tmp_path / "onnx")]) == 0
    assert (f"to {tmp_path / 'onnx'}/ (encoder.onnx, decoder.onnx, manifest.json), replacing the 6 files of the earlier "
            f"export there and leaving the 2 other entries there as they were (notes.txt, results); translate with: "
            f"s2s translate --engine onnx --checkpoint {tmp_path / 'onnx'}\n") in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "onnx").iterdir()) == ["decoder.onnx", "encoder.onnx", "manifest.json",
                                                                    "notes.txt", "results", "src_vocab.json", "tgt_vocab.json"]
    assert (tmp_path / "onnx" / "notes.txt").read_text() == "mine\n"
    assert (tmp_path / "onnx" / "results" / "bleu.txt").read_text() == "41.2\n"
    assert main(["export", "--checkpoint", str(checkpoint), "--output", str(tmp_path / "run")]) == 2
    assert f"--output '{tmp_path / 'run'}' is a folder that holds other files" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine\n")
    assert main(["export", "--checkpoint", str(checkpoint), "--output", str(tmp_path / "other")]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert checkpoint.is_file() and (tmp_path / "other" / "notes.txt").read_text() == "mine\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_a_new_export_replaces_only_the_files_an_earlier_one_wrote(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    (out / "encoder.onnx").write_bytes(b"old graph")
    (out / "src.spm.model").write_bytes(b"old tokenizer")
    forged = {"format": "s2s-onnx", "files": {"encoder": "encoder.onnx", "mine": "notes.txt", "up": "../elsewhere"},
              "src_tokenizer": {"model_file": "src.spm.model"}, "tgt_tokenizer": {"model_file": "/etc/hostname"}}
    (out / "manifest.json").write_text(json.dumps(forged))
    assert export.earlier_export(out) == ["encoder.onnx", "manifest.json", "src.spm.model"]  # names an export writes
    staging = tmp_path / ".staging"
    staging.mkdir()
    (staging / "encoder.onnx").write_bytes(b"new graph")
    (staging / "manifest.json").write_text(json.dumps({"format": "s2s-onnx"}))
    export._move_into(staging, out)
    assert sorted(p.name for p in out.iterdir()) == ["encoder.onnx", "manifest.json", "notes.txt"]
    assert (out / "encoder.onnx").read_bytes() == b"new graph" and (out / "notes.txt").read_text() == "mine\n"
    (out / "manifest.json").write_text(json.dumps({"format": "another tool's"}))
    assert export.earlier_export(out) == []


def test_sentencepiece_models_are_written_beside_the_manifest(tmp_path):
    from s2s.data.tokenizers import build_tokenizer

    tokenizer = build_tokenizer("sentencepiece", vocab_size=40)
    tokenizer.train(["ein hund läuft im schnee", "a dog runs in the snow"] * 50)
    state = export._tokenizer_files(tokenizer.state(), "src", tmp_path)
    assert state["model_file"] == "src.spm.model" and "model_proto" not in state
    assert (tmp_path / "src.spm.model").read_bytes() == tokenizer.model_proto


def test_language_models_and_bad_outputs_are_refused(tmp_path, make_config):
    lm = build_model(ModelConfig(name="gru_lm", emb_size=8, hidden_size=8), 20, 20)
    with pytest.raises(S2SError) as refused:
        export.check_exportable(lm, "lm.pt")
    assert str(refused.value) == ("checkpoint 'lm.pt' holds a language model, and language models cannot be exported "
                                  "to ONNX: only translation models can (rnn, lstm, gru, with or without attention). "
                                  "Sample from it with s2s generate.")
    (tmp_path / "file").write_text("x")
    with pytest.raises(S2SError, match="is a file"):
        export.export_onnx("unused.pt", tmp_path / "file")
    with pytest.raises(S2SError, match="does not exist"):
        export.export_onnx(tmp_path / "missing.pt", tmp_path / "new" / "onnx")
    assert not (tmp_path / "new").exists()  # a failed export makes no folders
    with pytest.raises(S2SError, match="cannot create the folder of --output"):
        export.export_onnx(train_tiny(make_config, tmp_path / "run"), tmp_path / "file" / "sub" / "onnx")


def test_the_folders_above_the_output_are_made(tmp_path, make_config):
    checkpoint = train_tiny(make_config, tmp_path / "run")
    assert (export.export_onnx(checkpoint, tmp_path / "exports" / "de-en") / "manifest.json").is_file()


def test_the_language_model_recipe_is_refused_by_the_command(tmp_path, capsys):
    config = config_from_dict({"model": {"name": "gru_lm", "emb_size": 8, "hidden_size": 8},
                               "data": {"dataset": "numbers", "tokenizer": "whitespace", "numbers_train": 50,
                                        "numbers_valid": 10, "numbers_test": 10},
                               "train": {"epochs": 1, "run_dir": str(tmp_path / "lm"), "amp": "none",
                                         "early_stopping_metric": "loss"}})
    make_trainer(config, tmp_path / "lm", log=lambda message: None).train()
    assert main(["export", "--checkpoint", str(tmp_path / "lm"), "--output", str(tmp_path / "out")]) == 2
    assert "holds a language model, and language models cannot be exported to ONNX" in capsys.readouterr().err
