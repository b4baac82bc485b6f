"""Chunked, parallel tokenization of the training pairs: the ids do not depend on the workers or the chunks."""

from collections import Counter

import numpy as np
import pytest
from helpers import build_logged, files_config, said, write_corpus

from s2s.data import encoding
from s2s.data.encoding import tokenize_pairs
from s2s.data.token_ids import TokenIds
from s2s.data.tokenizers import CharTokenizer, WhitespaceTokenizer
from s2s.data.vocab import Vocab


@pytest.fixture
def corpus_files(tmp_path):
    return write_corpus(tmp_path / "text")


def entry_files(cache_dir):
    """{entry kind: {file name: bytes}} of a cache folder, without the manifests (they hold the creation time)."""
    return {entry.name.split("-")[0]: {path.name: path.read_bytes() for path in sorted(entry.iterdir())
                                       if path.name != "manifest.json"}
            for entry in sorted(cache_dir.iterdir())}


def test_the_cache_entries_are_byte_identical_whatever_the_number_of_workers(tmp_path, corpus_files, monkeypatch):
    monkeypatch.setattr(encoding, "CHUNK_PAIRS", 7)  # 9 chunks of the 60 pairs, in 2 workers from 20 pairs on
    monkeypatch.setattr(encoding, "PARALLEL_MIN_PAIRS", 20)
    entries = {}
    for workers in (1, 2):
        config = files_config(tmp_path, tokenizer="sentencepiece", vocab_size=40, workers=workers,
                              cache_dir=str(tmp_path / f"cache-{workers}"))
        corpus, messages = build_logged(config)
        assert said(messages, "data: tokenizing the training pairs in 2 worker processes (data.workers)") == (workers == 2)
        assert said(messages, "encoded the 58 training pairs once")
        entries[workers] = entry_files(tmp_path / f"cache-{workers}")
    assert sorted(entries[1]) == ["ids", "vocabularies"] and sorted(entries[1]["ids"]) == [
        "dropped.npy", "src_ids.npy", "src_offsets.npy", "tgt_ids.npy", "tgt_offsets.npy"]
    assert entries[1] == entries[2]


def test_corpora_up_to_the_threshold_are_tokenized_without_workers(tmp_path, corpus_files, monkeypatch):
    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started")

    monkeypatch.setattr(encoding, "ProcessPoolExecutor", no_pool)
    monkeypatch.setattr(encoding, "PARALLEL_MIN_PAIRS", 60)
    corpus, messages = build_logged(files_config(tmp_path, workers=2))
    assert len(corpus.splits["train"].src_ids) == 58 and not said(messages, "worker processes")


@pytest.mark.parametrize("chunk_pairs", [1, 7, 100])
def test_chunks_merge_into_the_counts_and_ids_of_the_whole_text(tmp_path, corpus_files, monkeypatch, chunk_pairs):
    monkeypatch.setattr(encoding, "CHUNK_PAIRS", chunk_pairs)
    src = (corpus_files / "train.src").read_text().splitlines()
    tgt = (corpus_files / "train.tgt").read_text().splitlines()
    src_tokenizer, tgt_tokenizer = WhitespaceTokenizer(), CharTokenizer()
    tokenized = tokenize_pairs(zip(src, tgt), src_tokenizer, tgt_tokenizer)
    src_tokens, tgt_tokens = [src_tokenizer.tokenize(line) for line in src], [tgt_tokenizer.tokenize(line) for line in tgt]
    assert tokenized.counts(0) == Counter(t for line in src_tokens for t in line)
    assert tokenized.counts(1) == Counter(t for line in tgt_tokens for t in line)
    src_vocab, tgt_vocab = Vocab.build(src_tokens, min_freq=2), Vocab.build(tgt_tokens)
    encoded = tokenized.encode(src_vocab, tgt_vocab, max_len=20)
    keep = [0 < len(s) <= 20 and 0 < len(t) <= 20 for s, t in zip(src_tokens, tgt_tokens)]
    assert encoded.src_ids == TokenIds.from_lists([src_vocab.encode(s) for s, k in zip(src_tokens, keep) if k], len(src_vocab))
    assert encoded.tgt_ids == TokenIds.from_lists([tgt_vocab.encode(t) for t, k in zip(tgt_tokens, keep) if k], len(tgt_vocab))
    assert encoded.dropped.tolist() == [i for i, k in enumerate(keep) if not k] and encoded.blank == 1
    assert encoded.src_ids.ids.dtype == np.uint16 and encoded.src_ids.offsets.dtype == np.int64


def test_workers_that_cannot_start_are_an_error_that_says_why(tmp_path):
    """multiprocessing's spawn imports the main script in each worker: without a __main__ guard it starts over."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "unguarded.py"
    script.write_text("from s2s.data import encoding\nfrom s2s.data.tokenizers import WhitespaceTokenizer\n"
                      "encoding.PARALLEL_MIN_PAIRS, encoding.CHUNK_PAIRS = 10, 5\n"
                      "encoding.tokenize_pairs([('a b', 'c d')] * 40, WhitespaceTokenizer(), WhitespaceTokenizer(), workers=2)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PATH": ""})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(
        "s2s.errors.S2SError: a worker process that tokenizes the training text (data.workers) stopped: killed (out of "
        "memory?), or unable to start. Each imports the program's main script, so a Python script that builds a "
        'corpus this large must run its work under `if __name__ == "__main__":`.')
