"""From a data config to encoded splits: read or generate text, train tokenizers, build vocabularies, encode once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from s2s.config import DataConfig
from s2s.data import numbers
from s2s.data.readers import read_parallel
from s2s.data.tokenizers import Tokenizer, build_tokenizer
from s2s.data.vocab import SPECIALS, Vocab
from s2s.errors import S2SError


@dataclass
class Split:
    src_text: list[str]
    tgt_text: list[str]
    src_ids: list[list[int]] = field(default_factory=list)
    tgt_ids: list[list[int]] = field(default_factory=list)


@dataclass
class Corpus:
    splits: dict[str, Split]  # "train", "valid", and "test" when the data has one
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    src_vocab: Vocab
    tgt_vocab: Vocab
    dropped: int  # training pairs over max_len


def read_splits(data: DataConfig) -> dict[str, tuple[list[str], list[str]]]:
    """Raw text of each split, from the built-in generator, a named dataset, or file paths."""
    if data.dataset == "numbers":
        try:
            return numbers.generate(data.numbers_train, data.numbers_valid, data.numbers_test,
                                    data.numbers_max_digits, data.numbers_seed)
        except ValueError as error:
            raise S2SError(f"data.numbers_*: {error}.") from None
    if data.dataset == "multi30k":
        from s2s.data.multi30k import multi30k_paths

        paths = multi30k_paths(data.src, data.tgt, Path(data.data_dir), data.mirror or None)
    else:
        paths = {name: (getattr(data, f"{name}_src"), getattr(data, f"{name}_tgt")) for name in ("train", "valid", "test")}
        if not (paths["valid"][0] and paths["valid"][1]):
            raise S2SError("data: 'valid_src' and 'valid_tgt' must be set; validation picks the best checkpoint.")
        paths = {name: pair for name, pair in paths.items() if pair[0] and pair[1]}
    return {name: read_parallel(src, tgt) for name, (src, tgt) in paths.items()}


def _make_tokenizer(data: DataConfig) -> Tokenizer:
    options = {"lowercase": data.lowercase}
    if data.tokenizer == "sentencepiece":
        options.update(vocab_size=data.vocab_size, model_type=data.sp_model_type)
    return build_tokenizer(data.tokenizer, **options)


def _train_tokenizers(data: DataConfig, train_src: list[str], train_tgt: list[str]) -> tuple[Tokenizer, Tokenizer]:
    src_tokenizer = _make_tokenizer(data)
    if data.joint_vocab:
        src_tokenizer.train(train_src + train_tgt)
        return src_tokenizer, src_tokenizer
    tgt_tokenizer = _make_tokenizer(data)
    src_tokenizer.train(train_src)
    tgt_tokenizer.train(train_tgt)
    return src_tokenizer, tgt_tokenizer


def _vocab(tokenizer: Tokenizer, tokenized: list[list[str]], min_freq: int, sampled: bool) -> Vocab:
    """The tokens of the training text; with sampled segmentations every piece of the subword model, since
    sampling produces pieces that the deterministic segmentation never does."""
    return Vocab(SPECIALS + tokenizer.pieces()) if sampled else Vocab.build(tokenized, min_freq)


def build_corpus(data: DataConfig, log=print, vocabularies: tuple | None = None) -> Corpus:
    """Read, tokenize and encode every split; tokenizers and vocabularies are learned on train only.

    vocabularies: (src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab) from a checkpoint, to reuse instead of learning.
    """
    raw = read_splits(data)
    if data.train_limit:
        raw["train"] = tuple(side[: data.train_limit] for side in raw["train"])
    if vocabularies is None:
        src_tokenizer, tgt_tokenizer = _train_tokenizers(data, *raw["train"])
    else:
        src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab = vocabularies
    tokenized = {name: ([src_tokenizer.tokenize(s) for s in src], [tgt_tokenizer.tokenize(t) for t in tgt])
                 for name, (src, tgt) in raw.items()}
    if vocabularies is None:
        src_tok, tgt_tok = tokenized["train"]
        sampled_src, sampled_tgt = (bool(data.subword_alpha) and data.subword_sides in (side, "both") for side in ("src", "tgt"))
        if data.joint_vocab:
            src_vocab = tgt_vocab = _vocab(src_tokenizer, src_tok + tgt_tok, data.min_freq, sampled_src or sampled_tgt)
        else:
            src_vocab = _vocab(src_tokenizer, src_tok, data.min_freq, sampled_src)
            tgt_vocab = _vocab(tgt_tokenizer, tgt_tok, data.min_freq, sampled_tgt)

    splits, dropped = {}, 0
    for name, (src, tgt) in raw.items():
        split = Split([], [])
        for text_s, text_t, s, t in zip(src, tgt, *tokenized[name]):
            if name == "train" and (len(s) > data.max_len or len(t) > data.max_len or not s or not t):
                dropped += 1
                continue
            split.src_text.append(text_s)
            split.tgt_text.append(text_t)
            split.src_ids.append(src_vocab.encode(s))
            split.tgt_ids.append(tgt_vocab.encode(t))
        splits[name] = split
    if not splits["train"].src_ids:
        raise S2SError(f"no training pairs left after dropping empty pairs and pairs longer than data.max_len={data.max_len}.")
    log(f"data: {len(splits['train'].src_ids)} training pairs ({dropped} dropped: empty or longer than "
        f"max_len={data.max_len} tokens); vocabularies: source {len(src_vocab)}, target {len(tgt_vocab)}")
    return Corpus(splits, src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab, dropped)


def sampled_training_ids(corpus: Corpus, data: DataConfig, seed: int) -> tuple[list[list[int]], list[list[int]]]:
    """(src_ids, tgt_ids) of the training pairs with a freshly sampled segmentation of the sides that
    data.subword_sides names (data.subword_alpha); the other side keeps its deterministic ids."""
    split = corpus.splits["train"]
    src_ids, tgt_ids = split.src_ids, split.tgt_ids
    if data.subword_sides in ("both", "src"):
        src_ids = [corpus.src_vocab.encode(t) for t in corpus.src_tokenizer.sample(split.src_text, data.subword_alpha, seed)]
    if data.subword_sides in ("both", "tgt"):
        tgt_ids = [corpus.tgt_vocab.encode(t) for t in corpus.tgt_tokenizer.sample(split.tgt_text, data.subword_alpha, seed + 1)]
    return src_ids, tgt_ids
