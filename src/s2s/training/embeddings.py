"""Pretrained word vectors in a model's embedding tables: model.src_embeddings / model.tgt_embeddings initialise the
rows of the vocabulary tokens the file has, model.freeze_embeddings keeps those tables fixed."""

from __future__ import annotations

import torch
from torch import nn

from s2s.config import ModelConfig
from s2s.data.vocab import Vocab
from s2s.data.word_vectors import WordVectors, read_word_vectors
from s2s.errors import S2SError
from s2s.specials import PAD

SIDES = {"src": ("encoder", "source"), "tgt": ("decoder", "target")}


def embedding_table(model: nn.Module, side: str) -> nn.Embedding:
    """The model's source (encoder.embed) or target (decoder.embed) embedding table."""
    part, name = SIDES[side]
    table = getattr(getattr(model, part, None), "embed", None)
    if not isinstance(table, nn.Embedding):
        raise S2SError(f"'model.{side}_embeddings' needs a model with a {name} embedding table ({part}.embed), and "
                       f"{type(model).__name__} has none (a language model has only a target side: use model.tgt_embeddings).")
    return table


@torch.no_grad()
def copy_rows(table: nn.Embedding, tokens: list[str], vectors: WordVectors, rescale: bool = True) -> tuple[int, float]:
    """Row i of the table := the vector of tokens[i], for every token the vectors have (<pad>'s row stays 0).

    rescale: multiply the vectors by one factor so that their standard deviation is that of the table's random rows.
    word2vec's vectors are about 8x smaller than nn.Embedding's N(0, 1) rows, and the layers above are initialised
    for inputs of the table's scale: unscaled, the vectors barely moved the encoder's GRU and a 3,000-pair model
    learned far slower than from random rows (docs/benchmarks/learners.md, word embeddings). One factor for the whole table keeps
    the directions and the cosine similarities. Returns (rows set, the factor)."""
    found = [(i, vectors.index[token]) for i, token in enumerate(tokens) if i != PAD and token in vectors]
    if not found:
        return 0, 1.0
    rows, sources = zip(*found)
    values = torch.from_numpy(vectors.vectors[list(sources)]).to(table.weight)
    factor = 1.0
    if rescale and values.numel() > 1 and float(values.std()) > 0:
        factor = float(table.weight[[i for i in range(len(tokens)) if i != PAD]].std() / values.std())  # not the padding rows
    table.weight[list(rows)] = values * factor
    return len(found), factor


def load_embeddings(model: nn.Module, cfg: ModelConfig, src_vocab: Vocab, tgt_vocab: Vocab, log=print) -> dict[str, tuple[int, int]]:
    """Initialise the embedding rows named by cfg.src_embeddings / cfg.tgt_embeddings; log and return the coverage
    {side: (rows found, vocabulary size)}."""
    coverage = {}
    for side, path, vocab in (("src", cfg.src_embeddings, src_vocab), ("tgt", cfg.tgt_embeddings, tgt_vocab)):
        if not path:
            continue
        table = embedding_table(model, side)
        vectors = read_word_vectors(path, keep=set(vocab.tokens))
        if vectors.dim != table.embedding_dim:
            raise S2SError(f"'model.{side}_embeddings' file '{path}' holds {vectors.dim}-dimensional vectors, but "
                           f"'model.emb_size' is {table.embedding_dim}; set model.emb_size: {vectors.dim}, or train "
                           f"vectors of size {table.embedding_dim} (s2s embeddings train --dim {table.embedding_dim}).")
        found, factor = copy_rows(table, vocab.tokens, vectors, cfg.rescale_embeddings)
        coverage[side] = (found, len(vocab))
        scaled = f"; the vectors were scaled by {factor:.3g} to the table's initial spread" if factor != 1.0 else ""
        log(f"model.{side}_embeddings: {found:,} of {len(vocab):,} {SIDES[side][1]} vocabulary rows found in {path} "
            f"({100 * found / len(vocab):.1f} %); the other {len(vocab) - found:,} keep their random initialisation"
            f"{scaled}")
    return coverage


def freeze_embeddings(model: nn.Module, cfg: ModelConfig) -> None:
    """With cfg.freeze_embeddings, the tables loaded from a vectors file get no gradient (the optimizer skips them)."""
    if not cfg.freeze_embeddings:
        return
    for side, path in (("src", cfg.src_embeddings), ("tgt", cfg.tgt_embeddings)):
        if path:
            embedding_table(model, side).weight.requires_grad_(False)
