"""From a data config to encoded splits: read or generate text, train tokenizers, build vocabularies, encode once.

With data.cache on, what the training text yields is kept in the data cache (data/cache.py) and found again by a key
of everything it depends on: the learned tokenizers and vocabularies ("vocabularies" entries) and the training
pairs' ids as flat arrays ("ids" entries), which later runs memory-map instead of reading, tokenizing and encoding
the training text again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from s2s.config import DataConfig, corpus_entries
from s2s.data import numbers
from s2s.data.augment import KINDS as AUGMENT_KINDS, VERSION as AUGMENT_VERSION, augment_pairs
from s2s.data.cache import FORMAT, DataCache, fingerprint, format_bytes, library_versions, resolve_cache_dir
from s2s.data.encoding import EncodedPairs, TokenizedPairs, resolve_workers, tokenize_pairs
from s2s.data.readers import file_identity, iter_lines, iter_pairs, read_lines, read_parallel
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
    parts: dict[str, tuple[int, int]] = field(default_factory=dict)  # several corpora: {name: (first, end) line}


@dataclass
class Corpus:
    splits: dict[str, Split]  # "train", "valid", and "test" when the data has one
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    src_vocab: Vocab
    tgt_vocab: Vocab
    dropped: int  # training pairs left out: blank, or longer than max_len


def _named_paths(dataset: str, data: DataConfig, data_dir: str, mirror: str) -> dict[str, tuple]:
    """{split: (source path, target path)} of a downloadable dataset, fetched (or copied from `mirror`) into `data_dir`."""
    folder = Path(data_dir or f"data/{dataset}")
    if dataset == "multi30k":
        from s2s.data.multi30k import multi30k_paths

        return multi30k_paths(data.src, data.tgt, folder, mirror or None)
    from s2s.data.tatoeba import tatoeba_paths

    return tatoeba_paths(data.src, data.tgt, folder, mirror or None)


def _split_paths(data: DataConfig) -> dict[str, tuple]:
    """{split: (source path, target path)} of a named dataset or of the data.*_src/*_tgt files; for one-language
    text (data.*_text) both paths are the same file."""
    if data.dataset in ("multi30k", "tatoeba"):
        return _named_paths(data.dataset, data, data.data_dir, data.mirror)
    if data.dataset == "text":
        paths = {name: (getattr(data, f"{name}_text"),) * 2 for name in SPLITS}
    else:
        paths = {name: (getattr(data, f"{name}_src"), getattr(data, f"{name}_tgt")) for name in SPLITS}
    if not (paths["valid"][0] and paths["valid"][1]):
        raise S2SError("data: 'valid_src' and 'valid_tgt' must be set; validation picks the best checkpoint.")
    return {name: pair for name, pair in paths.items() if pair[0] and pair[1]}


def corpus_sources(data: DataConfig) -> list[tuple[str, int, dict[str, tuple]]]:
    """[(name, weight, {split: (source path, target path)})]: the corpora of data.corpora, or the one dataset."""
    entries = corpus_entries(data)
    if not entries:
        return [(data.dataset, 1, _split_paths(data))]
    sources = []
    for entry in entries:
        if entry.dataset == "files":
            paths = {name: (getattr(entry, f"{name}_src"), getattr(entry, f"{name}_tgt")) for name in SPLITS}
            paths = {name: pair for name, pair in paths.items() if pair[0] and pair[1]}
        else:
            paths = _named_paths(entry.dataset, data, entry.data_dir, entry.mirror)
        sources.append((entry.name, entry.weight, paths))
    return sources


def read_split_parts(data: DataConfig, names: tuple[str, ...] = ("valid", "test")) -> dict[str, dict[str, tuple]]:
    """{split: {corpus name: (source lines, target lines)}} of the named splits (not "train") that each corpus has."""
    parts: dict[str, dict[str, tuple]] = {}
    for corpus, _, paths in corpus_sources(data):
        for name in names:
            if name in paths:
                parts.setdefault(name, {})[corpus] = read_parallel(*paths[name])
    return parts


def read_splits(data: DataConfig, names: tuple[str, ...] = SPLITS) -> dict[str, tuple[list[str], list[str]]]:
    """Raw text of the named splits that the data has, from the built-in generator, a named dataset, file paths, or
    several corpora (their splits one after another)."""
    if data.dataset == "numbers":
        try:
            generated = numbers.generate(data.numbers_train, data.numbers_valid, data.numbers_test,
                                         data.numbers_max_digits, data.numbers_seed)
        except ValueError as error:
            raise S2SError(f"data.numbers_*: {error}.") from None
        return {name: generated[name] for name in names if name in generated}
    if data.dataset == "text":
        paths = _split_paths(data)
        return {name: _read_text(paths[name][0]) for name in names if name in paths}
    if data.dataset != "corpora":
        paths = _split_paths(data)
        return {name: read_parallel(*paths[name]) for name in names if name in paths}
    splits = {}
    for name, parts in read_split_parts(data, names).items():
        splits[name] = ([line for src, _ in parts.values() for line in src], [line for _, tgt in parts.values() for line in tgt])
    return splits


def _read_text(path: str) -> tuple[list[str], list[str]]:
    """One-language text as a (source, target) pair of the same lines."""
    lines = read_lines(path)
    if not lines:
        raise S2SError(f"text file '{path}' is empty; give one sentence per line.")
    return lines, lines


def _make_tokenizer(data: DataConfig) -> Tokenizer:
    options = {"lowercase": data.lowercase}
    if data.tokenizer == "sentencepiece":
        options.update(vocab_size=data.vocab_size, model_type=data.sp_model_type, byte_fallback=data.sp_byte_fallback,
                       split_digits=data.sp_split_digits)
    return build_tokenizer(data.tokenizer, **options)


class _TrainingText:
    """The training pairs (with data.train_limit): the built-in task's generated text, or streamed from the files
    each time something reads them, so that a large corpus is never held in memory as text.
    monolingual (language models): the target side only, as both sides; the source file is never read."""

    def __init__(self, data: DataConfig, generated: tuple[list[str], list[str]] | None, monolingual: bool = False):
        self.data, self.generated, self._paths, self.monolingual = data, generated, None, monolingual
        self.augment = {kind: getattr(data, f"augment_{kind}") for kind in AUGMENT_KINDS if getattr(data, f"augment_{kind}")}
        if generated is not None and monolingual:
            generated = self.generated = (generated[1], generated[1])
        if generated is not None and data.train_limit:
            self.generated = tuple(side[: data.train_limit] for side in generated)

    def paths(self) -> list[tuple]:
        """[(source path, target path)] of the training files, each repeated as often as its corpus's weight."""
        if self._paths is None:
            self._paths = [paths["train"] for _, weight, paths in corpus_sources(self.data) if "train" in paths
                           for _ in range(weight)]
        return self._paths

    def _limited(self, lines: Iterator) -> Iterator:
        return itertools.islice(lines, self.data.train_limit) if self.data.train_limit else lines

    def pairs(self) -> Iterator[tuple[str, str]]:
        """(source, target) lines; files that differ in length are an error naming both and the line."""
        if self.generated is not None:
            return zip(*self.generated)
        if self.monolingual:
            return ((line, line) for line in self.target_lines())
        pairs = self._limited(itertools.chain.from_iterable(iter_pairs(*pair) for pair in self.paths()))
        return augment_pairs(pairs, self.augment, (self.data.src, self.data.tgt)) if self.augment else pairs

    def source_lines(self) -> Iterator[str]:
        """The source side, read with the target side (so that a length mismatch shows on the first reading)."""
        if self.monolingual:
            return self.target_lines()
        return (src for src, _ in self.pairs())

    def target_lines(self) -> Iterator[str]:
        if self.generated is not None:
            return iter(self.generated[1])
        if self.augment:  # the variants change the target side too
            return (tgt for _, tgt in self.pairs())
        return self._limited(itertools.chain.from_iterable(iter_lines(pair[1]) for pair in self.paths()))

    def lists(self) -> tuple[list[str], list[str]]:
        """Both sides in memory, for what needs them there (sampled segmentations)."""
        if self.generated is not None:
            return self.generated
        if self.monolingual:
            lines = list(self.target_lines())
            return lines, lines
        src, tgt = [], []
        for src_line, tgt_line in self.pairs():
            src.append(src_line)
            tgt.append(tgt_line)
        return src, tgt

    def identity(self) -> dict:
        """What the training text is, for the cache keys: the generated text's SHA-256 for the built-in task, else
        each file's resolved path, size and modification time (the files are not read)."""
        if self.generated is not None:
            return {"generated_sha256": hashlib.sha256("\n".join(line for side in self.generated for line in side).encode()).hexdigest()}
        pairs = self.paths()
        paths = [pair[1] for pair in pairs] if self.monolingual else [path for pair in pairs for path in pair]
        identity = {"files": [file_identity(path) for path in paths], "train_limit": self.data.train_limit}
        if self.augment:  # only then, so that the keys of unaugmented data stay as they were
            identity["augment"], identity["augment_version"] = self.augment, AUGMENT_VERSION
        return identity


def _train_tokenizers(data: DataConfig, text: _TrainingText) -> tuple[Tokenizer, Tokenizer]:
    """Tokenizers learned on the training text, read as a stream (and not at all by tokenizers that learn nothing);
    for one language's text (text.monolingual) one tokenizer, learned on the target side, shared by both sides."""
    src_tokenizer = _make_tokenizer(data)
    if text.monolingual:
        src_tokenizer.train(text.target_lines())
        return src_tokenizer, src_tokenizer
    if data.joint_vocab:
        src_tokenizer.train(itertools.chain(text.source_lines(), text.target_lines()))
        return src_tokenizer, src_tokenizer
    tgt_tokenizer = _make_tokenizer(data)
    src_tokenizer.train(text.source_lines())
    tgt_tokenizer.train(text.target_lines())
    return src_tokenizer, tgt_tokenizer


def _vocab(tokenizer: Tokenizer, counts: dict[str, int], min_freq: int, sampled: bool) -> Vocab:
    """The tokens of the training text; with sampled segmentations or byte fallback every piece of the subword model,
    since sampling produces pieces that the deterministic segmentation never does, and a character unseen in training
    is spelled in byte pieces that the training text may never use."""
    every_piece = sampled or getattr(tokenizer, "byte_fallback", False)
    return Vocab(SPECIALS + tokenizer.pieces()) if every_piece else Vocab.from_counts(counts, min_freq)


def _sampled_sides(data: DataConfig) -> tuple[bool, bool]:
    return tuple(bool(data.subword_alpha) and data.subword_sides in (side, "both") for side in ("src", "tgt"))


def _learn_vocabularies(data: DataConfig, tokenizers: tuple, tokenized: TokenizedPairs,
                        monolingual: bool = False) -> tuple[Vocab, Vocab]:
    """(src_vocab, tgt_vocab) of the tokenized training text; monolingual: one vocabulary of the target side, shared
    by both sides."""
    sampled_src, sampled_tgt = _sampled_sides(data)
    if monolingual:
        vocab = _vocab(tokenizers[1], tokenized.counts(1), data.min_freq, sampled_tgt)
        return vocab, vocab
    if data.joint_vocab:
        counts = Counter(tokenized.counts(0))
        counts.update(tokenized.counts(1))
        vocab = _vocab(tokenizers[0], counts, data.min_freq, sampled_src or sampled_tgt)
        return vocab, vocab
    return (_vocab(tokenizers[0], tokenized.counts(0), data.min_freq, sampled_src),
            _vocab(tokenizers[1], tokenized.counts(1), data.min_freq, sampled_tgt))


def _vocabularies_key(data: DataConfig, train: dict, monolingual: bool = False) -> str:
    """Everything the learned tokenizers and vocabularies depend on."""
    settings = {name: getattr(data, name) for name in ("tokenizer", "lowercase", "joint_vocab", "min_freq")}
    if data.tokenizer == "sentencepiece":
        settings.update(vocab_size=data.vocab_size, sp_model_type=data.sp_model_type)
        settings.update({key: True for key in ("sp_byte_fallback", "sp_split_digits") if getattr(data, key)})
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


def _load_ids(cache: DataCache, key: str) -> EncodedPairs | None:
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
    return EncodedPairs(TokenIds(files["src_ids.npy"], files["src_offsets.npy"]),
                        TokenIds(files["tgt_ids.npy"], files["tgt_offsets.npy"]), np.asarray(files["dropped.npy"]), meta["blank"])


def _save_ids(cache: DataCache, key: str, train: dict, encoded: EncodedPairs) -> bool:
    """Write the training pairs' ids to the cache; True when written."""
    src_ids, tgt_ids = encoded.src_ids, encoded.tgt_ids
    arrays = {"src_ids.npy": src_ids.ids, "src_offsets.npy": src_ids.offsets, "tgt_ids.npy": tgt_ids.ids,
              "tgt_offsets.npy": tgt_ids.offsets, "dropped.npy": encoded.dropped}
    meta = {"pairs": len(src_ids), "dropped": len(encoded.dropped), "blank": encoded.blank, "src_tokens": len(src_ids.ids),
            "tgt_tokens": len(tgt_ids.ids), "train": train}
    folder = cache.save("ids", key, meta, arrays)
    if folder is not None:
        cache.log(f"data cache: encoded the {len(src_ids)} training pairs once, into {folder} "
                  f"({format_bytes(sum(array.nbytes for array in arrays.values()))}); runs with the same data, tokenizers "
                  f"and vocabularies map them from there (`s2s data cache --list`, `--clear`)")
    return folder is not None


def _training_ids(data: DataConfig, text: _TrainingText, cache: DataCache | None, train: dict,
                  vocabularies: tuple | None, log) -> tuple[EncodedPairs, tuple]:
    """(the training pairs' ids, (src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab)): from the cache where it has
    them, else learned and encoded from the training text (read as a stream), and put into the cache. For one
    language's text (text.monolingual) each line is tokenized and encoded once: both sides share its ids."""
    monolingual = text.monolingual
    if vocabularies is None and cache:
        vocabularies = _load_vocabularies(cache, _vocabularies_key(data, train, monolingual))
    if vocabularies is not None and cache:
        ids_key = _ids_key(data, train, vocabularies, monolingual)
        encoded = _load_ids(cache, ids_key)
        if encoded is not None:
            log(f"data cache: {len(encoded.src_ids)} encoded training pairs memory-mapped from {cache.path('ids', ids_key)} "
                f"({format_bytes(sum(ids.ids.nbytes + ids.offsets.nbytes for ids in (encoded.src_ids, encoded.tgt_ids)))})")
            return encoded, vocabularies
    tokenizers = _train_tokenizers(data, text) if vocabularies is None else vocabularies[:2]
    tokenized = tokenize_pairs(text.pairs(), *tokenizers, resolve_workers(data.workers), log, shared=monolingual)
    if vocabularies is None:
        vocabularies = (*tokenizers, *_learn_vocabularies(data, tokenizers, tokenized, monolingual))
        if cache:
            _save_vocabularies(cache, _vocabularies_key(data, train, monolingual), train, vocabularies)
    encoded = tokenized.encode(vocabularies[2], vocabularies[3], data.max_len)
    del tokenized  # its per-chunk ids: as large as the encoded arrays
    if cache:
        ids_key = _ids_key(data, train, vocabularies, monolingual)
        if _save_ids(cache, ids_key, train, encoded):
            encoded = _load_ids(cache, ids_key) or encoded  # train from the mapped files, as later runs will
    return encoded, vocabularies


def build_corpus(data: DataConfig, log=print, vocabularies: tuple | None = None, monolingual: bool = False) -> Corpus:
    """Read, tokenize and encode every split; tokenizers and vocabularies are learned on train only.

    vocabularies: (src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab) from a checkpoint, to reuse instead of learning.
    monolingual: for language models, only the target side (data.tgt, or the data.*_text files): both sides of every
    split are its text, with one tokenizer and vocabulary.
    With data.cache, the learned vocabularies and the training ids come from the cache when it has them (the training
    ids then stay on disk, memory-mapped; the training text is not read) and go into it when not; processes on one
    machine that need the same entries at once build them once (DataCache.exclusive). The training text is read as a
    stream, never held in memory, except where something needs it: sampled segmentations (data.subword_alpha) and
    the built-in task (the run folder gets a copy).
    """
    cache = DataCache(resolve_cache_dir(data.cache_dir), log) if data.cache else None
    generated = data.dataset == "numbers"  # the generator makes every split at once: keep its training text
    raw = read_splits(data, SPLITS if generated else ("valid", "test"))
    parts = {}  # several corpora: {split: {corpus: (first line, end)}} in the valid and test splits
    if data.dataset == "corpora":
        for name, found in read_split_parts(data).items():
            ends = list(itertools.accumulate(len(src) for src, _ in found.values()))
            parts[name] = dict(zip(found, zip([0] + ends[:-1], ends)))
    if monolingual:
        raw = {name: (tgt, tgt) for name, (_, tgt) in raw.items()}
    text = _TrainingText(data, raw.pop("train", None), monolingual)
    train = text.identity() if cache else {}
    with cache.exclusive(fingerprint(train)) if cache else contextlib.nullcontext():
        encoded, vocabularies = _training_ids(data, text, cache, train, vocabularies, log)
    src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab = vocabularies
    src_ids, tgt_ids, dropped = encoded.src_ids, encoded.tgt_ids, encoded.dropped
    if not len(src_ids):
        raise S2SError(f"no training pairs left after dropping blank pairs and pairs longer than data.max_len={data.max_len}.")

    splits = {"train": Split(None, None, src_ids, tgt_ids)}
    if generated or data.subword_alpha:
        src, tgt = text.lists()
        kept = np.ones(len(src), dtype=bool)
        kept[dropped] = False
        splits["train"].src_text = [line for line, k in zip(src, kept) if k]
        splits["train"].tgt_text = [line for line, k in zip(tgt, kept) if k]
    for name, (src, tgt) in raw.items():  # validation and test: every pair, however long
        tgt_split_ids = TokenIds.from_lists(map(tgt_vocab.encode, tgt_tokenizer.tokenize_lines(tgt)), len(tgt_vocab))
        src_split_ids = tgt_split_ids if monolingual else \
            TokenIds.from_lists(map(src_vocab.encode, src_tokenizer.tokenize_lines(src)), len(src_vocab))
        splits[name] = Split(src, tgt, src_split_ids, tgt_split_ids, parts.get(name, {}))
    log(f"data: {len(src_ids)} training pairs ({len(dropped)} dropped: {encoded.blank} blank, "
        f"{len(dropped) - encoded.blank} longer than max_len={data.max_len} tokens); "
        f"vocabularies: source {len(src_vocab)}, target {len(tgt_vocab)}")
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
