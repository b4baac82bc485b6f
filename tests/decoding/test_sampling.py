"""Sampled decoding: the draw at given uniforms, seeds that repeat, samples that do not depend on the batch,
temperature 0 as greedy, the options refused by name, and sampling with a prefix and with an ensemble."""

import io
import math
import sys

import pytest
import torch
from helpers import rounded_nbest
from search_models import as_batch, random_sentences, tiny_model

from s2s.cli import main
from s2s.decoding.ensemble import Ensemble
from s2s.decoding.sampling import draw, sample_search
from s2s.decoding.translation import Sampling
from s2s.decoding.translator import Translator
from s2s.errors import S2SError

LOG_PROBS = torch.tensor([[math.log(0.5), math.log(0.3), math.log(0.2), float("-inf")]] * 3)


def test_a_draw_inverts_the_cumulative_distribution():
    at = torch.tensor([0.1, 0.6, 0.85])  # cumulative: 0.5, 0.8, 1.0
    assert draw(LOG_PROBS, at, 1.0).tolist() == [0, 1, 2]
    assert draw(LOG_PROBS, torch.tensor([0.9999999] * 3), 1.0).tolist() == [2, 2, 2]  # never the impossible token 3


def test_top_k_top_p_and_temperature_reshape_the_distribution():
    at = torch.tensor([0.1, 0.6, 0.9])
    assert draw(LOG_PROBS, at, 1.0, top_k=1).tolist() == [0, 0, 0]
    assert draw(LOG_PROBS, at, 1.0, top_k=2).tolist() == [0, 0, 1]  # 0.625, 0.375 of the two left
    assert draw(LOG_PROBS, at, 1.0, top_p=0.7).tolist() == [0, 0, 1]  # 0.5 + 0.3 reach 0.7: token 2 is cut
    assert draw(LOG_PROBS, at, 1.0, top_p=0.5).tolist() == [0, 0, 0]  # 0.5 alone reaches 0.5
    assert draw(LOG_PROBS, at, 0.01).tolist() == [0, 0, 0]  # a cold distribution: the most likely token
    assert draw(LOG_PROBS, at, 100.0).tolist() == [0, 1, 2]  # a hot one: near uniform over the three, 1/3 each


def sampled(model, sentences, seed=1, n=3, lines=None, **options):
    src, lengths = as_batch(sentences)
    sampling = Sampling(n, options.pop("temperature", 1.0), options.pop("top_k", 0), options.pop("top_p", 1.0), seed,
                        lines if lines is not None else list(range(len(sentences))))
    return [[(tokens, round(score, 4)) for tokens, score, _ in samples]
            for samples in sample_search(model, src, lengths, sampling, **options)]


def test_a_seed_repeats_the_samples_and_the_batch_does_not_change_them():
    model, sentences = tiny_model("gru_attn"), random_sentences(8, seed=2)
    samples = sampled(model, sentences, temperature=2.0)
    assert len({tuple(tokens) for line in samples for tokens, _ in line}) > 12  # they differ
    assert sampled(model, sentences, temperature=2.0) == samples
    assert sampled(model, sentences, seed=2, temperature=2.0) != samples
    one_at_a_time = [sampled(model, [s], lines=[i], temperature=2.0)[0] for i, s in enumerate(sentences)]
    assert one_at_a_time == samples
    assert [line[:2] for line in samples] == sampled(model, sentences, n=2, temperature=2.0)  # sample k: the same


def test_an_ensemble_samples_from_its_mean_log_probs():
    model, sentences = tiny_model("lstm_attn"), random_sentences(6, seed=3)
    alone = sampled(model, sentences, top_k=5, temperature=1.5)
    assert sampled(Ensemble([model, tiny_model("lstm_attn")]), sentences, top_k=5, temperature=1.5) == alone


def test_each_sample_is_scored_with_its_log_probability(numbers_translator):
    [result] = numbers_translator.translate_detailed(["seven thousand three hundred"], sample=4, seed=0, temperature=3)
    assert len(result.nbest) == 4 and result.text == result.nbest[0][0]
    assert len(set(result.nbest)) > 1
    forced = numbers_translator.score(["seven thousand three hundred"] * 4, [text for text, _ in result.nbest])
    assert [score for _, score in result.nbest] == pytest.approx([f["log_prob"] for f in forced], abs=1e-4)


def test_temperature_zero_is_greedy(numbers_translator):
    lines = ["seven hundred three", "forty two", "", "nine"]
    greedy = numbers_translator.translate_detailed(lines, beam=1)
    for translation, best in zip(numbers_translator.translate_detailed(lines, sample=2, temperature=0.0), greedy):
        assert translation.nbest == ([(best.text, best.score)] * 2 if best.text else [])


def test_lines_sample_the_same_in_any_batch_and_chunk(numbers_translator):
    lines = ["seven hundred three", "forty two", "", "nine thousand five", "sixty"] * 3
    options = {"sample": 3, "seed": 7, "temperature": 2.0, "top_p": 0.95}
    batched = numbers_translator.translate_detailed(lines, batch_size=64, **options)
    expected = rounded_nbest(batched)
    assert rounded_nbest(numbers_translator.translate_detailed(lines, batch_size=2, **options)) == expected
    assert rounded_nbest(numbers_translator.translate_stream(lines, chunk_size=4, **options)) == expected
    assert batched[0].nbest != batched[5].nbest  # the same line at another place samples anew


def test_samples_start_with_the_prefix(numbers_translator):
    results = numbers_translator.translate_detailed(["seven hundred three", "forty two"], sample=5, seed=3,
                                                    temperature=2.0, prefix=["acht hundert", ""])
    assert all(text.startswith("acht hundert") for text, _ in results[0].nbest)
    assert len({text for text, _ in results[0].nbest}) > 1


