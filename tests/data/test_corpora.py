"""Tests for several corpora in one run (data.dataset: corpora) and for text as people type it (SentencePiece byte
fallback and split digits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import build_logged, tiny_config_dict, write_corpus

from s2s.config import config_from_dict, corpus_entries
from s2s.data.corpus import _vocab
from s2s.data.tokenizers import SentencePieceTokenizer
from s2s.errors import S2SError
from s2s.specials import UNK
from s2s.training.trainer import Trainer


def corpora_config(tmp_path: Path, corpora: list, **data):
    settings = {"dataset": "corpora", "corpora": corpora, "cache_dir": str(tmp_path / "cache"), **data}
    return config_from_dict(tiny_config_dict(tmp_path / "run", data=settings))


def files_entry(folder: Path, name: str, valid: bool = True, **extra) -> dict:
    entry = {"dataset": "files", "name": name, "train_src": str(folder / "train.src"), "train_tgt": str(folder / "train.tgt")}
    if valid:
        entry.update(valid_src=str(folder / "valid.src"), valid_tgt=str(folder / "valid.tgt"))
    return {**entry, **extra}


@pytest.mark.parametrize("corpora, dataset, message", [
    (["multi30k"], "files", "'data.corpora' lists corpora but 'data.dataset' is 'files'; set data.dataset: corpora"),
    ([], "corpora", "'data.corpora' is empty; list them, e.g. corpora: [multi30k, tatoeba]"),
    (["europarl"], "corpora", "entry 1: 'dataset' is 'europarl'; choose one of multi30k, tatoeba, files"),
    ([{"dataset": "tatoeba", "wieght": 2}], "corpora", "entry 1 has an unknown key 'wieght'. Did you mean 'weight'?"),
    ([{"dataset": "tatoeba", "weight": 0}], "corpora", "entry 1: 'weight' must be a whole number >= 1"),
    ([{"dataset": "tatoeba", "weight": "x"}], "corpora", "entry 1: 'weight' must be of type int"),
    (["tatoeba", "tatoeba"], "corpora", "names 'tatoeba' more than once"),
    ([{"dataset": "files", "train_src": "a"}], "corpora", "a 'files' corpus needs 'train_src' and 'train_tgt'"),
    ([{"dataset": "files", "train_src": "a", "train_tgt": "b"}], "corpora", "no corpus in data.corpora has a validation split"),
    ([{"dataset": "multi30k", "train_src": "a"}], "corpora", "a multi30k corpus brings its own splits"),
    ([3], "corpora", "entry 1 is 3; give a dataset name"),
])
def test_bad_corpora_entries_are_clear_errors(tmp_path, corpora, dataset, message) -> None:
    raw = tiny_config_dict(tmp_path, data={"dataset": dataset, "corpora": corpora})
    with pytest.raises(S2SError) as error:
        config_from_dict(raw, "c.yaml")
    assert message in str(error.value)
    assert str(error.value).startswith("c.yaml")


def test_a_name_weight_shorthand_gives_defaults(tmp_path) -> None:
    config = corpora_config(tmp_path, ["multi30k", {"dataset": "tatoeba", "weight": 3, "name": "everyday"}])
    entries = corpus_entries(config.data)
    assert [(entry.dataset, entry.name, entry.weight) for entry in entries] == [("multi30k", "multi30k", 1),
                                                                               ("tatoeba", "everyday", 3)]


def test_weights_repeat_training_pairs_and_each_dev_set_is_scored(tmp_path) -> None:
    first, second = write_corpus(tmp_path / "a", pairs=40, seed=1), write_corpus(tmp_path / "b", pairs=30, seed=2)
    config = corpora_config(tmp_path, [files_entry(first, "alpha", weight=2), files_entry(second, "beta"),
                                       files_entry(second, "beta_train_only", valid=False)])
    corpus, messages = build_logged(config)
    kept_per_copy = {"alpha": 38, "beta": 28}  # write_corpus drops a blank and an overlong line
    assert len(corpus.splits["train"].src_ids) == 2 * kept_per_copy["alpha"] + 2 * kept_per_copy["beta"]
    assert corpus.splits["valid"].parts == {"alpha": (0, 6), "beta": (6, 12)}
    assert corpus.splits["valid"].src_text[6:] == (second / "valid.src").read_text().splitlines()

    trainer = Trainer(config, tmp_path / "run", log=lambda message: None)
    trainer.train()
    record = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
              if "valid_bleu" in line][-1]
    assert record["valid_bleu"] == round((record["valid_bleu_alpha"] + record["valid_bleu_beta"]) / 2, 2)
    assert record["valid_chrf"] == round((record["valid_chrf_alpha"] + record["valid_chrf_beta"]) / 2, 2)


def test_one_corpus_keeps_the_single_dataset_metrics(tmp_path) -> None:
    folder = write_corpus(tmp_path / "a", pairs=40)
    config = corpora_config(tmp_path, [files_entry(folder, "only")])
    corpus, _ = build_logged(config)
    assert corpus.splits["valid"].parts == {"only": (0, 6)}
    trainer = Trainer(config, tmp_path / "run", log=lambda message: None)
    assert set(trainer.validate(trainer.model)) == {"valid_loss", "valid_ppl", "valid_bleu", "valid_chrf"}


TYPED = ["Zürich, 12.03.2024: „Naïve“ café — ½ price?!", "Ça coûte 1 234 567,89 € (≈ $1.3M) 🙂",
         "Łódź ŞİŞLİ Ørsted ﬁx 日本語", "Call +49 30 1234567 or mail anna.müller@example.org #42"]


@pytest.fixture(scope="module")
def byte_tokenizer() -> SentencePieceTokenizer:
    tokenizer = SentencePieceTokenizer(vocab_size=300, byte_fallback=True, split_digits=True)
    tokenizer.train(["the cat sat on the mat", "a dog ran in the park 12", "where is the station ?"] * 50)
    return tokenizer


@pytest.mark.parametrize("text", TYPED)
def test_byte_fallback_spells_unseen_characters_in_bytes_and_they_come_back(byte_tokenizer, text) -> None:
    vocab = _vocab(byte_tokenizer, {"▁the": 5}, min_freq=1, sampled=False)
    tokens = byte_tokenizer.tokenize(text)
    ids = vocab.encode(tokens)
    assert UNK not in ids  # every character is in the vocabulary: as a piece, or as its UTF-8 bytes
    normalized = byte_tokenizer._processor.normalize(text).replace("▁", " ").strip()  # NFKC: "½" is "1⁄2"
    assert byte_tokenizer.detokenize(vocab.decode(ids)) == normalized
    assert "⁇" not in byte_tokenizer.detokenize(vocab.decode(ids))


def test_split_digits_makes_every_digit_a_piece(byte_tokenizer) -> None:
    pieces = byte_tokenizer.tokenize("In 1942 we had 1234567 sheep")
    text = [chr(int(piece[3:5], 16)) if piece.startswith("<0x") else piece.lstrip("▁") for piece in pieces]
    digits = [piece for piece in text if any(c.isdigit() for c in piece)]
    assert digits == list("19421234567")  # one piece each: learned digits (1, 2) or bytes of unseen ones


def test_the_options_survive_a_saved_state(byte_tokenizer) -> None:
    state = byte_tokenizer.state()
    assert state["byte_fallback"] is state["split_digits"] is True
    loaded = type(byte_tokenizer).from_state(state)
    assert loaded.tokenize("ñ 42") == byte_tokenizer.tokenize("ñ 42")
    plain = SentencePieceTokenizer(vocab_size=300)
    plain.train(["the cat sat on the mat"] * 20)
    assert "byte_fallback" not in plain.state()  # older tokenizers' states (and cache keys) are unchanged
