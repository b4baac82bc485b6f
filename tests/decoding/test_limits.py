"""Numbers at their edges (issue 38, part 4), in both engines: a decoding batch fits a memory budget (batches shrink;
a beam or --sample of which one line alone cannot fit is refused before decoding, naming the largest that fits; serve
refuses a --max-beam whose longest request cannot fit), and a temperature below float precision is greedy decoding."""

from __future__ import annotations

import re
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from onnx_models import SOURCES, make_checkpoint

from s2s.cli import main
from s2s.decoding.generator import next_tokens, sample
from s2s.decoding.limits import GREEDY_TEMPERATURE, MEMORY_ENV, MIB, memory_budget, sentence_bytes
from s2s.decoding.sampling import draw
from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.runtime.search import beam_search, pad
from s2s.serving.service import Limits, load_models

LONGEST = max(len(line.split()) for line in SOURCES)  # whitespace tokens


@pytest.fixture(autouse=True)
def one_onnxruntime_thread(monkeypatch):
    monkeypatch.setattr("s2s.runtime.model.usable_cpus", lambda: 1)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    from s2s.export.onnx import export_onnx

    folder = tmp_path_factory.mktemp("limits")
    checkpoint = make_checkpoint(folder / "model.pt", "gru_attn")
    (folder / "src.txt").write_text("\n".join(SOURCES) + "\n")
    return {"torch": checkpoint, "onnx": export_onnx(checkpoint, folder / "export"), "text": folder / "src.txt"}


def load(made, engine):
    if engine == "onnx":
        from s2s.runtime import OnnxTranslator

        return OnnxTranslator.from_export(made["onnx"])
    return Translator.from_checkpoint(made["torch"], device="cpu")


def set_budget(monkeypatch, translator, rows: float, length: int = LONGEST, attention: bool = False) -> None:
    """A decoding budget ($S2S_DECODE_MEMORY_MB) of `rows` rows of a `length`-token line of translator's model."""
    row = sentence_bytes(translator, length, 1, translator.decode.max_len_ratio, attention)
    monkeypatch.setenv(MEMORY_ENV, repr(rows * row / MIB))


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_a_beam_that_cannot_fit_is_refused_naming_the_largest_that_fits(made, monkeypatch, engine):
    translator = load(made, engine)
    expected = translator.translate(SOURCES, beam=7)
    set_budget(monkeypatch, translator, 7.5)
    with pytest.raises(S2SError, match=rf"^beam 8 needs about .* MiB to decode a {LONGEST}-token line with this model "
                                       rf"\(a 18-token target vocabulary\), more than the .* MiB a decoding batch may "
                                       rf"take \({MEMORY_ENV}=.*\); the largest beam that fits is 7 \(--beam\)\.$"):
        translator.translate(SOURCES, beam=8)
    assert translator.translate(SOURCES, beam=7) == expected  # one sentence a batch
    assert translator.translate(SOURCES[:2], beam=8)  # shorter lines fit a larger beam


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_batches_shrink_to_fit_the_budget_and_translate_as_one_batch_does(made, monkeypatch, engine):
    translator = load(made, engine)
    expected = translator.translate_detailed(SOURCES, beam=5, batch_size=64, return_attention=True)
    sizes = []
    search = translator._search

    def counted(ids, *rest, **options):
        sizes.append(len(ids))
        return search(ids, *rest, **options)

    monkeypatch.setattr(translator, "_search", counted)
    set_budget(monkeypatch, translator, 2 * 5 + 1, attention=True)  # two longest sentences at beam 5
    got = translator.translate_detailed(SOURCES, beam=5, batch_size=64, return_attention=True)
    assert [t.text for t in got] == [t.text for t in expected]
    assert [t.score for t in got] == pytest.approx([t.score for t in expected], abs=1e-5)
    assert max(sizes) <= 3 and sum(sizes) == sum(1 for line in SOURCES if line) and len(sizes) >= 3


def test_sampling_counts_its_samples_as_rows(made, monkeypatch):
    translator = load(made, "torch")
    set_budget(monkeypatch, translator, 20.5)
    assert len(translator.translate_detailed(SOURCES, sample=20, seed=1)[0].nbest) == 20
    with pytest.raises(S2SError, match=r"^sample 21 needs about .* the largest sample that fits is 20 \(--sample\)\.$"):
        translator.translate_detailed(SOURCES, sample=21, seed=1)


