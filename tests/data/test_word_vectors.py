"""Word vectors: the text formats, cosine neighbours, the 2-D projection, and word2vec learning from shared contexts."""

import gzip
import random
import sys

import numpy as np
import pytest

from s2s.data.word_vectors import (WordVectors, neighbors, project_2d, read_word_vectors, train_word2vec,
                                   vectors_of, write_word_vectors)
from s2s.errors import S2SError


def test_word2vec_file_with_header_round_trips(tmp_path):
    vectors = WordVectors(["▁the", "cat", "<unk>"], np.array([[1, 0.5], [-2, 0.25], [0, 3]], dtype=np.float32))
    write_word_vectors(tmp_path / "v.vec", vectors)
    assert (tmp_path / "v.vec").read_text().splitlines()[:2] == ["3 2", "▁the 1 0.5"]
    again = read_word_vectors(tmp_path / "v.vec")
    assert again.words == ["▁the", "cat", "<unk>"] and np.array_equal(again.vectors, vectors.vectors)


def test_glove_file_without_header_gz_and_words_with_spaces(tmp_path):
    text = "the 0.1 0.2 0.3\nnew york 1 2 3\nthe 9 9 9\ncat -1 -2 -3 \n"  # a duplicate (first wins), a trailing space
    with gzip.open(tmp_path / "glove.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write(text)
    vectors = read_word_vectors(tmp_path / "glove.txt.gz")
    assert vectors.words == ["the", "new york", "cat"] and vectors.dim == 3
    assert vectors.vectors[0].tolist() == pytest.approx([0.1, 0.2, 0.3]) and vectors.vectors[2].tolist() == [-1, -2, -3]
    kept = read_word_vectors(tmp_path / "glove.txt.gz", keep={"cat", "dog"})
    assert kept.words == ["cat"] and kept.vectors.shape == (1, 3)


@pytest.mark.parametrize("text, message", [
    ("2 3\na 1 2 3\nb 1 2\n", "line 3: expected a word and 3 numbers, got 3 fields"),
    ("a 1 2\nb 1 x\n", "line 2: the 2 values after 'b' are not all numbers"),
    ("", "holds no vectors"),
])
def test_malformed_files_are_errors_naming_file_and_line(tmp_path, text, message):
    (tmp_path / "bad.vec").write_text(text)
    with pytest.raises(S2SError, match="bad.vec") as error:
        read_word_vectors(tmp_path / "bad.vec")
    assert message in str(error.value)
    with pytest.raises(S2SError, match="nope.vec' does not exist; write one with `s2s embeddings train`"):
        read_word_vectors(tmp_path / "nope.vec")


def test_nearest_ranks_by_cosine_and_unknown_words_are_errors(tmp_path):
    vectors = WordVectors(["a", "b", "c", "d"], np.array([[1, 0], [2, 0.2], [0, 1], [-1, 0]], dtype=np.float32))
    nearest = vectors.nearest("a", k=3)
    assert [word for word, _ in nearest] == ["b", "c", "d"]  # length does not matter, the angle does
    assert [cosine for _, cosine in nearest] == pytest.approx([2 / np.hypot(2, 0.2), 0.0, -1.0])
    write_word_vectors(tmp_path / "src.vec", vectors)
    assert neighbors(tmp_path, "a", k=1) == {"src": [("b", pytest.approx(0.995037))]}
    with pytest.raises(S2SError, match=r"has no vector for 'aa' \(4 words.*Close words it has: a"):
        neighbors(tmp_path, "aa")


def test_project_2d_keeps_the_two_directions_of_largest_variance():
    # points on a line along (1, 1, 0) plus a small spread along z: the first component is the line
    points = np.array([[t, t, 0.1 * (-1) ** i] for i, t in enumerate(range(-2, 3))], dtype=np.float64)
    coordinates = project_2d(points)
    assert np.abs(coordinates[:, 0]).tolist() == pytest.approx([2 * 2 ** 0.5, 2 ** 0.5, 0, 2 ** 0.5, 2 * 2 ** 0.5], abs=1e-2)
    assert np.abs(coordinates[:, 1]).max() < 0.2
    distances = lambda x: np.linalg.norm(x[:, None] - x[None], axis=-1)  # noqa: E731
    assert np.allclose(distances(coordinates), distances(points - points.mean(0)), atol=0.2)


def test_vectors_of_picks_the_file_with_every_word(tmp_path):
    write_word_vectors(tmp_path / "src.vec", WordVectors(["a", "b"], np.eye(2, dtype=np.float32)))
    write_word_vectors(tmp_path / "tgt.vec", WordVectors(["x", "y", "z"], np.eye(3, dtype=np.float32)))
    matrix, name = vectors_of(tmp_path, ["z", "x"])
    assert name == "tgt" and matrix.tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(S2SError, match=r"tgt.vec' has no vector for 'q'"):
        vectors_of(tmp_path, ["x", "q"])
    with pytest.raises(S2SError, match="src.vec' has no vector for 'x', 'y'"):
        vectors_of(tmp_path, ["x", "y"], side="src")


def shared_context_corpus(seed: int = 0) -> list[list[str]]:
    """'cat' and 'dog' always appear between the same kind of words (animal contexts); 'car' and 'bus' between
    others (traffic contexts); filler words are shared by all."""
    rng = random.Random(seed)
    animal, traffic = ["feed", "pet", "brush", "walk", "the"], ["drive", "park", "wash", "fuel", "the"]
    sentences = []
    for _ in range(1500):
        for word, context in (("cat", animal), ("dog", animal), ("car", traffic), ("bus", traffic)):
            sentences.append([rng.choice(context), rng.choice(context), word, rng.choice(context), rng.choice(context)])
    return sentences


def cosine(vectors: WordVectors, a: str, b: str) -> float:
    u, v = vectors.vector(a), vectors.vector(b)
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


@pytest.mark.parametrize("method", ["skipgram", "cbow"])
def test_words_sharing_contexts_end_closer_than_unrelated_words(method):
    pytest.importorskip("gensim")
    vectors = train_word2vec(shared_context_corpus(), method=method, dim=16, window=2, epochs=5, seed=1)
    same, unrelated = cosine(vectors, "cat", "dog"), max(cosine(vectors, "cat", "car"), cosine(vectors, "cat", "bus"))
    assert same > unrelated + 0.3, (method, same, unrelated)
    assert [word for word, _ in vectors.nearest("car", k=1)] == ["bus"]
    again = train_word2vec(shared_context_corpus(), method=method, dim=16, window=2, epochs=5, seed=1)
    assert np.array_equal(again.vectors, vectors.vectors)  # one worker and a seed: the same vectors


def test_missing_gensim_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)  # makes `import gensim` raise ImportError
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(S2SError, match=r"needs gensim, an optional extra: pip install -e '\.\[embeddings\]'"):
        train_word2vec([["a", "b"]])
