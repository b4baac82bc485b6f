"""From a data config to encoded splits: read or generate text, train tokenizers, build vocabularies, encode once.

With data.cache on, what the training text yields is kept in the data cache (data/cache.py) and found again by a key
of everything it depends on: the learned tokenizers and vocabularies ("vocabularies" entries) and the training
pairs' ids as flat arrays ("ids" entries), which later runs memory-map instead of reading, tokenizing and encoding
the training text again.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from s2s.config import DataConfig
from s2s.data import numbers
from s2s.data.cache import FORMAT, DataCache, fingerprint, format_bytes, library_versions, resolve_cache_dir
from s2s.data.readers import file_identity, read_lines, read_parallel
from s2s.data.token_ids import TokenIds
from s2s.data.tokenizers import Tokenizer, build_tokenizer, tokenizer_from_state
from s2s.data.vocab import SPECIALS, Vocab
from s2s.errors import S2SError

SPLITS = ("train", "valid", "test")


@dataclass
class Split:
    src_text: list[str] | None  # None for the training split when its text is not kept (see build_corpus)
    tgt_text: list[str] | None
    src_ids: TokenIds
    tgt_ids: TokenIds


@dataclass
class Corpus:
    splits: dict[str, Split]  # "train", "valid", and "test" when the data has one
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    src_vocab: Vocab
    tgt_vocab: Vocab
    dropped: int  # training pairs over max_len


def _split_paths(data: DataConfig) -> dict[str, tuple]:
    """{split: (source path, target path)} of a named dataset or of the data.*_src/*_tgt files; for one-language
    text (data.*_text) both paths are the same file."""
    if data.dataset == "multi30k":
        from s2s.data.multi30k import multi30k_paths

        return multi30k_paths(data.src, data.tgt, Path(data.data_dir), data.mirror or None)
    if data.dataset == "text":
        paths = {name: (getattr(data, f"{name}_text"),) * 2 for name in SPLITS}
    else:
        paths = {name: (getattr(data, f"{name}_src"), getattr(data, f"{name}_tgt")) for name in SPLITS}
    if not (paths["valid"][0] and paths["valid"][1]):
        raise S2SError("data: 'valid_src' and 'valid_tgt' must be set; validation picks the best checkpoint.")
    return {name: pair for name, pair in paths.items() if pair[0] and pair[1]}


def read_splits(data: DataConfig, names: tuple[str, ...] = SPLITS) -> dict[str, tuple[list[str], list[str]]]:
    """Raw text of the named splits that the data has, from the built-in generator, a named dataset, or file paths."""
    if data.dataset == "numbers":
        try:
            generated = numbers.generate(data.numbers_train, data.numbers_valid, data.numbers_test,
                                         data.numbers_max_digits, data.numbers_seed)
        except ValueError as error:
            raise S2SError(f"data.numbers_*: {error}.") from None
        return {name: generated[name] for name in names if name in generated}
    paths = _split_paths(data)
    if data.dataset == "text":
        return {name: _read_text(paths[name][0]) for name in names if name in paths}
    return {name: read_parallel(*paths[name]) for name in names if name in paths}


def _read_text(path: str) -> tuple[list[str], list[str]]:
    """One-language text as a (source, target) pair of the same lines."""
    lines = read_lines(path)
    if not lines:
        raise S2SError(f"text file '{path}' is empty; give one sentence per line.")
    return lines, lines


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


def _sampled_sides(data: DataConfig) -> tuple[bool, bool]:
    return tuple(bool(data.subword_alpha) and data.subword_sides in (side, "both") for side in ("src", "tgt"))


def _learn_vocabularies(data: DataConfig, train: tuple[list[str], list[str]], monolingual: bool = False) -> tuple[tuple, tuple]:
    """((src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab), the tokenized training text) learned on train.
    monolingual: one tokenizer and vocabulary learned on the target side only, shared by both sides."""
    if monolingual:
        tokenizer = _make_tokenizer(data)
        tokenizer.train(train[1])
        tokenized = [tokenizer.tokenize(line) for line in train[1]]
        vocab = _vocab(tokenizer, tokenized, data.min_freq, _sampled_sides(data)[1])
        return (tokenizer, tokenizer, vocab, vocab), (tokenized, tokenized)
    src_tokenizer, tgt_tokenizer = _train_tokenizers(data, *train)
    src_tok, tgt_tok = _tokenize(src_tokenizer, tgt_tokenizer, train)
    sampled_src, sampled_tgt = _sampled_sides(data)
    if data.joint_vocab:
        src_vocab = tgt_vocab = _vocab(src_tokenizer, src_tok + tgt_tok, data.min_freq, sampled_src or sampled_tgt)
    else:
        src_vocab = _vocab(src_tokenizer, src_tok, data.min_freq, sampled_src)
        tgt_vocab = _vocab(tgt_tokenizer, tgt_tok, data.min_freq, sampled_tgt)
    return (src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab), (src_tok, tgt_tok)


def _tokenize(src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer, text: tuple[list[str], list[str]]) -> tuple[list, list]:
    src, tgt = text
    return [src_tokenizer.tokenize(s) for s in src], [tgt_tokenizer.tokenize(t) for t in tgt]


def _encode_training_pairs(tokenized: tuple[list, list], src_vocab: Vocab, tgt_vocab: Vocab,
                           max_len: int) -> tuple[TokenIds, TokenIds, np.ndarray]:
    """(src_ids, tgt_ids, line numbers of the dropped pairs): pairs with an empty side or a side over max_len tokens
    are dropped."""
    src_tok, tgt_tok = tokenized
    keep = [bool(s) and bool(t) and len(s) <= max_len and len(t) <= max_len for s, t in zip(src_tok, tgt_tok)]
    tgt_ids = TokenIds.from_lists((tgt_vocab.encode(t) for t, k in zip(tgt_tok, keep) if k), len(tgt_vocab))
    if src_tok is tgt_tok and src_vocab is tgt_vocab:  # one-language text: both sides are the same ids
        src_ids = tgt_ids
    else:
        src_ids = TokenIds.from_lists((src_vocab.encode(s) for s, k in zip(src_tok, keep) if k), len(src_vocab))
    return src_ids, tgt_ids, np.flatnonzero(~np.array(keep, dtype=bool)).astype(np.int64)


class _TrainingText:
    """The training text, read (with data.train_limit) only when something needs it."""

    def __init__(self, data: DataConfig, text: tuple[list[str], list[str]] | None, monolingual: bool = False):
        self.data, self.text, self.monolingual = data, None, monolingual
        if text is not None:
            self._keep(text)

    def _keep(self, text: tuple[list[str], list[str]]) -> None:
        if self.monolingual:  # the target side only, as both sides
            text = (text[1], text[1])
        self.text = tuple(side[: self.data.train_limit] for side in text) if self.data.train_limit else text

    def get(self) -> tuple[list[str], list[str]]:
        if self.text is None:
            self._keep(read_splits(self.data, ("train",))["train"])
        return self.text

    def identity(self) -> dict:
        """What the training text is, for the cache keys: the generated text's SHA-256 for the built-in task, else
        each file's resolved path, size and modification time (the files are not read)."""
        if self.data.dataset == "numbers":
            return {"generated_sha256": hashlib.sha256("\n".join(line for side in self.get() for line in side).encode()).hexdigest()}
        return {"files": [file_identity(path) for path in _split_paths(self.data)["train"]],
                "train_limit": self.data.train_limit}


def _vocabularies_key(data: DataConfig, train: dict, monolingual: bool = False) -> str:
    """Everything the learned tokenizers and vocabularies depend on."""
    settings = {name: getattr(data, name) for name in ("tokenizer", "lowercase", "joint_vocab", "min_freq")}
    if data.tokenizer == "sentencepiece":
        settings.update(vocab_size=data.vocab_size, sp_model_type=data.sp_model_type)
    if monolingual:  # only then, so that the keys of translation data stay as they were
        settings.update(monolingual=True)
    return fingerprint({"format": FORMAT, "train": train, "settings": settings, "sampled": _sampled_sides(data),
                        "versions": library_versions()})


def _ids_key(data: DataConfig, train: dict, vocabularies: tuple, monolingual: bool = False) -> str:
    """Everything the training pairs' ids depend on: the text, the tokenizers (SentencePiece models included), the
    vocabularies' tokens and max_len (and, for one side's text only, that)."""
    src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab = vocabularies
    return fingerprint({"format": FORMAT, "train": train, "max_len": data.max_len, "versions": library_versions(),
                        "tokenizers": [src_tokenizer.state(), tgt_tokenizer.state()],
                        "vocabularies": [src_vocab.tokens, tgt_vocab.tokens], **({"monolingual": True} if monolingual else {})})


def _state_to_json(state: dict) -> dict:
    return {key: {"base64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value for key, value in state.items()}


def _state_from_json(state: dict) -> dict:
    return {key: base64.b64decode(value["base64"]) if isinstance(value, dict) and "base64" in value else value
            for key, value in state.items()}


def _load_vocabularies(cache: DataCache, key: str) -> tuple | None:
    found = cache.load("vocabularies", key)
    if found is None:
        return None
    saved = json.loads(found[1]["vocabularies.json"])
    src_tokenizer = tokenizer_from_state(_state_from_json(saved["src_tokenizer"]))
    tgt_tokenizer = src_tokenizer if saved["joint"] else tokenizer_from_state(_state_from_json(saved["tgt_tokenizer"]))
    src_vocab = Vocab(saved["src_vocab"])
    tgt_vocab = src_vocab if saved["joint"] else Vocab(saved["tgt_vocab"])
    cache.log(f"data cache: tokenizers and vocabularies learned before, from {cache.path('vocabularies', key)}")
    return src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab


def _save_vocabularies(cache: DataCache, key: str, train: dict, vocabularies: tuple) -> None:
    src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab = vocabularies
    saved = {"joint": src_tokenizer is tgt_tokenizer and src_vocab is tgt_vocab,
             "src_tokenizer": _state_to_json(src_tokenizer.state()), "tgt_tokenizer": _state_to_json(tgt_tokenizer.state()),
             "src_vocab": src_vocab.tokens, "tgt_vocab": tgt_vocab.tokens}
    cache.save("vocabularies", key, {"src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab), "train": train},
               {"vocabularies.json": json.dumps(saved).encode()})


IDS_FILES = ("src_ids.npy", "src_offsets.npy", "tgt_ids.npy", "tgt_offsets.npy", "dropped.npy")


def _load_ids(cache: DataCache, key: str) -> tuple[TokenIds, TokenIds, np.ndarray] | None:
    """The training pairs' memory-mapped ids and the dropped line numbers, from the cache."""
    found = cache.load("ids", key)
    if found is None:
        return None
    meta, files = found
    if set(files) != set(IDS_FILES) or any(len(files[f"{side}_offsets.npy"]) != meta["pairs"] + 1
                                           or files[f"{side}_offsets.npy"][-1] != len(files[f"{side}_ids.npy"])
                                           for side in ("src", "tgt")):
        cache.discard("ids", key, f"its arrays do not hold the {meta['pairs']} pairs its manifest says")
        return None
    return (TokenIds(files["src_ids.npy"], files["src_offsets.npy"]), TokenIds(files["tgt_ids.npy"], files["tgt_offsets.npy"]),
            np.asarray(files["dropped.npy"]))


def _save_ids(cache: DataCache, key: str, train: dict, src_ids: TokenIds, tgt_ids: TokenIds, dropped: np.ndarray) -> bool:
    """Write the training pairs' ids to the cache; True when written."""
    arrays = {"src_ids.npy": src_ids.ids, "src_offsets.npy": src_ids.offsets, "tgt_ids.npy": tgt_ids.ids,
              "tgt_offsets.npy": tgt_ids.offsets, "dropped.npy": dropped}
    meta = {"pairs": len(src_ids), "dropped": len(dropped), "src_tokens": len(src_ids.ids), "tgt_tokens": len(tgt_ids.ids),
            "train": train}
    folder = cache.save("ids", key, meta, arrays)
    if folder is not None:
        cache.log(f"data cache: encoded the {len(src_ids)} training pairs once, into {folder} "
                  f"({format_bytes(sum(array.nbytes for array in arrays.values()))}); runs with the same data, tokenizers "
                  f"and vocabularies map them from there (`s2s data cache --list`, `--clear`)")
    return folder is not None


def build_corpus(data: DataConfig, log=print, vocabularies: tuple | None = None, monolingual: bool = False) -> Corpus:
    """Read, tokenize and encode every split; tokenizers and vocabularies are learned on train only.

    vocabularies: (src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab) from a checkpoint, to reuse instead of learning.
    monolingual: for language models, only the target side (data.tgt, or the data.*_text files): both sides of every
    split are its text, with one tokenizer and vocabulary.
    With data.cache, the learned vocabularies and the training ids come from the cache when it has them (the training
    ids then stay on disk, memory-mapped) and go into it when not. The training split's text is kept only where
    something needs it: sampled segmentations (data.subword_alpha) and the built-in task (the run folder gets a copy).
    """
    cache = DataCache(resolve_cache_dir(data.cache_dir), log) if data.cache else None
    generated = data.dataset == "numbers"  # the generator makes every split at once: keep its training text
    raw = read_splits(data, SPLITS if generated else ("valid", "test"))
    if monolingual:
        raw = {name: (tgt, tgt) for name, (_, tgt) in raw.items()}
    training_text = _TrainingText(data, raw.pop("train", None), monolingual)
    train = training_text.identity() if cache else {}
    tokenized = None  # of the training text, when it was tokenized to learn the vocabularies
    if vocabularies is None and cache:
        vocabularies = _load_vocabularies(cache, _vocabularies_key(data, train, monolingual))
    if vocabularies is None:
        vocabularies, tokenized = _learn_vocabularies(data, training_text.get(), monolingual)
        if cache:
            _save_vocabularies(cache, _vocabularies_key(data, train, monolingual), train, vocabularies)
    src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab = vocabularies

    ids_key = _ids_key(data, train, vocabularies, monolingual) if cache else ""
    encoded = _load_ids(cache, ids_key) if cache else None
    if encoded is not None:
        log(f"data cache: {len(encoded[0])} encoded training pairs memory-mapped from {cache.path('ids', ids_key)} "
            f"({format_bytes(sum(ids.ids.nbytes + ids.offsets.nbytes for ids in encoded[:2]))})")
    else:
        encoded = _encode_training_pairs(tokenized or _tokenize(src_tokenizer, tgt_tokenizer, training_text.get()),
                                         src_vocab, tgt_vocab, data.max_len)
        if cache and _save_ids(cache, ids_key, train, *encoded):
            encoded = _load_ids(cache, ids_key) or encoded  # train from the mapped files, as later runs will
    src_ids, tgt_ids, dropped = encoded
    del tokenized  # the token strings of a large corpus take gigabytes
    if not len(src_ids):
        raise S2SError(f"no training pairs left after dropping empty pairs and pairs longer than data.max_len={data.max_len}.")

    splits = {"train": Split(None, None, src_ids, tgt_ids)}
    if generated or data.subword_alpha:
        src, tgt = training_text.get()
        kept = np.ones(len(src), dtype=bool)
        kept[dropped] = False
        splits["train"].src_text = [line for line, k in zip(src, kept) if k]
        splits["train"].tgt_text = [line for line, k in zip(tgt, kept) if k]
    for name, (src, tgt) in raw.items():  # validation and test: every pair, however long
        tgt_split_ids = TokenIds.from_lists((tgt_vocab.encode(tgt_tokenizer.tokenize(t)) for t in tgt), len(tgt_vocab))
        src_split_ids = tgt_split_ids if monolingual else \
            TokenIds.from_lists((src_vocab.encode(src_tokenizer.tokenize(s)) for s in src), len(src_vocab))
        splits[name] = Split(src, tgt, src_split_ids, tgt_split_ids)
    log(f"data: {len(src_ids)} training pairs ({len(dropped)} dropped: empty or longer than "
        f"max_len={data.max_len} tokens); vocabularies: source {len(src_vocab)}, target {len(tgt_vocab)}")
    return Corpus(splits, src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab, len(dropped))


def sampled_training_ids(corpus: Corpus, data: DataConfig, seed: int) -> tuple[TokenIds, TokenIds]:
    """(src_ids, tgt_ids) of the training pairs with a freshly sampled segmentation of the sides that
    data.subword_sides names (data.subword_alpha); the other side keeps its deterministic ids. In memory, not cached."""
    split = corpus.splits["train"]
    src_ids, tgt_ids = split.src_ids, split.tgt_ids
    if data.subword_sides in ("both", "src"):
        src_ids = TokenIds.from_lists((corpus.src_vocab.encode(t) for t in corpus.src_tokenizer.sample(split.src_text, data.subword_alpha, seed)),
                                      len(corpus.src_vocab))
    if data.subword_sides in ("both", "tgt"):
        tgt_ids = TokenIds.from_lists((corpus.tgt_vocab.encode(t) for t in corpus.tgt_tokenizer.sample(split.tgt_text, data.subword_alpha, seed + 1)),
                                      len(corpus.tgt_vocab))
    return src_ids, tgt_ids