@pytest.mark.parametrize("engine", ["torch", "onnx"])
@pytest.mark.parametrize("flag", ["--beam", "--sample"])
def test_the_cli_refuses_a_beam_or_sample_that_cannot_fit_before_translating(made, monkeypatch, capsys, engine, flag):
    if engine == "onnx" and flag == "--sample":
        pytest.skip("the onnx engine does not sample")
    translator = load(made, engine)
    set_budget(monkeypatch, translator, 3.5)
    assert main(["translate", "--engine", engine, "--checkpoint", str(made[engine]), "--input", str(made["text"]),
                 flag, "4"]) == 2
    captured = capsys.readouterr()
    assert not captured.out and "Traceback" not in captured.err
    assert re.search(rf"error: {flag[2:]} 4 needs about .* the largest {flag[2:]} that fits is 3 \({flag}\)\.",
                     captured.err), captured.err


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_serve_refuses_a_max_beam_whose_longest_request_cannot_fit(made, monkeypatch, engine):
    translator = load(made, engine)
    set_budget(monkeypatch, translator, 12.5, length=translator.max_input_tokens, attention=True)
    with pytest.raises(S2SError, match=r"^--max-beam 13 is too large for model '.*': beam 13 needs about .* to decode "
                                       r"a 400-token line .* the largest beam that fits is 12; start s2s serve with a "
                                       r"smaller --max-beam\.$"):
        load_models([str(made[engine])], device="cpu", engine=engine, limits=Limits(max_beam=13))
    assert load_models([str(made[engine])], device="cpu", engine=engine, limits=Limits(max_beam=12))


def test_a_max_beam_above_the_vocabulary_is_checked_at_the_vocabulary(made, monkeypatch):
    translator = load(made, "torch")
    set_budget(monkeypatch, translator, 18.5, length=translator.max_input_tokens, attention=True)
    assert load_models([str(made["torch"])], device="cpu", limits=Limits(max_beam=1000))  # requests get <= 18


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf", "1e40"])
def test_a_bad_memory_budget_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv(MEMORY_ENV, value)
    with pytest.raises(S2SError, match=rf"^{MEMORY_ENV}={value} is not a number of MiB above 0"):
        memory_budget()