def test_sampling_with_an_ensemble_of_checkpoints(numbers_checkpoint, numbers_translator):
    ensemble = Translator.from_checkpoint([numbers_checkpoint, numbers_checkpoint], device="cpu")
    options = {"sample": 3, "seed": 5, "temperature": 2.0}
    assert [t.nbest for t in ensemble.translate_detailed(["seven hundred three", "forty"], **options)] == \
        [t.nbest for t in numbers_translator.translate_detailed(["seven hundred three", "forty"], **options)]


@pytest.mark.parametrize("options, shown", [
    ({"temperature": float("nan")}, "sampling option temperature must be a finite number, got nan"),
    ({"temperature": float("inf")}, "sampling option temperature must be a finite number, got inf"),
    ({"temperature": -0.5}, "sampling option temperature must be >= 0, got -0.5"),
    ({"top_p": 0.0}, "sampling option top_p must be in (0, 1], got 0.0"),
    ({"top_p": 1.5}, "sampling option top_p must be <= 1.0, got 1.5"),
    ({"top_k": -1}, "sampling option top_k must be >= 0, got -1"),
    ({"sample": 2.5}, "sampling option sample must be an integer, got 2.5"),
    ({"sample": -1}, "sampling option sample must be >= 1, got -1"),
    ({"seed": -3}, "sampling option seed must be >= 0, got -3"),
    ({"beam": 4}, "sampling draws its translations one token at a time, so it takes no beam (beam 4)"),
    ({"nbest": 2}, "so it takes no nbest (nbest 2)"),
])
def test_bad_sampling_options_are_clear_errors(numbers_translator, options, shown):
    with pytest.raises(S2SError) as error:
        numbers_translator.translate(["nine"], **{"sample": 2, **options})
    assert shown in str(error.value)


def test_translate_writes_samples_as_nbest_lines(numbers_checkpoint, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("seven hundred three\n\nforty two\n")
    translate = ["translate", "--checkpoint", str(numbers_checkpoint), "--input", str(tmp_path / "in.txt")]
    command = translate + ["--sample", "3", "--seed", "11", "--temperature", "2", "--top-k", "4"]
    assert main(command) == 0
    out = capsys.readouterr().out
    assert [line.split(" ||| ")[0] for line in out.splitlines()] == ["0", "0", "0", "1", "2", "2", "2"]
    assert len(set(out.splitlines())) > 3  # the samples differ
    assert main(command) == 0 and capsys.readouterr().out == out  # the seed repeats them
    assert main(translate + ["--sample", "1", "--seed", "11"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3  # one sample per line: plain lines
    assert main(translate + ["--top-p", "0.5"]) == 2
    assert "--top-p shapes sampling; add --sample N" in capsys.readouterr().err
    assert main(translate + ["--sample", "2", "--beam", "3"]) == 2
    assert "so it takes no beam (beam 3)" in capsys.readouterr().err



class Terminal(io.StringIO):
    """stdin as a terminal: translate reads it line by line, interactively."""

    def isatty(self):
        return True


def test_interactive_translation_samples_and_refuses_a_prefix(numbers_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", Terminal("nine\n"))
    assert main(["translate", "--checkpoint", str(numbers_checkpoint), "--sample", "2", "--temperature", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1] and lines[0].startswith("0 ||| neun ||| -")
    (tmp_path / "prefix.txt").write_text("neun\n")
    monkeypatch.setattr(sys, "stdin", Terminal("nine\n"))
    assert main(["translate", "--checkpoint", str(numbers_checkpoint), "--prefix", str(tmp_path / "prefix.txt")]) == 2
    assert "--prefix goes line by line with the input; give --input FILE or pipe the input in" in capsys.readouterr().err


def test_no_translation_outputs_a_token_that_writes_a_control_character():
    """A byte-fallback vocabulary holds <0x0A> (a newline: one output line would become two) and <0x00> (NUL); label
    smoothing leaves them a little probability, so sampling drew them (found with everyday-de-en: 4 of 1,000 samples
    held NUL or another control character). Search and sampling never output them; scoring is unchanged."""
    from s2s.config import DecodeConfig
    from s2s.data.tokenizers import build_tokenizer
    from s2s.data.vocab import Vocab
    from s2s.decoding.translation import NeverOutputs
    from s2s.specials import control_tokens

    words = list("abcdefghijklmnop")
    words[3], words[5], words[7] = "<0x0A>", "<0x00>", "x\x07"  # ids 7, 9, 11
    assert control_tokens(["<pad>", "<0x09>", "<0x20>", "<0x7F>", "<0xC3>", "a\tb", "ab", "<0x0a"]) == [1, 3, 5]
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + words)
    model = tiny_model("gru_attn")
    translator = Translator(model, build_tokenizer("whitespace"), build_tokenizer("whitespace"), vocab, vocab,
                            DecodeConfig(batch_size=4))
    assert translator.never_output == [7, 9, 11] and isinstance(translator.search_model(), NeverOutputs)
    sources = [" ".join(words[i % 16] for i in range(k, k + 5)) for k in range(12)]
    options = {"sample": 20, "temperature": 3.0, "seed": 1}
    drawn = {token for t in translator.translate_detailed(sources, **options) for text, _ in t.nbest
             for token in text.split(" ")}
    assert drawn and not drawn & {"<0x0A>", "<0x00>", "x\x07"}
    translator.never_output = []  # the same model and samples without the rule: it draws them (the test can fail)
    drawn = {token for t in translator.translate_detailed(sources, **options) for text, _ in t.nbest
             for token in text.split(" ")}
    assert drawn & {"<0x0A>", "<0x00>", "x\x07"}
    assert translator.score(["a b"], ["<0x0A> b"])[0]["log_prob"] > float("-inf")  # given text is scored as it is
