"""Word vectors: the word2vec text format (GloVe's and fastText's .vec files too) read and written, nearest neighbours
by cosine similarity, a 2-D projection, and word2vec itself (skip-gram or CBOW with negative sampling, by gensim).

The text format is one word per line followed by its numbers, separated by spaces, after an optional header line
"COUNT DIM" (word2vec and fastText write it, GloVe does not).
"""

from __future__ import annotations

import difflib
import gzip
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from s2s.errors import S2SError
from s2s.outputs import write_file, written

INSTALL = "pip install -e '.[embeddings]'"


@dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # (words, dim) float32
    index: dict[str, int] = field(init=False)

    def __post_init__(self):
        self.index = {word: i for i, word in enumerate(self.words)}

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def vector(self, word: str, source: str = "the vectors") -> np.ndarray:
        """The word's vector; an unknown word is an S2SError that names `source` and the closest known words."""
        if word not in self.index:
            close = difflib.get_close_matches(word, self.words, n=3)
            hint = f" Close words it has: {', '.join(close)}." if close else ""
            raise S2SError(f"{source} has no vector for {word!r} ({len(self.words):,} words; tokens are as the "
                           f"config's tokenizer writes them, e.g. SentencePiece pieces start with '▁').{hint}")
        return self.vectors[self.index[word]]

    def nearest(self, word: str, k: int = 10, source: str = "the vectors") -> list[tuple[str, float]]:
        """The k words with the highest cosine similarity cos(u, v) = u·v / (|u| |v|) to `word`, best first (not the
        word itself)."""
        query = self.vector(word, source)
        norms = np.linalg.norm(self.vectors, axis=1) * np.linalg.norm(query)
        cosines = self.vectors @ query / np.where(norms > 0, norms, 1.0)  # (words,)
        cosines[self.index[word]] = -np.inf
        best = np.argsort(-cosines, kind="stable")[:k]
        return [(self.words[i], float(cosines[i])) for i in best]


def read_word_vectors(path: str | Path, keep: set[str] | None = None) -> WordVectors:
    """Read a word2vec/GloVe/fastText text file (plain or .gz); with `keep`, only those words' vectors are kept (a
    large file is read once, line by line, without holding the rest). The first occurrence of a word wins."""
    path = Path(path)
    if not path.is_file():
        raise S2SError(f"word vectors file '{path}' {'is a folder' if path.is_dir() else 'does not exist'}; write one "
                       f"with `s2s embeddings train` or give a word2vec, GloVe or fastText text file.")
    opener = gzip.open if path.suffix == ".gz" else open
    words, rows, dim, seen = [], [], 0, set()
    try:
        with opener(path, "rt", encoding="utf-8", errors="strict") as handle:
            for number, line in enumerate(handle, start=1):
                fields = line.rstrip().split(" ")
                if number == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
                    dim = int(fields[1])  # the "COUNT DIM" header
                    continue
                if fields == [""]:
                    continue
                if not dim:
                    dim = len(fields) - 1
                if len(fields) < dim + 1 or dim < 1:
                    raise S2SError(f"word vectors file '{path}', line {number}: expected a word and {dim} numbers, "
                                   f"got {len(fields)} fields. Is it a word2vec/GloVe/fastText text file?")
                word = " ".join(fields[:-dim])  # some GloVe files have words with spaces
                if (keep is not None and word not in keep) or word in seen:
                    continue
                try:
                    rows.append(np.array(fields[-dim:], dtype=np.float32))
                except ValueError:
                    raise S2SError(f"word vectors file '{path}', line {number}: the {dim} values after {word!r} are not "
                                   f"all numbers.") from None
                words.append(word)
                seen.add(word)
    except UnicodeDecodeError as error:
        raise S2SError(f"word vectors file '{path}' is not UTF-8 text ({error.reason}); binary word2vec files "
                       f"(.bin) are not read: convert to the text format.") from None
    except (OSError, EOFError) as error:
        raise S2SError(f"word vectors file '{path}' cannot be read: {error}.") from None
    if not dim:
        raise S2SError(f"word vectors file '{path}' holds no vectors.")
    vectors = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    return WordVectors(words, vectors)