def test_the_default_budget_is_half_the_available_memory_at_most_2_gib(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    monkeypatch.setattr("s2s.decoding.limits.available_memory", lambda: 600 * MIB)
    assert memory_budget() == 300 * MIB
    monkeypatch.setattr("s2s.decoding.limits.available_memory", lambda: 64 << 30)
    assert memory_budget() == 2 << 30
    monkeypatch.setattr("s2s.decoding.limits.available_memory", lambda: None)
    assert memory_budget() == 2 << 30
    monkeypatch.setenv(MEMORY_ENV, "512")
    assert memory_budget() == 512 * MIB


class FixedSteps:
    """A numpy step model of a large vocabulary: every step the same distribution, <eos> so unlikely that every
    sentence runs to its length limit."""

    hidden_size = 64

    def __init__(self, vocab: int):
        logits = np.random.default_rng(0).normal(size=vocab).astype(np.float32)
        logits[3] -= 10.0
        self.log_probs = logits - np.log(np.exp(logits).sum())

    def encode(self, src, src_lengths):
        batch, length = src.shape
        return (np.zeros((batch, length, self.hidden_size), np.float32),
                {"h": np.zeros((1, batch, self.hidden_size), np.float32)}, src != 0)

    def decode_step(self, prev_tokens, states, enc_states, src_mask):
        return np.tile(self.log_probs, (prev_tokens.size, 1)), states, None


def test_the_estimate_bounds_what_the_numpy_search_allocates():
    vocab, beam, sentences = 6000, 40, [[5] * 12, [6] * 9, [7] * 12, [8] * 4]
    model = FixedSteps(vocab)
    translator = SimpleNamespace(model=model, tgt_vocab=range(vocab))
    estimate = sum(sentence_bytes(translator, len(ids), beam, 2.0, False) for ids in sentences)
    src, src_lengths = pad(sentences)
    tracemalloc.start()
    try:
        hypotheses = beam_search(model, src, src_lengths, beam=beam, max_len_ratio=2.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [len(best.tokens) for best, *_ in hypotheses] == [34, 28, 34, 18]  # 2 * source + 10, <eos> not among them
    assert 0.3 * estimate < peak <= estimate  # an estimate, on the safe side, of the right size


@pytest.mark.parametrize("engine", ["torch", "onnx"])
@pytest.mark.parametrize("temperature", [1e-300, 5e-324, 1e-11, 0.0])
def test_a_temperature_below_float_precision_is_greedy_decoding(made, engine, temperature):
    translator = load(made, engine)
    greedy = translator.translate_detailed(SOURCES, beam=1)
    sampled = translator.translate_detailed(SOURCES, sample=3, temperature=temperature, seed=1)
    for line, one in zip(sampled, greedy):
        assert [text for text, _ in line.nbest] == [one.text] * 3
        assert line.text == one.text and line.score == pytest.approx(one.score, abs=1e-6)


def test_the_cli_samples_at_1e_300_as_greedy(made, capsys):
    base = ["translate", "--checkpoint", str(made["torch"]), "--input", str(made["text"]), "--device", "cpu"]
    assert main([*base, "--beam", "1"]) == 0
    greedy = capsys.readouterr().out.splitlines()
    assert main([*base, "--sample", "3", "--temperature", "1e-300"]) == 0
    listed = [line.split(" ||| ") for line in capsys.readouterr().out.splitlines()]
    assert [text for _, text, _ in listed] == [text for text in greedy for _ in range(3)]
    assert "null" not in {text for _, text, _ in listed}


def test_just_above_the_threshold_sampling_keeps_the_most_likely_token():
    log_probs = torch.log_softmax(torch.randn(50, 30, generator=torch.Generator().manual_seed(0)), -1)
    uniforms = torch.rand(50, generator=torch.Generator().manual_seed(1))
    assert torch.equal(draw(log_probs, uniforms, GREEDY_TEMPERATURE), log_probs.argmax(-1))


@pytest.mark.parametrize("temperature", [1e-300, 5e-324, 1e-11])
def test_a_language_model_generates_at_a_tiny_temperature_as_at_zero(temperature):
    from s2s.config import ModelConfig
    from s2s.models import build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(name="lstm_lm", emb_size=8, hidden_size=16, dropout=0.0), 20, 20)
    logits = torch.randn(40, 20, generator=torch.Generator().manual_seed(2))
    assert torch.equal(next_tokens(logits, temperature, 0, None), next_tokens(logits, 0.0, 0, None))
    greedy = sample(model, [5, 6], n=2, max_tokens=10, temperature=0.0)
    assert sample(model, [5, 6], n=2, max_tokens=10, temperature=temperature,
                  generator=torch.Generator().manual_seed(3)) == greedy


@pytest.fixture(scope="module")
def language_model():
    """A TextGenerator of a random tiny lstm_lm over a few words."""
    from s2s.config import ModelConfig
    from s2s.data.tokenizers import build_tokenizer
    from s2s.data.vocab import Vocab
    from s2s.decoding.generator import TextGenerator
    from s2s.models import build_model

    torch.manual_seed(0)
    vocab = Vocab.build(line.split() for line in SOURCES)
    model = build_model(ModelConfig(name="lstm_lm", emb_size=8, hidden_size=16, dropout=0.0), len(vocab), len(vocab))
    return TextGenerator(model, build_tokenizer("whitespace"), vocab, None, "cpu")


def test_generate_refuses_more_samples_than_fit_naming_the_largest_n(language_model, monkeypatch):
    from s2s.decoding.limits import model_width, row_bytes

    vocab, hidden = len(language_model.vocab), model_width(language_model.model)
    row = row_bytes(vocab, hidden, 0, 200, False) + 4 * (2 + 1) * (vocab + hidden)  # a 2-token prompt
    monkeypatch.setenv(MEMORY_ENV, repr(3.5 * row / MIB))
    with pytest.raises(S2SError, match=r"^n 4 samples of up to 200 tokens after a 2-token prompt need about .* MiB "
                                       r"with this model \(a 18-token vocabulary\), more than the .* MiB a decoding batch "
                                       r"may take \(S2S_DECODE_MEMORY_MB=.*\); the largest n that fits is 3 \(-n\)\.$"):
        language_model.generate("the cat", n=4, max_tokens=200, seed=1)
    assert len(language_model.generate("the cat", n=3, max_tokens=200, seed=1)) == 3
    with pytest.raises(S2SError, match=r"not even one sample fits: lower --max-tokens or shorten the prompt\.$"):
        language_model.generate("the cat", n=1, max_tokens=100_000, seed=1)


def test_a_request_that_no_longer_fits_is_a_503_naming_the_largest_beam(made, monkeypatch):
    from fastapi.testclient import TestClient

    from s2s.serving.app import create_app

    models = load_models([str(made["torch"])], device="cpu", limits=Limits(max_beam=8))
    with TestClient(create_app(models, Limits(max_beam=8), max_batch_wait_ms=1)) as client:
        set_budget(monkeypatch, next(iter(models.values())).translator, 3.5)  # less memory than at startup
        answer = client.post("/translate", json={"text": SOURCES, "beam": 8})
        assert answer.status_code == 503
        assert re.search(r"^beam 8 needs about .* the largest beam that fits is 3 \(--beam\)\.$", answer.json()["error"])
        assert client.post("/translate", json={"text": SOURCES, "beam": 3}).status_code == 200


def test_a_line_that_fits_no_beam_at_all_says_what_to_lower(made, monkeypatch):
    translator = load(made, "torch")
    set_budget(monkeypatch, translator, 0.5, attention=True)
    with pytest.raises(S2SError, match=r"^beam 1 needs about .*; not even beam 1 fits: lower --max-len-ratio or split "
                                       r"the line \(--beam\)\.$"):
        translator.translate_detailed(SOURCES, beam=1, return_attention=True)
