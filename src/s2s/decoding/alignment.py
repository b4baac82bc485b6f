"""Word alignments from attention: subword pieces merged into words, each target word linked to one source word,
written in Pharaoh format ("i-j": source word i, target word j, both from 0). Needs neither torch nor numpy.

The rule: a target word's share of each source word is the attention mass of the word's pieces on that source word's
pieces (summed over both; averaging over the target pieces instead would pick the same word); the target word is
aligned to the source word with the largest share (the first of equal shares).
"""

from __future__ import annotations

from typing import Sequence

WORD_START = "\u2581"  # '▁': SentencePiece and the char tokenizer mark a word's first piece (or the space before it)
SUBWORD_TOKENIZERS = ("sentencepiece", "char")


def word_ids(tokens: Sequence[str], subword: bool) -> list[int | None]:
    """Each token's word number. Word tokenizers (subword=False): every token is a word. Subword tokenizers: a piece
    that starts with '▁' starts a new word and the pieces after it continue that word; a word with no text but
    '▁' (a lone space piece) gets None, so the word numbers count the words of the detokenized text."""
    if not subword:
        return list(range(len(tokens)))
    groups: list[list[int]] = []
    for position, token in enumerate(tokens):
        if token.startswith(WORD_START) or not groups:
            groups.append([])
        groups[-1].append(position)
    ids: list[int | None] = [None] * len(tokens)
    number = 0
    for group in groups:
        if any(tokens[position].strip(WORD_START) for position in group):
            for position in group:
                ids[position] = number
            number += 1
    return ids


def word_alignment(attention, src_words: Sequence[int | None], out_words: Sequence[int | None]) -> list[tuple[int, int]]:
    """(source word, target word) pairs, one per target word, in target order.

    attention: rows (output pieces; an extra last row, the one for </s>, is ignored) of weights over the source pieces;
    a nested list, a numpy array or a torch tensor. src_words, out_words: word_ids() of the source and output pieces.
    """
    rows = attention.tolist() if hasattr(attention, "tolist") else attention
    shares: dict[int, dict[int, float]] = {}  # target word -> source word -> summed attention
    for row, target in zip(rows, out_words):
        if target is None:
            continue
        word_shares = shares.setdefault(target, {})
        for weight, source in zip(row, src_words):
            if source is not None:
                word_shares[source] = word_shares.get(source, 0.0) + weight
    return [(max(share, key=lambda source: (share[source], -source)), target)
            for target, share in sorted(shares.items()) if share]


def pharaoh(pairs: Sequence[tuple[int, int]]) -> str:
    """'i-j i-j ...' of (source word, target word) pairs."""
    return " ".join(f"{source}-{target}" for source, target in pairs)