def write_word_vectors(path: str | Path, vectors: WordVectors) -> None:
    """Write the word2vec text format: the header "COUNT DIM", then "WORD v_1 .. v_DIM" per line."""
    with written(path) as handle:
        handle.write(f"{len(vectors)} {vectors.dim}\n")
        for word, row in zip(vectors.words, vectors.vectors):
            handle.write(word + " " + " ".join(f"{x:.6g}" for x in row) + "\n")


def project_2d(vectors: np.ndarray) -> np.ndarray:
    """(words, 2): the rows projected on their first two principal components (PCA by SVD of the centred rows)."""
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)  # rows of components: principal directions
    return centred @ components[:2].T


def train_word2vec(sentences: list[list[str]], method: str = "skipgram", dim: int = 100, window: int = 5,
                   negative: int = 5, min_count: int = 1, epochs: int = 5, seed: int = 1, workers: int = 1) -> WordVectors:
    """Word vectors learned by word2vec (Mikolov et al. 2013) with negative sampling, by gensim.

    skipgram predicts each context word within `window` from the centre word; cbow predicts the centre word from the
    mean of its context. Each true (word, context) pair is scored against `negative` words drawn from the unigram
    distribution raised to 3/4: log σ(v_c · u_w) + Σ_k log σ(-v_c · u_k). With workers=1 the same seed gives the
    same vectors."""
    try:
        from gensim.models import Word2Vec
    except ImportError:
        raise S2SError(f"training word vectors needs gensim, an optional extra: {INSTALL} (or pip install 'gensim>=4.3').") from None
    counts = Counter(token for sentence in sentences for token in sentence)
    word, most = counts.most_common(1)[0] if counts else ("", 0)
    if most < min_count:
        raise S2SError(f"no word occurs --min-count {min_count} times in the text (the most frequent, {word!r}, occurs "
                       f"{most} times), so there is nothing to learn; lower --min-count.")
    model = Word2Vec(sentences, vector_size=dim, window=window, sg=1 if method == "skipgram" else 0, hs=0,
                     negative=negative, min_count=min_count, epochs=epochs, seed=seed, workers=workers)
    keyed = model.wv
    return WordVectors(list(keyed.index_to_key), np.asarray(keyed.vectors, dtype=np.float32))


SIDE_FILES = {"src": "src.vec", "tgt": "tgt.vec"}


