"""Inference precision: int8 dynamic quantization and bf16 autocast behind the Translator."""

import pytest
import torch

from s2s import Translator
from s2s.config import DecodeConfig, ModelConfig
from s2s.data.tokenizers import build_tokenizer
from s2s.data.vocab import Vocab
from s2s.decoding.precision import apply_precision
from s2s.errors import S2SError
from s2s.models import build_model
from s2s.specials import BOS


def tiny(precision="fp32", name="gru_attn"):
    torch.manual_seed(0)
    tokenizer = build_tokenizer("char")
    vocab = Vocab.build([list("abcdefghijklmnopqrstuvwxyz▁")])
    model = build_model(ModelConfig(name=name, emb_size=16, hidden_size=32, dropout=0.0), len(vocab), len(vocab))
    return Translator(model, tokenizer, tokenizer, vocab, vocab, DecodeConfig(max_len_ratio=1.0), precision=precision)


def first_step_log_probs(translator, src):
    model = translator.model
    enc_states, state, mask = model.encode(src, torch.tensor([src.size(1)] * src.size(0)))
    with torch.autocast("cpu", dtype=translator.amp or torch.float32, enabled=translator.amp is not None):
        log_probs, _, _ = model.decode_step(torch.full((src.size(0),), BOS), state, enc_states, mask)
    return log_probs


@pytest.mark.parametrize("precision", ["int8", "int8-linear"])
def test_int8_quantizes_the_linear_layers_and_stays_close_to_fp32(precision):
    fp32, int8 = tiny("fp32"), tiny(precision)
    quantized = torch.ao.nn.quantized.dynamic.Linear
    assert isinstance(int8.model.decoder.out, quantized) and isinstance(int8.model.decoder.attention.combine, quantized)
    recurrent = torch.ao.nn.quantized.dynamic.GRU if precision == "int8" else torch.nn.GRU  # int8-linear: fp32 GRUs
    assert type(int8.model.encoder.rnn) is recurrent and type(int8.model.decoder.rnn) is recurrent
    assert isinstance(fp32.model.decoder.out, torch.nn.Linear)  # the fp32 translator's model is untouched
    src = torch.randint(4, 20, (3, 7))
    expected, got = first_step_log_probs(fp32, src), first_step_log_probs(int8, src)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.exp(), expected.exp(), atol=0.01, rtol=0.0)  # probabilities within one point
    lines = ["abc", "", "hello world"]
    assert [len(x) > 0 for x in int8.translate(lines, beam=3)] == [len(x) > 0 for x in fp32.translate(lines, beam=3)]


@pytest.mark.parametrize("name", ["gru_attn", "lstm_attn"])
def test_int8_quantizes_the_recurrent_layers_too_and_the_encoder_runs_them_packed(name):
    fp32, int8 = tiny("fp32", name), tiny("int8", name)
    quantized = torch.ao.nn.quantized.dynamic
    rnn_type = quantized.GRU if name.startswith("gru") else quantized.LSTM
    assert isinstance(int8.model.encoder.rnn, rnn_type) and isinstance(int8.model.decoder.rnn, rnn_type)
    assert isinstance(int8.model.decoder.out, quantized.Linear)
    src = torch.randint(4, 20, (3, 7))
    lengths = torch.tensor([7, 4, 1])
    src[1, 4:], src[2, 1:] = 0, 0  # padded rows: the final states must be read at each row's length
    (expected, expected_final), (got, got_final) = (t.model.encoder(src, lengths) for t in (fp32, int8))
    torch.testing.assert_close(got, expected, atol=0.02, rtol=0.0)
    for e, g in zip(expected_final if isinstance(expected_final, tuple) else [expected_final],
                    got_final if isinstance(got_final, tuple) else [got_final]):
        torch.testing.assert_close(g, e, atol=0.02, rtol=0.0)
    assert (got[1, 4:] == 0).all() and (got[2, 1:] == 0).all()
    torch.testing.assert_close(first_step_log_probs(int8, src).exp(), first_step_log_probs(fp32, src).exp(),
                               atol=0.01, rtol=0.0)
    lines = ["abc", "", "hello world"]
    assert len(int8.translate(lines, beam=3)) == 3


def test_int8_leaves_a_vanilla_rnn_in_fp32():
    translator = tiny("int8", "rnn_attn")
    assert isinstance(translator.model.encoder.rnn, torch.nn.RNN)  # torch has no dynamic quantized tanh RNN
    assert isinstance(translator.model.decoder.out, torch.ao.nn.quantized.dynamic.Linear)
    assert len(translator.translate(["abc"], beam=2)) == 1


def test_bf16_where_native_and_a_clear_error_where_not(monkeypatch):
    monkeypatch.setattr("s2s.decoding.precision.cpu_native_bf16", lambda: "AVX512-BF16")
    translator = tiny("bf16")
    assert translator.amp == torch.bfloat16 and len(translator.translate(["abc", "de"], beam=2)) == 2
    monkeypatch.setattr("s2s.decoding.precision.cpu_native_bf16", lambda: None)
    with pytest.raises(S2SError, match="this CPU has no native bf16 .* use --precision int8 \\(faster\\) or fp32"):
        tiny("bf16")


def test_int8_is_cpu_only_and_unknown_precisions_are_refused():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(S2SError, match="--precision int8 is torch's CPU dynamic quantization; on cuda"):
        apply_precision(model, "int8", torch.device("cuda"))
    with pytest.raises(S2SError, match="--precision int8-linear is torch's CPU dynamic quantization; on cuda"):
        apply_precision(model, "int8-linear", torch.device("cuda"))
    with pytest.raises(S2SError, match="unknown precision 'fp8'; choose one of fp32, bf16, int8, int8-linear"):
        apply_precision(model, "fp8", torch.device("cpu"))
