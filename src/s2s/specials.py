"""The special token ids every layer shares: <pad>=0, <unk>=1, <bos>=2, <eos>=3 (data writes them, models mask with them)."""

import re

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]

CONTROL_BYTES = frozenset(range(0x20)) | {0x7F}  # C0 controls and DEL: NUL, tab, newline, escape, ...
BYTE_PIECE = re.compile(r"<0x[0-9A-Fa-f]{2}>")  # SentencePiece's byte-fallback piece for one byte


def control_tokens(tokens: list[str]) -> list[int]:
    """Ids of the tokens that write a control character (C0 or DEL) into text: SentencePiece's byte-fallback pieces
    <0x00> to <0x1F> and <0x7F>, and any other token holding such a character. A translation never outputs them: a
    sampled <0x0A> would split an output line in two, a <0x00> write a NUL that no reader of text expects."""
    texts = (chr(int(token[3:5], 16)) if BYTE_PIECE.fullmatch(token) else token for token in tokens)
    return [i for i, text in enumerate(texts) if any(ord(c) in CONTROL_BYTES for c in text)]