def train_for_config(data, output: str | Path, sides: tuple[str, ...], texts: dict[str, str], monolingual: bool,
                     log=print, **word2vec) -> dict:
    """Train word2vec per side on the config's training text (data.train_limit applies) or on texts[side] (a file),
    tokenized by the tokenizer a model of this config trains with (learned as `s2s train` learns it, or found in the
    data cache), and write OUTPUT/src.vec, OUTPUT/tgt.vec (the sides asked for) and OUTPUT/embeddings.json.
    word2vec: the options of train_word2vec. Returns the manifest."""
    from s2s.data.corpus import build_corpus, read_splits
    from s2s.data.readers import read_lines

    output = Path(output)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise S2SError(f"cannot create output folder '{output}': {error.strerror}; choose another --output.") from None
    corpus = build_corpus(data, log=log, monolingual=monolingual)
    training_text = None
    manifest = {**word2vec, "files": {}}
    for side in sides:
        tokenizer, vocab = (corpus.src_tokenizer, corpus.src_vocab) if side == "src" else (corpus.tgt_tokenizer, corpus.tgt_vocab)
        if texts.get(side):
            lines, text_name = read_lines(texts[side]), str(texts[side])
        else:
            if training_text is None:
                training_text = read_splits(data, ("train",))["train"]
            lines = training_text[0 if side == "src" else 1]
            lines, text_name = (lines[: data.train_limit] if data.train_limit else lines), "the config's training text"
        sentences = [tokens for tokens in map(tokenizer.tokenize, lines) if tokens]
        if not sentences:
            raise S2SError(f"no text to learn {side} word vectors from ({text_name} is empty).")
        vectors = train_word2vec(sentences, **word2vec)
        write_word_vectors(output / SIDE_FILES[side], vectors)
        covered = sum(token in vectors for token in vocab.tokens)
        language = data.tgt if side == "tgt" or data.dataset == "text" else data.src
        manifest["files"][side] = {"file": SIDE_FILES[side], "language": language, "text": text_name,
                                   "sentences": len(sentences), "tokens": sum(map(len, sentences)), "words": len(vectors),
                                   "vocabulary_covered": covered, "vocabulary_size": len(vocab)}
        log(f"{side} ({language}): {len(vectors):,} word vectors of dimension {vectors.dim} from {len(sentences):,} "
            f"sentences of {text_name}; they cover {covered:,} of the {len(vocab):,} vocabulary tokens (the others "
            f"are specials or tokens the text lacks) -> {output / SIDE_FILES[side]}")
    write_file(output / "embeddings.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def vectors_files(path: str | Path) -> dict[str, Path]:
    """{name: file} of the vectors at `path`: a folder written by `s2s embeddings train` (its src.vec and tgt.vec),
    or one vectors file."""
    path = Path(path)
    if path.is_file():
        return {path.name: path}
    found = {side: path / name for side, name in SIDE_FILES.items() if (path / name).is_file()}
    if not found:
        raise S2SError(f"'{path}' is neither a word vectors file nor a folder holding src.vec or tgt.vec (written by "
                       f"`s2s embeddings train --output {path}`).")
    return found


def neighbors(path: str | Path, word: str, k: int = 10) -> dict[str, list[tuple[str, float]]]:
    """{vectors name: the k nearest words to `word` with their cosines} for each vectors file at `path` (see
    vectors_files) that has the word; a word none has is an S2SError naming close words."""
    found, known = {}, []
    for name, file in vectors_files(path).items():
        vectors = read_word_vectors(file)
        if word in vectors:
            found[name] = vectors.nearest(word, k)
        known += vectors.words
    if not found:
        close = difflib.get_close_matches(word, known, n=3)
        hint = f" Close words it has: {', '.join(close)}." if close else ""
        raise S2SError(f"'{path}' has no vector for {word!r} ({len(known):,} words; tokens are as the config's tokenizer "
                       f"writes them, e.g. SentencePiece pieces start with '▁').{hint}")
    return found


def vectors_of(path: str | Path, words: list[str], side: str | None = None) -> tuple[np.ndarray, str]:
    """(the words' vectors (len(words), dim), the name of the file they came from): the file of `side`, else the
    file at `path` that lacks the fewest of them (none may be missing)."""
    if len(words) < 2:
        raise S2SError(f"a 2-D map needs at least two words, got {len(words)}.")
    files = vectors_files(path)
    if side is not None and side not in files:
        raise S2SError(f"'{path}' has no {side} vectors ({side}.vec); it has {', '.join(files)}.")
    candidates = []
    for name in [side] if side else list(files):
        vectors = read_word_vectors(files[name])
        candidates.append(([word for word in words if word not in vectors], name, vectors))
    missing, name, vectors = min(candidates, key=lambda candidate: len(candidate[0]))
    if missing:
        raise S2SError(f"'{files[name]}' has no vector for {', '.join(map(repr, missing))} ({len(vectors):,} words; "
                       f"tokens are as the config's tokenizer writes them); choose words it has (s2s embeddings "
                       f"neighbors shows some).")
    return np.stack([vectors.vectors[vectors.index[word]] for word in words]), name
