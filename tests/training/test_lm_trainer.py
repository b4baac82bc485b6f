"""Language models through the trainer: sentence and stream (truncated BPTT) training, perplexity, exact resume."""

import json

import pytest
import torch

from s2s.checkpoint import load_checkpoint
from s2s.config import config_from_dict
from s2s.data.batching import stream_window
from s2s.decoding.generator import TextGenerator
from s2s.errors import S2SError
from s2s.training.lm_trainer import LanguageModelTrainer, make_trainer
from s2s.training.trainer import Trainer

SENTENCE = "the cat sat on the mat and the dog sat on the log"


def lm_config(tmp_path, run_dir, data=None, **train):
    """A tiny GRU LM on a text file holding one sentence many times."""
    text, valid = tmp_path / "text.txt", tmp_path / "valid.txt"
    text.write_text((SENTENCE + "\n") * 40)
    valid.write_text((SENTENCE + "\n") * 2)
    raw = {"data": {"dataset": "text", "train_text": str(text), "valid_text": str(valid), "tokenizer": "whitespace",
                    **(data or {})},
           "model": {"name": "gru_lm", "emb_size": 16, "hidden_size": 32, "dropout": 0.0},
           "train": {"epochs": 1, "batch_tokens": 140, "lr": 0.01, "log_every": 5, "seed": 3, "amp": "none",
                     "early_stopping_metric": "loss", "run_dir": str(run_dir), **train},
           "name": "tiny_lm"}
    return config_from_dict(raw)


def quiet(config, run_dir, **options):
    return make_trainer(config, run_dir, log=lambda message: None, **options)


def test_a_tiny_lm_learns_a_deterministic_text(tmp_path):
    trainer = quiet(lm_config(tmp_path, tmp_path / "r", epochs=12, patience=0), tmp_path / "r")
    assert isinstance(trainer, LanguageModelTrainer)
    trainer.train()
    valid = [r for r in map(json.loads, (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) if "valid_ppl" in r]
    assert set(valid[-1]) >= {"valid_loss", "valid_ppl"} and "valid_bleu" not in valid[-1]
    # every next word is determined by the words to its left ("sat on the" -> mat after cat, log after dog), so the
    # model can drive the perplexity towards 1 and greedy sampling recites the sentence
    assert valid[0]["valid_ppl"] > 3 and valid[-1]["valid_ppl"] < 1.1
    generator = TextGenerator.from_checkpoint(tmp_path / "r" / "best.pt", device="cpu")
    assert generator.generate("", temperature=0) == [SENTENCE]
    assert generator.generate("the cat sat on the mat and the", temperature=0) == [SENTENCE]


def test_stream_mode_carries_the_state_between_windows(tmp_path):
    trainer = quiet(lm_config(tmp_path, tmp_path / "r", bptt=5), tmp_path / "r")
    assert trainer.rows() == 28  # batch_tokens 140 // bptt 5
    stream = trainer.stream(1)
    first, second = stream_window(stream, 0, 5), stream_window(stream, 5, 5)
    trainer.model.train()
    trainer.batch_loss(first)
    carried = trainer.carried
    assert carried.grad_fn is None and not carried.requires_grad  # detached: no gradient flows back into window 1
    loss = trainer.batch_loss(second)
    _, state = trainer.model(first.tokens_in)
    expected, _ = trainer.model(second.tokens_in, state.detach(), targets=second.tokens_out)
    from_zeros, _ = trainer.model(second.tokens_in, None, targets=second.tokens_out)
    assert torch.equal(loss, expected) and abs(float(loss - from_zeros)) > 1e-4  # fails if the state were reset

    trainer.model.zero_grad()
    loss.backward()
    truncated = [p.grad.clone() for p in trainer.model.parameters()]
    trainer.model.zero_grad()
    through, _ = trainer.model(second.tokens_in, state, targets=second.tokens_out)  # not detached: BPTT into window 1
    through.backward()
    assert any(not torch.allclose(a, p.grad) for a, p in zip(truncated, trainer.model.parameters()))


def test_stream_epochs_start_from_zeros_and_resume_exactly(tmp_path):
    sections = {"bptt": 5, "epochs": 3, "max_steps": 10, "log_every": 2}
    straight = quiet(lm_config(tmp_path, tmp_path / "a", **sections), tmp_path / "a")
    assert len(straight.epoch_batches(1)) == 4  # 28 rows of 20 tokens: windows at 0, 5, 10, 15
    straight.train()

    first = quiet(lm_config(tmp_path, tmp_path / "b", **sections), tmp_path / "b")
    original = first.train_step

    def step_then_interrupt(batch):
        result = original(batch)
        if first.step == 6:  # inside epoch 2: the carried state must come back from last.pt
            first.stop_signal = 2
        return result

    first.train_step = step_then_interrupt
    first.train()
    payload = load_checkpoint(tmp_path / "b" / "last.pt")
    assert payload["step"] == 6 and payload["trainer"]["carried_state"].shape == (1, 28, 32)
    resumed = quiet(lm_config(tmp_path, tmp_path / "b", **sections), tmp_path / "b", resume=payload)
    resumed.train()
    assert all(torch.equal(a, b) for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()))


def test_the_lm_trains_on_a_parallel_datasets_target_side(tmp_path, make_config):
    config = make_config(tmp_path / "r", model={"name": "gru_lm"}, train={"early_stopping_metric": "loss", "max_steps": 2})
    trainer = quiet(config, tmp_path / "r")
    corpus = trainer.corpus
    assert corpus.src_vocab is corpus.tgt_vocab and corpus.src_tokenizer is corpus.tgt_tokenizer
    assert "drei" in corpus.tgt_vocab.index and "three" not in corpus.tgt_vocab.index  # German: numbers' target side
    assert corpus.splits["valid"].src_ids is corpus.splits["valid"].tgt_ids


@pytest.mark.parametrize("model, train, data, message", [
    ("gru_lm", {}, {}, "'train.early_stopping_metric' is 'bleu', but gru_lm is a language model, scored by perplexity"),
    ("gru_lm", {"early_stopping_metric": "loss", "teacher_forcing": 0.5}, {}, "'train.teacher_forcing' applies to translation models"),
    ("gru_attn", {"bptt": 35}, {}, "'train.bptt' cuts one language's text into windows for a language model; gru_attn"),
    ("gru_attn", {}, {"dataset": "text"}, "data.dataset 'text' is one language's text, which trains language models"),
])
def test_task_settings_are_refused_where_they_do_not_apply(tmp_path, model, train, data, message):
    config = lm_config(tmp_path, tmp_path / "r", data=data)
    config.model.name, config.train.early_stopping_metric = model, "bleu"
    for key, value in train.items():
        setattr(config.train, key, value)
    if data.get("dataset") != "text":
        config.data.dataset = "numbers"
    with pytest.raises(S2SError, match=message.replace("(", r"\(").replace(")", r"\)")):
        quiet(config, tmp_path / "r")
    assert (make_trainer.__module__, Trainer.__name__) == ("s2s.training.lm_trainer", "Trainer")
