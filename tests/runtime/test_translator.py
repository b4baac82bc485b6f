"""OnnxTranslator over real exports of tiny checkpoints: the torch Translator's outputs, its options and errors,
int8, ensembles, and clear errors for folders that are not exports."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
from onnx_models import SOURCES

from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.models import count_parameters
from s2s.runtime import OnnxTranslator

ZOO = [("rnn", False), ("rnn_attn", False), ("lstm", False), ("lstm_attn", False), ("gru", False), ("gru_attn", False),
       ("gru_attn", True), ("lstm_attn", True)]
LINES = SOURCES + ["", "cat cat cat dog the the", "zebra the unknown words"]


def assert_same_translations(got, expected, atol=1e-4):
    assert [t.text for t in got] == [t.text for t in expected]
    assert [[text for text, _ in t.nbest] for t in got] == [[text for text, _ in t.nbest] for t in expected]
    np.testing.assert_allclose([t.score for t in got], [t.score for t in expected], rtol=0, atol=atol)
    np.testing.assert_allclose([t.log_prob for t in got], [t.log_prob for t in expected], rtol=0, atol=atol)
    for g, e in zip(got, expected):
        assert g.out_tokens == e.out_tokens and g.src_tokens == e.src_tokens
        assert (g.attention is None) == (e.attention is None)
        if e.attention is not None:
            np.testing.assert_allclose(g.attention, e.attention.numpy(), rtol=0, atol=1e-4)


@pytest.mark.parametrize("name, input_feeding", ZOO, ids=[f"{n}{'+feeding' if f else ''}" for n, f in ZOO])
def test_every_zoo_shape_translates_as_the_torch_engine(exported, name, input_feeding):
    checkpoint, folder = exported(name, input_feeding)
    onnx, torch_engine = OnnxTranslator.from_export(folder, threads=1), Translator.from_checkpoint(checkpoint, device="cpu")
    for options in ({"beam": 1}, {"beam": 5, "nbest": 3}, {"beam": 3, "no_repeat_ngram": 2, "max_len_ratio": 0.5}):
        assert_same_translations(onnx.translate_detailed(LINES, return_attention=True, **options),
                                 torch_engine.translate_detailed(LINES, return_attention=True, **options))


def test_sentencepiece_export_reads_its_model_file_back(exported):
    checkpoint, folder = exported("gru_attn", tokenizer="sentencepiece")
    assert (folder / "src.spm.model").is_file()
    onnx = OnnxTranslator.from_export(folder, threads=1)
    expected = Translator.from_checkpoint(checkpoint, device="cpu").translate_detailed(LINES, beam=4, nbest=2)
    assert_same_translations(onnx.translate_detailed(LINES, beam=4, nbest=2), expected)
    assert onnx.src_tokenizer.state() == Translator.from_checkpoint(checkpoint, device="cpu").src_tokenizer.state()


def test_defaults_come_from_the_manifest_and_the_checkpoint_dict_names_the_export(exported):
    checkpoint, folder = exported("lstm_attn", beam=3, nbest=2, batch_size=2)
    onnx = OnnxTranslator.from_export(folder, threads=1)
    assert (onnx.decode.beam, onnx.decode.nbest, onnx.decode.batch_size) == (3, 2, 2)
    assert len(onnx.translate_detailed(["the cat"])[0].nbest) == 2
    assert onnx.checkpoint["path"] == str(folder) and onnx.checkpoint["exported_from"] == str(checkpoint)
    assert (onnx.checkpoint["step"], onnx.checkpoint["epoch"]) == (7, 1)
    torch_engine = Translator.from_checkpoint(checkpoint, device="cpu")
    assert onnx.checkpoint["parameters"] == count_parameters(torch_engine.model)


def test_options_batching_stream_and_long_lines_behave_as_the_torch_engine(exported, capsys):
    checkpoint, folder = exported("gru_attn")
    onnx = OnnxTranslator.from_export(folder, threads=1)
    onnx.max_input_tokens = 3
    reference = onnx.translate(LINES, beam=4, batch_size=64)
    assert onnx.translate(LINES, beam=4, batch_size=1) == reference
    assert onnx.translate(LINES[::-1], beam=4, batch_size=3) == reference[::-1]
    assert [t.text for t in onnx.translate_stream(iter(line + "\n" for line in LINES), chunk_size=4, beam=4)] == reference
    assert "input line 2 has 7 tokens; translating only the first 3." in capsys.readouterr().err
    assert reference[LINES.index("")] == ""
    with pytest.raises(S2SError, match=r"decoding option nbest \(3\) cannot exceed beam \(2\)"):
        onnx.translate(["the cat"], beam=2, nbest=3)


def test_int8_quantizes_the_matrix_products_and_stays_close(exported):
    import onnxruntime

    _, folder = exported("gru_attn")
    fp32 = OnnxTranslator.from_export(folder, threads=1)
    int8 = OnnxTranslator.from_export(folder, precision="int8", threads=1)
    assert int8.precision == "int8"
    src, lengths = np.array([[5, 6, 7], [8, 9, 0]]), np.array([3, 2])
    first = []
    for model in (fp32.model, int8.model):
        enc_states, states, src_mask = model.encode(src, lengths)
        first.append(model.decode_step(np.array([2, 2]), states, enc_states, src_mask)[0])
    assert np.abs(np.exp(first[0]) - np.exp(first[1])).max() < 0.05  # probabilities within 0.05
    assert not np.array_equal(first[0], first[1])  # and not the fp32 graph
    assert len(int8.translate(LINES, beam=3)) == len(LINES)
    assert isinstance(int8.model.decoder, onnxruntime.InferenceSession)


def test_int8_graph_has_no_float_gemm_left(exported, tmp_path):
    import onnx

    from s2s.runtime.model import quantize

    _, folder = exported("gru_attn")
    graph = onnx.load(str(quantize(folder / "decoder.onnx", tmp_path / "decoder.onnx"))).graph
    ops = {node.op_type for node in graph.node}
    assert "Gemm" not in ops and "MatMulInteger" in ops


def test_an_ensemble_of_two_exports_decodes_as_the_torch_ensemble(exported):
    first, first_folder = exported("gru_attn")
    second, second_folder = exported("gru_attn", seed=1)
    onnx = OnnxTranslator.from_export([first_folder, second_folder], threads=1)
    torch_engine = Translator.from_checkpoint([first, second], device="cpu")
    for options in ({"beam": 1}, {"beam": 4, "nbest": 2}):
        assert_same_translations(onnx.translate_detailed(LINES, return_attention=True, **options),
                                 torch_engine.translate_detailed(LINES, return_attention=True, **options))
    assert onnx.checkpoint["path"] == [str(first_folder), str(second_folder)]


def test_a_checkpoint_whose_sentencepiece_model_records_the_options_off_ensembles_with_one_that_does_not(exported,
                                                                                                          tmp_path):
    # s2s from aa79a38 to 2026-12-07 wrote byte_fallback and split_digits into every SentencePiece model, off too:
    # those cut text as the models before and after do, so their checkpoints ensemble with them (both engines)
    import io

    import sentencepiece
    import torch

    from s2s.export.onnx import export_onnx

    first, first_folder = exported("gru_attn", tokenizer="sentencepiece")
    second, _ = exported("gru_attn", tokenizer="sentencepiece", seed=1)
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(  # make_checkpoint's tokenizer, as those versions trained it
        sentence_iterator=iter(SOURCES * 3), model_writer=model, vocab_size=40, model_type="bpe",
        character_coverage=1.0, hard_vocab_limit=False, input_sentence_size=2_000_000, shuffle_input_sentence=True,
        num_threads=2, minloglevel=2, byte_fallback=False, split_digits=False)
    payload = torch.load(second, map_location="cpu", weights_only=False)
    assert model.getvalue() != payload["src_tokenizer"]["model_proto"]
    for side in ("src", "tgt"):
        payload[f"{side}_tokenizer"]["model_proto"] = model.getvalue()
    older = tmp_path / "older.pt"
    torch.save(payload, older)
    expected = Translator.from_checkpoint([first, second], device="cpu").translate_detailed(LINES, beam=4)
    assert_same_translations(Translator.from_checkpoint([first, older], device="cpu").translate_detailed(LINES, beam=4),
                             expected)
    onnx = OnnxTranslator.from_export([first_folder, export_onnx(older, tmp_path / "export")], threads=1)
    assert_same_translations(onnx.translate_detailed(LINES, beam=4), expected)


def test_an_ensemble_refuses_different_vocabularies(exported):
    _, words = exported("gru_attn")
    _, pieces = exported("gru_attn", tokenizer="sentencepiece")
    with pytest.raises(S2SError, match="have different src vocabularies or tokenizers, so they cannot be ensembled"):
        OnnxTranslator.from_export([words, pieces])


def copy_of(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "copy")


def edit_manifest(folder, **changes):
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(changes)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage, message", [
    (lambda f: shutil.rmtree(f), "ONNX export folder '.*copy' does not exist"),
    (lambda f: (f / "manifest.json").unlink(), "has no manifest.json, so it is not an s2s ONNX export"),
    (lambda f: (f / "manifest.json").write_text("{not json"), r"manifest.json is not valid JSON \(.*\); the export is damaged"),
    (lambda f: edit_manifest(f, format="other"), "has format 'other', not 's2s-onnx'"),
    (lambda f: edit_manifest(f, format_version=2), "has format_version 2 .*this s2s reads format_version 1"),
    (lambda f: edit_manifest(f, files={"encoder": "encoder.onnx"}),
     "names no decoder, src_vocab, tgt_vocab file under files"),
    (lambda f: (f / "decoder.onnx").unlink(), "misses decoder.onnx; copy the whole export folder"),
    (lambda f: (f / "tgt_vocab.json").write_text('["<pad>", "<unk>", "<bos>", "<eos>"]'),
     "holds 4 tokens but manifest.json says the model has"),
    (lambda f: edit_manifest(f, states=["h", "c"]), r"do not match manifest.json's states \['h', 'c'\]: no encoder.onnx output c, decoder.onnx input c, "
                                                 r"decoder.onnx output new_c; export the checkpoint again"),
])
def test_folders_that_are_not_valid_exports_are_clear_errors(exported, tmp_path, damage, message):
    _, folder = exported("gru_attn")
    copy = copy_of(folder, tmp_path)
    damage(copy)
    with pytest.raises(S2SError, match=message):
        OnnxTranslator.from_export(copy)


def test_a_checkpoint_file_and_bad_settings_are_clear_errors(exported):
    checkpoint, folder = exported("gru_attn")
    with pytest.raises(S2SError, match=r"is a file, not an ONNX export folder.*with --engine torch"):
        OnnxTranslator.from_export(checkpoint)
    with pytest.raises(S2SError, match="the onnx engine runs precision fp32 or int8, not 'bf16'"):
        OnnxTranslator.from_export(folder, precision="bf16")
    with pytest.raises(S2SError, match=r"threads must be at least 1 \(got 0\)"):
        OnnxTranslator.from_export(folder, threads=0)


def test_without_onnxruntime_the_error_names_the_extra(exported, monkeypatch):
    _, folder = exported("gru_attn")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(S2SError, match=r"the onnx engine needs onnxruntime: pip install -e '\.\[runtime\]'"):
        OnnxTranslator.from_export(folder)


def test_gemms_rewritten_as_matmuls_compute_the_same_log_probs(exported, tmp_path):
    import onnx
    import onnxruntime

    from s2s.runtime.model import gemms_as_matmuls, session_options

    _, folder = exported("lstm_attn", input_feeding=True)
    graph = onnx.load(str(folder / "decoder.onnx"))
    gemms_as_matmuls(graph)
    assert not [node for node in graph.graph.node if node.op_type == "Gemm"]
    onnx.save(graph, tmp_path / "decoder.onnx")
    generator = np.random.default_rng(0)
    feeds = {"prev_tokens": np.array([2, 5, 7]), "enc_states": generator.standard_normal((3, 4, 32), np.float32),
             "src_mask": np.array([[True] * 4, [True] * 2 + [False] * 2, [True] + [False] * 3]),
             **{name: generator.standard_normal((1, 3, 32), np.float32) for name in ("h", "c", "fed")}}
    outputs = [onnxruntime.InferenceSession(str(path), session_options(1), providers=["CPUExecutionProvider"])
               .run(["log_probs"], feeds)[0] for path in (folder / "decoder.onnx", tmp_path / "decoder.onnx")]
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=0, atol=1e-5)


def test_onnxruntime_threads_follow_omp_num_threads_else_every_usable_core(monkeypatch):
    from s2s.runtime import model

    monkeypatch.setattr(model, "usable_cpus", lambda: 7)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert model.default_threads() == 3 and model.session_options(None).intra_op_num_threads == 3
    assert model.session_options(2).intra_op_num_threads == 2
    for value in ("", "0", "two"):
        monkeypatch.setenv("OMP_NUM_THREADS", value)
        assert model.default_threads() == 7


@pytest.mark.parametrize("vnni", [True, False])
def test_int8_uses_7_bit_weights_on_cpus_without_vnni(exported, tmp_path, monkeypatch, vnni):
    import onnxruntime.quantization

    import s2s.runtime.model as runtime_model

    _, folder = exported("gru_attn")
    calls = []
    monkeypatch.setattr(runtime_model, "has_vnni", lambda: vnni)
    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", lambda *args, **options: calls.append(options))
    runtime_model.quantize(folder / "decoder.onnx", tmp_path / "decoder.onnx")
    assert calls == [{"weight_type": onnxruntime.quantization.QuantType.QInt8, "per_channel": False, "reduce_range": not vnni}]
