"""The encoded-data cache: reused when nothing changed, rebuilt when the data, tokenizer or vocabulary did, never used
when broken, and training from it gives the same batches and weights as training without it."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import build_logged, files_config, said, write_corpus

from s2s.data.batching import gather_batch, token_batches
from s2s.data.corpus import sampled_training_ids
from s2s.data.tokenizers import WhitespaceTokenizer
from s2s.errors import S2SError

build = build_logged


@pytest.fixture
def corpus_files(tmp_path):
    return write_corpus(tmp_path / "text")


def test_a_second_build_maps_the_cached_ids_without_tokenizing_the_training_text(tmp_path, corpus_files, monkeypatch):
    config = files_config(tmp_path)
    first, messages = build(config)
    assert said(messages, "data cache: encoded the 58 training pairs once, into " + str(tmp_path / "cache"))
    calls = []
    original = WhitespaceTokenizer.tokenize
    monkeypatch.setattr(WhitespaceTokenizer, "tokenize", lambda self, text: calls.append(text) or original(self, text))
    second, messages = build(config)
    assert said(messages, "data cache: 58 encoded training pairs memory-mapped from " + str(tmp_path / "cache" / "ids-"))
    assert said(messages, "data cache: tokenizers and vocabularies learned before")
    assert len(calls) == 12  # the validation split's 6 pairs only
    train = second.splits["train"]
    assert isinstance(train.src_ids.ids, np.memmap) and train.src_ids.ids.dtype == np.uint16
    assert train.src_ids == first.splits["train"].src_ids and train.tgt_ids == first.splits["train"].tgt_ids
    assert second.src_vocab.tokens == first.src_vocab.tokens and second.dropped == first.dropped == 2
    assert train.src_text is None  # the training text is not kept (nor read)


def test_the_cache_holds_the_ids_that_encoding_gives(tmp_path, corpus_files):
    cached, _ = build(files_config(tmp_path))
    uncached, _ = build(files_config(tmp_path, cache=False))
    lines = (corpus_files / "train.src").read_text().splitlines()
    kept = [line for line in lines if line and len(line.split()) <= 100]
    assert list(cached.splits["train"].src_ids) == [uncached.src_vocab.encode(line.split()) for line in kept]
    assert cached.splits["train"].src_ids == uncached.splits["train"].src_ids
    assert not (tmp_path / "cache").exists() or len(os.listdir(tmp_path / "cache")) == 2  # cache: false wrote nothing


def test_changed_training_data_is_encoded_again(tmp_path, corpus_files):
    config = files_config(tmp_path)
    build(config)
    write_corpus(corpus_files, seed=1)  # new content
    corpus, messages = build(config)
    assert said(messages, "encoded the 58 training pairs once") and not said(messages, "learned before")
    lines = (corpus_files / "train.tgt").read_text().splitlines()
    assert corpus.splits["train"].tgt_ids[0] == corpus.tgt_vocab.encode(lines[0].split())
    os.utime(corpus_files / "train.src", ns=(1, 1))  # the same bytes, another modification time
    _, messages = build(config)
    assert said(messages, "encoded the 58 training pairs once")


@pytest.mark.parametrize("change, vocabularies_reused", [
    ({"tokenizer": "char"}, False), ({"lowercase": True}, False), ({"min_freq": 2}, False), ({"max_len": 8}, True),
])
def test_changed_settings_give_their_own_entries(tmp_path, corpus_files, change, vocabularies_reused):
    build(files_config(tmp_path))
    corpus, messages = build(files_config(tmp_path, **change))
    assert said(messages, "training pairs once") and said(messages, "learned before") == vocabularies_reused
    uncached, _ = build(files_config(tmp_path, cache=False, **change))
    assert corpus.splits["train"].src_ids == uncached.splits["train"].src_ids
    assert corpus.src_vocab.tokens == uncached.src_vocab.tokens
    _, messages = build(files_config(tmp_path))  # the first settings still find theirs
    assert said(messages, "memory-mapped from")


def test_a_changed_sentencepiece_vocabulary_size_is_learned_and_encoded_again(tmp_path, corpus_files):
    small, _ = build(files_config(tmp_path, tokenizer="sentencepiece", vocab_size=30))
    larger, messages = build(files_config(tmp_path, tokenizer="sentencepiece", vocab_size=40))
    assert said(messages, "encoded the 58 training pairs once") and not said(messages, "learned before")
    assert len(larger.src_vocab) > len(small.src_vocab)
    again, messages = build(files_config(tmp_path, tokenizer="sentencepiece", vocab_size=30))
    assert said(messages, "learned before") and said(messages, "memory-mapped from")
    assert again.splits["train"].src_ids == small.splits["train"].src_ids


def test_a_checkpoints_vocabularies_find_the_ids_their_run_cached(tmp_path, corpus_files):
    """--resume and the other torchrun ranks pass the vocabularies in: the same tokenizers and tokens, the same key."""
    first, _ = build(files_config(tmp_path, tokenizer="sentencepiece", vocab_size=30))
    from s2s.data.tokenizers import tokenizer_from_state
    from s2s.data.vocab import Vocab

    given = (tokenizer_from_state(first.src_tokenizer.state()), tokenizer_from_state(first.tgt_tokenizer.state()),
             Vocab(first.src_vocab.tokens), Vocab(first.tgt_vocab.tokens))
    second, messages = build(files_config(tmp_path, tokenizer="sentencepiece", vocab_size=30), vocabularies=given)
    assert said(messages, "memory-mapped from") and second.splits["train"].src_ids == first.splits["train"].src_ids


def ids_entry(tmp_path):
    (entry,) = (tmp_path / "cache").glob("ids-*")
    return entry


@pytest.mark.parametrize("damage, reason", [
    (lambda entry: (entry / "src_ids.npy").write_bytes((entry / "src_ids.npy").read_bytes()[:-10]),
     r"src_ids.npy has \d+ bytes, the manifest says \d+"),
    (lambda entry: (entry / "manifest.json").unlink(), "no manifest.json"),
    (lambda entry: (entry / "tgt_offsets.npy").unlink(), "tgt_offsets.npy is missing"),
    (lambda entry: (entry / "tgt_ids.npy").write_bytes((entry / "tgt_ids.npy").read_bytes()[:-2] + b"\xff\xff"),
     "tgt_ids.npy fails its CRC-32 check"),
    (lambda entry: (entry / "manifest.json").write_text("{"), "manifest.json cannot be read"),
], ids=["truncated", "no-manifest", "missing-array", "flipped-bytes", "garbled-manifest"])
def test_a_broken_entry_is_reported_and_rebuilt_never_used(tmp_path, corpus_files, damage, reason):
    import re

    config = files_config(tmp_path)
    first, _ = build(config)
    expected = [list(first.splits["train"].src_ids), list(first.splits["train"].tgt_ids)]
    damage(ids_entry(tmp_path))
    corpus, messages = build(config)
    assert any(re.search(rf"data cache: .*ids-\w+ is unusable \({reason}.*\); rebuilding it", m) for m in messages), messages
    assert said(messages, "encoded the 58 training pairs once")
    assert [list(corpus.splits["train"].src_ids), list(corpus.splits["train"].tgt_ids)] == expected
    _, messages = build(config)  # the rebuilt entry is whole again
    assert said(messages, "memory-mapped from") and not said(messages, "unusable")


def test_arrays_that_disagree_with_their_manifest_are_rebuilt(tmp_path, corpus_files):
    """Checksums that pass do not make an entry usable: its offsets must hold the pairs the manifest counts."""
    import json
    import shutil

    from s2s.data.cache import DataCache

    config = files_config(tmp_path)
    build(config)
    entry = ids_entry(tmp_path)
    manifest = json.loads((entry / "manifest.json").read_text())
    arrays = {name: np.load(entry / name) for name in manifest["files"]}
    arrays["tgt_offsets.npy"] = arrays["tgt_offsets.npy"][:-1]
    shutil.rmtree(entry)
    DataCache(tmp_path / "cache").save("ids", manifest["key"], manifest["meta"], arrays)  # with matching checksums
    corpus, messages = build(config)
    assert said(messages, "is unusable (its arrays do not hold the 58 pairs its manifest says); rebuilding it")
    assert len(corpus.splits["train"].tgt_ids) == 58 and said(build(config)[1], "memory-mapped from")


def test_an_unwritable_cache_folder_is_reported_and_the_run_goes_on(tmp_path, corpus_files):
    (tmp_path / "a-file").write_text("not a folder")
    corpus, messages = build(files_config(tmp_path, cache_dir=str(tmp_path / "a-file")))
    assert said(messages, f"data cache: cannot write to {tmp_path / 'a-file'}") and len(corpus.splits["train"].src_ids) == 58


def test_sampled_subwords_read_the_kept_training_lines_next_to_cached_ids(tmp_path, corpus_files):
    settings = {"tokenizer": "sentencepiece", "vocab_size": 30, "subword_alpha": 0.3}
    cold, _ = build(files_config(tmp_path, **settings))
    warm, messages = build(files_config(tmp_path, **settings))
    assert said(messages, "memory-mapped from")
    lines = (corpus_files / "train.src").read_text().splitlines()
    assert warm.splits["train"].src_text == [line for i, line in enumerate(lines) if i not in (5, 9)]
    config = files_config(tmp_path, **settings)
    assert sampled_training_ids(warm, config.data, seed=4) == sampled_training_ids(cold, config.data, seed=4)


def test_identical_batches_with_and_without_the_cache(tmp_path, corpus_files):
    cold, _ = build(files_config(tmp_path))
    warm, _ = build(files_config(tmp_path))
    uncached, _ = build(files_config(tmp_path, cache=False))
    for corpus in (cold, warm):
        for seed in (None, 1, 2):
            train, reference = corpus.splits["train"], uncached.splits["train"]
            batches = token_batches(train.src_ids.lengths, train.tgt_ids.lengths, 60, seed)
            expected = token_batches(reference.src_ids.lengths, reference.tgt_ids.lengths, 60, seed)
            assert [b.tolist() for b in batches] == [b.tolist() for b in expected]
            for indices in batches:
                got, want = gather_batch(train.src_ids, train.tgt_ids, indices), gather_batch(reference.src_ids, reference.tgt_ids, indices)
                assert all(torch.equal(getattr(got, name), getattr(want, name)) for name in ("src", "src_lengths", "tgt_in", "tgt_out"))


def test_identical_trained_weights_with_and_without_the_cache(tmp_path, make_config):
    from s2s.training.trainer import Trainer

    weights = []
    for name, cache in (("off", False), ("cold", True), ("warm", True)):
        config = make_config(tmp_path / name, train={"max_steps": 5, "epochs": 2},
                             data={"cache": cache, "cache_dir": str(tmp_path / "cache")})
        messages = []
        trainer = Trainer(config, tmp_path / name, log=messages.append)
        trainer.train()
        weights.append(trainer.model.state_dict())
        assert said(messages, "memory-mapped from") == (name == "warm")
    assert all(torch.equal(weights[0][k], other[k]) for other in weights[1:] for k in weights[0])


def test_blank_and_long_pairs_are_dropped_and_counted_on_cold_and_warm_runs(tmp_path, corpus_files):
    for run in ("cold", "warm"):
        corpus, messages = build(files_config(tmp_path))
        assert said(messages, "data: 58 training pairs (2 dropped: 1 blank, 1 longer than max_len=100 tokens); "
                              "vocabularies: source 18, target 19"), run  # target: + "empty"
        assert corpus.dropped == 2


def test_a_warm_cache_does_not_read_the_training_files(tmp_path, corpus_files):
    """The files' identity is their path, size and modification time: bytes that are not UTF-8 under the same
    identity go unnoticed, because the files are not opened (and are an error once they are)."""
    config = files_config(tmp_path)
    cold, _ = build(config)
    for name in ("train.src", "train.tgt"):
        path = corpus_files / name
        stat = path.stat()
        path.write_bytes(b"\xff" * stat.st_size)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    warm, messages = build(config)
    assert said(messages, "memory-mapped from") and warm.splits["train"].src_ids == cold.splits["train"].src_ids
    with pytest.raises(S2SError, match=r"train.src', line 1: not valid UTF-8"):
        build(files_config(tmp_path, max_len=50))  # another ids entry: the text is read again


def test_a_cold_run_streams_the_training_text_and_reads_only_valid_and_test_whole(tmp_path, corpus_files, monkeypatch):
    import s2s.data.corpus as corpus_module
    from s2s.data.tokenizers import SentencePieceTokenizer

    whole, trained_on = [], []
    original_read, original_train = corpus_module.read_parallel, SentencePieceTokenizer.train
    monkeypatch.setattr(corpus_module, "read_parallel", lambda *paths: whole.append(paths) or original_read(*paths))
    monkeypatch.setattr(SentencePieceTokenizer, "train", lambda self, lines: trained_on.append(type(lines)) or original_train(self, lines))
    corpus, _ = build(files_config(tmp_path, tokenizer="sentencepiece", vocab_size=30))
    assert whole == [(str(corpus_files / "valid.src"), str(corpus_files / "valid.tgt"))]
    assert len(trained_on) == 2 and list not in trained_on
    assert corpus.splits["train"].src_text is None and len(corpus.splits["train"].src_ids) == 58


def test_undecodable_training_text_names_the_file_and_line(tmp_path, corpus_files):
    path = corpus_files / "train.tgt"
    lines = path.read_bytes().split(b"\n")
    lines[40] += b" caf\xe9"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(S2SError) as error:
        build(files_config(tmp_path))
    assert str(error.value) == (f"data file '{path}', line 41: not valid UTF-8 (invalid continuation byte at byte "
                                f"{len(lines[40]) - 1}). Convert the file to UTF-8, e.g. `iconv -f latin1 -t utf-8`.")


@pytest.mark.parametrize("tokenizer", ["sentencepiece", "whitespace"])
def test_a_training_file_that_ends_early_is_an_error_naming_both_files_and_the_line(tmp_path, corpus_files, tokenizer):
    """With SentencePiece the first reading of the text is the tokenizer's training, inside SentencePiece."""
    target = corpus_files / "train.tgt"
    target.write_text("".join(target.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(S2SError) as error:
        build(files_config(tmp_path, tokenizer=tokenizer, vocab_size=30))
    source = corpus_files / "train.src"
    assert str(error.value).startswith(f"parallel files differ in length: '{target}' ends after line 59, but '{source}' "
                                       f"goes on ('{source}' has 60 lines, '{target}' has 59).")


# Builds the corpus of the config in argv[1] once a second process is ready too (files ready-<pid> in argv[2]), and
# prints what it logged and what it mapped, as JSON. The builder writes the cache entry only once the other process
# has logged that it waits for the lock (file waiting-<pid>; at most 60 s), so the two overlap however slowly a
# loaded machine runs them (a fixed pause of a second was not always enough under CI load).
BUILD_IN_A_PROCESS = """
import hashlib, json, os, sys, time
from pathlib import Path
from s2s.config import load_config
from s2s.data.cache import DataCache
from s2s.data.corpus import build_corpus

config, ready = load_config(sys.argv[1]), Path(sys.argv[2])
save = DataCache.save
def save_once_the_other_waits(self, *args):
    deadline = time.monotonic() + 60
    while not list(ready.glob("waiting-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    return save(self, *args)
DataCache.save = save_once_the_other_waits
(ready / f"ready-{os.getpid()}").touch()
while len(list(ready.glob("ready-*"))) < 2:
    time.sleep(0.01)
class Messages(list):
    def append(self, message):
        super().append(message)
        if "waiting for" in message:
            (ready / f"waiting-{os.getpid()}").touch()
messages = Messages()
train = build_corpus(config.data, log=messages.append).splits["train"]
print(json.dumps({"pid": os.getpid(), "messages": messages, "mapped": str(train.src_ids.ids.filename),
                  "sha256": [hashlib.sha256(array.tobytes()).hexdigest() for ids in (train.src_ids, train.tgt_ids)
                             for array in (ids.ids, ids.offsets)]}))
"""


def test_two_processes_building_one_corpus_at_once_build_it_once_and_map_the_same_files(tmp_path, corpus_files):
    """What the ranks of a torchrun job on one machine do when none of them has the data yet (a first run with
    vocabularies given, a --resume): the first to take the cache's lock builds, the other waits, then maps."""
    import json
    import subprocess
    import sys

    from s2s.config import save_config

    save_config(files_config(tmp_path), tmp_path / "config.yaml")
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    processes = [subprocess.Popen([sys.executable, "-c", BUILD_IN_A_PROCESS, str(tmp_path / "config.yaml"), str(tmp_path)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err for _, err in outputs]
    builder, waiter = sorted((json.loads(out) for out, _ in outputs), key=lambda result: not said(result["messages"], "encoded the"))
    assert said(builder["messages"], "data cache: encoded the 58 training pairs once")
    assert not said(waiter["messages"], "encoded the") and said(waiter["messages"], "memory-mapped from")
    # the lock's holder writes its pid into the lock file just after taking the lock: a waiter that looks in between
    # finds it empty and names "another process" (seen once under CI load)
    assert any(said(waiter["messages"], f"data cache: waiting for {holder}, which is building this data in "
                                        f"{tmp_path / 'cache'}") for holder in (f"process {builder['pid']}", "another process"))
    assert waiter["mapped"] == builder["mapped"] and waiter["sha256"] == builder["sha256"]
    assert sorted(path.name[:4] for path in (tmp_path / "cache").iterdir()) == ["ids-", "voca"]  # no lock file left


def test_clearing_deletes_only_what_the_cache_wrote(tmp_path):
    """--clear deletes an entry's own files (its manifest lists them and names its kind and key) and a write in
    progress (it holds the marker save() puts there first); a folder merely named like an entry is left whole."""
    import json
    import shutil

    from s2s.data.cache import MANIFEST, WRITING, DataCache, clear, list_entries

    cache = DataCache(tmp_path, log=lambda message: None)
    entry = cache.save("ids", "a" * 64, {}, {"ids.npy": np.arange(3)})
    (tmp_path / ".ids-interrupted.tmp-x").mkdir()
    (tmp_path / ".ids-interrupted.tmp-x" / WRITING).touch()
    (tmp_path / ".ids-interrupted.tmp-x" / "ids.npy").write_bytes(b"half")
    trash = tmp_path / f".trash-vocabularies-{'b' * 32}-1-2"  # an entry being deleted when its process died
    shutil.copytree(cache.save("vocabularies", "b" * 64, {}, {"v.json": b"{}"}), trash)
    forged = tmp_path / f"ids-{'c' * 32}"  # a manifest of another entry's key: not this folder's
    forged.mkdir()
    (forged / "notes.txt").write_text("mine\n")
    (forged / MANIFEST).write_text(json.dumps({"kind": "ids", "key": "d" * 64, "files": {"notes.txt": {}}}))
    (tmp_path / "ids-backup").mkdir()  # empty, but nothing says it is the cache's
    assert [listed["name"] for listed in list_entries(tmp_path)] == [
        ".ids-interrupted.tmp-x", f".trash-vocabularies-{'b' * 32}-1-2", entry.name, f"vocabularies-{'b' * 32}"]
    items, size, left = clear(tmp_path)
    assert items == 4 and size > 0  # the two entries, the half-deleted copy and the interrupted write
    assert [path.name for path in left] == ["ids-backup", forged.name]
    assert sorted(os.listdir(tmp_path)) == ["ids-backup", forged.name] and (forged / "notes.txt").read_text() == "mine\n"
